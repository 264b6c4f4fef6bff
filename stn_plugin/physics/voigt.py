"""Voigt conventions and the strain states of StrainTensorNet (paper Sec. II B, Eqs. 6-8).

Conventions used everywhere in the package:

* Voigt indices are 0-based in code: 0..5 <-> xx, yy, zz, yz, xz, xy (the paper's 1..6).
* The 21 upper-triangle pairs (i <= j) are ordered row-major, as in the paper's one-hot vector:
  11, 12, 13, 14, 15, 16, 22, 23, ..., 56, 66 (``VOIGT_LABELS``). Pair (i, j) has index
  ``6 i - i (i + 1) / 2 + j``.
* Strains are *engineering* strains: a Voigt strain vector with entry ``magnitude`` at a shear
  position (3, 4, 5) puts ``magnitude / 2`` into the two off-diagonal entries of the symmetric
  3x3 strain tensor (Eq. 7). The default magnitude is 2 % (``DEFAULT_STRAIN = 0.02``).
* The strained lattice maps every lattice vector a_k to F a_k with F = I + eps (Eq. 6); fractional
  coordinates are kept (no internal relaxation, Eq. 8), so every Cartesian position r becomes F r.
"""

from __future__ import annotations

import functools

import numpy as np
from numpy.typing import NDArray
from pymatgen.analysis.elasticity import Strain
from pymatgen.core import Lattice, Structure

DEFAULT_STRAIN: float = 0.02
"""Default strain magnitude (dimensionless; 0.02 = 2 %), as in the paper."""

VOIGT_COMPONENTS: tuple[tuple[int, int], ...] = ((0, 0), (1, 1), (2, 2), (1, 2), (0, 2), (0, 1))
"""Cartesian index pair (a, b) of each Voigt index 0..5 (xx, yy, zz, yz, xz, xy)."""

VOIGT_PAIRS: tuple[tuple[int, int], ...] = tuple((i, j) for i in range(6) for j in range(i, 6))
"""The 21 upper-triangle Voigt pairs (i, j), i <= j, 0-based, in the paper's row-major order."""

VOIGT_LABELS: tuple[str, ...] = tuple(f"{i + 1}{j + 1}" for i, j in VOIGT_PAIRS)
"""Paper-style 1-based labels of the 21 pairs: '11', '12', ..., '66'."""

N_PAIRS: int = len(VOIGT_PAIRS)


def pair_index(i: int, j: int) -> int:
    """Index (0..20) of the Voigt pair (i, j) in ``VOIGT_PAIRS``; the order of i and j does not matter.

    Args:
        i, j: 0-based Voigt indices in 0..5.
    """
    if not (0 <= i < 6 and 0 <= j < 6):
        raise ValueError(f"Voigt indices must lie in 0..5 (0-based), got ({i}, {j}).")
    i, j = min(i, j), max(i, j)
    return 6 * i - i * (i + 1) // 2 + j


def voigt_to_tensor_strain(voigt_strain: NDArray[np.floating]) -> NDArray[np.float64]:
    """Symmetric 3x3 strain tensor of an engineering Voigt strain 6-vector (shear entries halved).

    Args:
        voigt_strain: shape (6,), dimensionless, order xx, yy, zz, yz, xz, xy.

    Returns:
        shape (3, 3), the strain tensor eps (without the identity).
    """
    v = np.asarray(voigt_strain, dtype=float)
    if v.shape != (6,):
        raise ValueError(f"A Voigt strain vector has shape (6,), got {v.shape}.")
    return np.asarray(Strain.from_voigt(v), dtype=float)  # pymatgen halves the shear entries, same Voigt order


def voigt_strain_vector(i: int, j: int, magnitude: float = DEFAULT_STRAIN) -> NDArray[np.float64]:
    """Engineering Voigt strain 6-vector of the strain state (i, j): ``magnitude`` at i and at j.

    For i == j a single entry is set (the state U_ii of Eq. 2).
    """
    pair_index(i, j)  # validates
    v = np.zeros(6)
    v[i] = magnitude
    v[j] = magnitude
    return v


def voigt_strain_matrix(i: int, j: int, magnitude: float = DEFAULT_STRAIN) -> NDArray[np.float64]:
    """Symmetric 3x3 strain tensor eps of the strain state (i, j) (Eq. 7 without the identity).

    Args:
        i, j: 0-based Voigt indices.
        magnitude: strain magnitude (dimensionless); shear entries hold ``magnitude / 2``.

    Returns:
        shape (3, 3).
    """
    return voigt_to_tensor_strain(voigt_strain_vector(i, j, magnitude))


def deformation_gradient(i: int, j: int, magnitude: float = DEFAULT_STRAIN) -> NDArray[np.float64]:
    """The matrix I + eps of Eq. 7 that maps every unstrained Cartesian vector r to r' = F r."""
    return np.eye(3) + voigt_strain_matrix(i, j, magnitude)


@functools.lru_cache(maxsize=8)
def voigt_strain_matrices(magnitude: float = DEFAULT_STRAIN) -> NDArray[np.float64]:
    """Strain tensors of the 21 strain states in ``VOIGT_PAIRS`` order, shape (21, 3, 3) (read-only, computed
    once per magnitude: :func:`voigt_strain_matrix` goes through pymatgen's ``Strain``)."""
    eps = np.stack([voigt_strain_matrix(i, j, magnitude) for i, j in VOIGT_PAIRS])
    eps.flags.writeable = False
    return eps


def all_deformation_gradients(magnitude: float = DEFAULT_STRAIN) -> NDArray[np.float64]:
    """Deformation gradients of the 21 strain states in ``VOIGT_PAIRS`` order, shape (21, 3, 3)."""
    return np.eye(3) + voigt_strain_matrices(magnitude)


def max_stretch(magnitude: float = DEFAULT_STRAIN) -> float:
    """Largest factor by which one of the 21 strain states lengthens a vector (largest singular value of F);
    about 1.0241 at the default 2 % strain."""
    return float(np.linalg.svd(all_deformation_gradients(magnitude), compute_uv=False).max())


def strained_lattice(lattice: Lattice, deformation: NDArray[np.floating]) -> Lattice:
    """Lattice whose vectors are a'_k = F a_k (Eq. 6).

    Args:
        lattice: unstrained lattice; pymatgen stores the vectors as matrix rows, in Angstrom.
        deformation: F, shape (3, 3).
    """
    F = np.asarray(deformation, dtype=float)
    return Lattice(lattice.matrix @ F.T, pbc=lattice.pbc)


def strain_structure(structure: Structure, i: int, j: int, magnitude: float = DEFAULT_STRAIN) -> Structure:
    """The structure strained in the state (i, j): lattice F L, fractional coordinates kept (Eq. 8).

    Args:
        structure: unstrained structure (its Cartesian frame defines x, y, z).
        i, j: 0-based Voigt indices.
        magnitude: strain magnitude (dimensionless, engineering shear).

    Returns:
        A new pymatgen ``Structure``; the input is not modified.
    """
    lattice = strained_lattice(structure.lattice, deformation_gradient(i, j, magnitude))
    return Structure(
        lattice,
        structure.species_and_occu,
        structure.frac_coords,
        site_properties=structure.site_properties,
    )


UPPER_ROWS, UPPER_COLS = (np.array(index) for index in zip(*VOIGT_PAIRS, strict=True))
"""Row and column of each of the 21 upper-triangle entries, ``VOIGT_PAIRS`` order (index arrays, numpy or torch)."""


def is_tensor(value: object) -> bool:
    """Whether ``value`` is a torch tensor (checked without importing torch: physics/ stays numpy-only)."""
    return type(value).__module__.split(".")[0] == "torch"


def upper_triangle(matrix: NDArray[np.floating]) -> NDArray[np.float64]:
    """The 21 upper-triangle entries of symmetric 6x6 matrices in ``VOIGT_PAIRS`` order: (..., 6, 6) -> (..., 21);
    numpy (anything ``np.asarray`` reads) or torch tensors."""
    m = matrix if is_tensor(matrix) else np.asarray(matrix, dtype=float)
    if tuple(m.shape[-2:]) != (6, 6):
        raise ValueError(f"Expected 6x6 Voigt matrices, got shape {tuple(m.shape)}.")
    return m[..., UPPER_ROWS, UPPER_COLS]


def from_upper_triangle(values: NDArray[np.floating]) -> NDArray[np.float64]:
    """Symmetric 6x6 matrices from their 21 upper-triangle entries (``VOIGT_PAIRS`` order): (..., 21) -> (..., 6, 6);
    numpy (anything ``np.asarray`` reads) or torch tensors (a tensor of the same dtype, differentiable)."""
    v = values if is_tensor(values) else np.asarray(values, dtype=float)
    if tuple(v.shape[-1:]) != (N_PAIRS,):
        raise ValueError(f"Expected {N_PAIRS} upper-triangle values, got shape {tuple(v.shape)}.")
    shape = (*v.shape[:-1], 6, 6)
    m = v.new_zeros(shape) if is_tensor(v) else np.zeros(shape)
    m[..., UPPER_ROWS, UPPER_COLS] = v
    m[..., UPPER_COLS, UPPER_ROWS] = v
    return m
