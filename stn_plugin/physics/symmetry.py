"""Symmetry-derived degeneracy classes of the strain energy density (paper Secs. III C, III D, App. C, D).

Everything is computed from the crystal's point-group operations in the Cartesian frame of the
structure as given (spglib through pymatgen); there are no per-crystal-system tables, so any
orientation and all seven crystal systems are handled the same way.

Two relations on the 21 strain states (i, j) (``VOIGT_PAIRS`` order):

* **value classes** (the paper's degeneracy class vector, DCV): U_ij and U_kl are equal for *every*
  elastic tensor the point group allows. Computed by projecting the 21-dimensional space of
  symmetric 6x6 stiffness matrices onto its point-group-invariant subspace and checking U_ij - U_kl
  on a basis of that subspace. Cubic gives the five values of Eq. 5.
* **structure classes**: the strained structures of (i, j) and (k, l) coincide up to an orthogonal
  map, i.e. a point-group operation R maps the strain matrix of (i, j) onto that of (k, l)
  (R eps_ij R^T = eps_kl). This is finer than the value relation (Sec. III D: for cubic crystals U14 = U15
  but the 14- and 15-strained structures differ), and one representative per structure class is the
  minimal set of strain states a network that is invariant to rotations needs to see in training.
  (Improper operations are included: an improper R maps the strained crystal onto its mirror image,
  which has the same energy; since eps is a rank-2 tensor, R and -R act identically on it.)

``project_elastic_tensor`` averages a stiffness tensor over the point group (the Reynolds operator),
which zeroes every symmetry-forbidden component exactly.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray
from pymatgen.core import Structure
from pymatgen.symmetry.analyzer import SpacegroupAnalyzer

from stn_plugin.physics.sed import elastic_to_sed
from stn_plugin.physics.voigt import (
    DEFAULT_STRAIN,
    N_PAIRS,
    VOIGT_COMPONENTS,
    from_upper_triangle,
    upper_triangle,
    voigt_strain_matrices,
)

DEFAULT_SYMPREC: float = 0.1
"""spglib distance tolerance in Angstrom of the canonical cell, the DCV and the projection onto the point group.

The Materials Project's tolerance for the symmetry of its relaxed structures. It is this loose so that a
structure whose atoms are off their symmetric positions by noise (relaxation residue, a CIF rounded to a few
digits, a thermal snapshot; up to about 0.03 Angstrom) is recognised with its full symmetry: its canonical cell,
made of the spglib-refined positions, is then the unperturbed crystal's, and so is its prediction. With 0.01 a
displacement of 0.004 Angstrom already lowered NaCl to P4/nmm and moved B_V by 30 % (tests/test_prediction_continuity.py).
Crystal-system labels of the data keep 0.01 (``records.CRYSTAL_SYSTEM_SYMPREC``), so the splits do not depend on it."""
DEFAULT_ANGLE_TOLERANCE: float = 5.0
"""spglib angle tolerance in degrees."""
_CLASS_TOL: float = 1e-6


def point_group_operations(
    structure: Structure, symprec: float = DEFAULT_SYMPREC, angle_tolerance: float = DEFAULT_ANGLE_TOLERANCE
) -> NDArray[np.float64]:
    """Point-group operations of a crystal as Cartesian 3x3 matrices in the structure's own frame.

    The matrices come from spglib (through pymatgen) and are made exactly orthogonal (polar
    decomposition), so that averages over them are exact projections.

    Args:
        structure: ordered crystal structure.
        symprec: distance tolerance (Angstrom).
        angle_tolerance: angle tolerance (degrees).

    Returns:
        shape (n_ops, 3, 3); includes the identity and improper operations.
    """
    return cartesian_operations(
        SpacegroupAnalyzer(structure, symprec=symprec, angle_tolerance=angle_tolerance), structure
    )


def cartesian_operations(sga: SpacegroupAnalyzer, structure: Structure) -> NDArray[np.float64]:
    """Exactly orthogonal, de-duplicated Cartesian point-group matrices (n, 3, 3) of ``structure``, analysed
    by ``sga``.

    The rotations of the symmetry dataset that ``SpacegroupAnalyzer`` computed on construction (fractional, in
    the input cell's basis), made Cartesian as ``get_point_group_operations(cartesian=True)`` does (``L^T r
    L^-T``, L = lattice rows); that method would run spglib a second time (``spglib.get_symmetry``).

    Raises:
        ValueError: spglib found no symmetry dataset.
    """
    dataset = sga.get_symmetry_dataset()
    if dataset is None:
        raise ValueError(f"spglib found no symmetry dataset for {structure.formula}.")
    return cartesian_rotations(dataset.rotations, structure.lattice.matrix)


def cartesian_rotations(rotations: ArrayLike, lattice: ArrayLike) -> NDArray[np.float64]:
    """Exactly orthogonal, de-duplicated Cartesian matrices (n, 3, 3) of rotations given in a lattice's basis.

    Args:
        rotations: integer matrices W acting on fractional coordinates (columns), shape (n, 3, 3).
        lattice: the lattice vectors as rows L, shape (3, 3), Angstrom; the Cartesian matrix is ``L^T W L^-T``,
            made exactly orthogonal by polar decomposition.
    """
    to_cartesian = np.asarray(lattice, dtype=float).T
    ops = to_cartesian @ np.asarray(rotations, dtype=float) @ np.linalg.inv(to_cartesian)
    u, _, vt = np.linalg.svd(ops)
    return distinct_matrices(u @ vt)


def distinct_matrices(matrices: NDArray[np.float64]) -> NDArray[np.float64]:
    """The distinct 3x3 matrices of (n, 3, 3) (equal to 1e-6), in their first order of appearance."""
    _, unique = np.unique(np.round(matrices, 6).reshape(len(matrices), 9), axis=0, return_index=True)
    return matrices[np.sort(unique)]


def voigt_rotations(operations: ArrayLike) -> NDArray[np.float64]:
    """6x6 Voigt (Bond) matrices K of Cartesian rotations: a Voigt stiffness rotates as C' = K C K^T.

    K is the rotation of a stress vector (xx, yy, zz, yz, xz, xy): for Voigt indices a = (i, j) and
    b = (k, l), ``K_ab = R_ik R_jl + R_il R_jk`` if k != l and ``R_ik R_jk`` if k = l. For orthogonal R,
    ``K C K^T`` equals the 4th-rank rotation ``R_ia R_jb R_kc R_ld C_abcd`` written in Voigt form.

    Args:
        operations: Cartesian orthogonal matrices, shape (n, 3, 3) (or (3, 3)).

    Returns:
        shape (n, 6, 6) (or (6, 6)).
    """
    R = np.asarray(operations, dtype=float)
    rows = np.array(VOIGT_COMPONENTS)  # (6, 2): Cartesian pair of each Voigt index
    i, j = rows[:, 0][:, None], rows[:, 1][:, None]
    k, l = rows[:, 0][None, :], rows[:, 1][None, :]
    K = R[..., i, k] * R[..., j, l]
    return K + np.where(k != l, R[..., i, l] * R[..., j, k], 0.0)


def project_elastic_tensor(elastic_tensor: ArrayLike, operations: ArrayLike) -> NDArray[np.float64]:
    """Average Voigt stiffnesses over a point group: C_sym = 1/|G| sum_R R.C (4th-rank rotation).

    The result is invariant under every operation of the group, idempotent, and has every
    symmetry-forbidden component exactly zero (to floating point). Computed with the 6x6 Voigt
    rotations of :func:`voigt_rotations`, for any number of tensors at once.

    Args:
        elastic_tensor: C, shape (..., 6, 6), any unit (GPa in this package).
        operations: Cartesian point-group matrices, shape (n, 3, 3), in the frame of C.

    Returns:
        shape (..., 6, 6), same unit as the input.
    """
    C = np.asarray(elastic_tensor, dtype=float)
    if C.shape[-2:] != (6, 6):
        raise ValueError(f"Expected 6x6 Voigt elastic tensors, got shape {C.shape}.")
    K = voigt_rotations(operations)
    return np.einsum("nab,...bc,ndc->...ad", K, C, K, optimize=True) / len(K)


def _invariant_stiffness_basis(operations: NDArray[np.float64]) -> NDArray[np.float64]:
    """Orthonormal basis (rows, in upper-triangle coordinates) of the symmetry-allowed stiffness matrices."""
    basis = np.stack([from_upper_triangle(row) for row in np.eye(N_PAIRS)])  # (21, 6, 6)
    projected = np.stack([upper_triangle(c) for c in project_elastic_tensor(basis, operations)])
    u, s, _ = np.linalg.svd(projected.T)
    rank = int(np.sum(s > 1e-8 * s.max()))
    return u[:, :rank].T


def _labels_from_equivalence(equivalent: NDArray[np.bool_]) -> NDArray[np.int64]:
    """Class label of each pair: the index of the first pair it is equivalent to."""
    return np.array([int(np.flatnonzero(equivalent[k])[0]) for k in range(len(equivalent))])


def value_classes(operations: ArrayLike) -> NDArray[np.int64]:
    """Value classes of the 21 SED components: pairs whose U is equal for every allowed C.

    Args:
        operations: Cartesian point-group matrices, shape (n, 3, 3).

    Returns:
        shape (21,), the class label of each pair (the index of the first member of its class).
    """
    basis = _invariant_stiffness_basis(np.asarray(operations, dtype=float))
    seds = np.stack([upper_triangle(elastic_to_sed(from_upper_triangle(b), 1.0, 1.0)) for b in basis])
    diff = np.abs(seds[:, :, None] - seds[:, None, :]).max(axis=0)
    return _labels_from_equivalence(diff < _CLASS_TOL)


def structure_classes(operations: ArrayLike, magnitude: float = DEFAULT_STRAIN) -> NDArray[np.int64]:
    """Structure classes: pairs whose strained structures are related by a point-group operation.

    Pairs (i, j) and (k, l) are equivalent when some R in the group has R eps_ij R^T = eps_kl.

    Args:
        operations: Cartesian point-group matrices, shape (n, 3, 3).
        magnitude: strain magnitude (the relation does not depend on it, only on the signs).

    Returns:
        shape (21,), the class label of each pair (the index of the first member of its class).
    """
    rounded = np.round(np.asarray(operations, dtype=float), 9)
    return _structure_classes(rounded.tobytes(), float(magnitude)).copy()


@functools.lru_cache(maxsize=512)
def _structure_classes(operations: bytes, magnitude: float) -> NDArray[np.int64]:
    """:func:`structure_classes` of the float64 matrices in ``operations`` (bytes of (n, 3, 3)), computed once per
    set: in the canonical frame the crystals of one point group share their matrices, so prediction meets few sets."""
    R = np.frombuffer(operations).reshape(-1, 3, 3)
    eps = voigt_strain_matrices(magnitude)
    images = np.einsum("nab,kbc,ndc->nkad", R, eps, R)  # (n_ops, 21, 3, 3): R eps_k R^T
    dist = np.abs(images[:, :, None] - eps[None, None, :]).max(axis=(-1, -2)).min(axis=0)
    return _labels_from_equivalence(dist < _CLASS_TOL * magnitude)


def class_vectors(labels: ArrayLike) -> NDArray[np.float64]:
    """Degeneracy class vectors: row k is the 0/1 indicator of the class of pair k, shape (21, 21)."""
    lab = np.asarray(labels)
    return (lab[:, None] == lab[None, :]).astype(float)


def minimal_index_set(labels: ArrayLike) -> tuple[int, ...]:
    """One representative pair index (the first) per class, sorted."""
    return tuple(sorted({int(x) for x in np.asarray(labels)}))


@dataclass(frozen=True)
class CrystalSymmetry:
    """Symmetry information of one crystal in its own Cartesian frame.

    Attributes:
        crystal_system: spglib crystal system ('cubic', ..., 'triclinic').
        point_group: Hermann-Mauguin point-group symbol.
        operations: Cartesian point-group matrices, shape (n, 3, 3).
        value_classes: (21,) labels of the SED value classes.
        structure_classes: (21,) labels of the strained-structure classes.
    """

    crystal_system: str
    point_group: str
    operations: NDArray[np.float64]
    value_classes: NDArray[np.int64]
    structure_classes: NDArray[np.int64]

    @property
    def dcv(self) -> NDArray[np.float64]:
        """(21, 21) degeneracy class vectors from the value classes; row k is the DCV of pair k."""
        return class_vectors(self.value_classes)

    @property
    def training_indices(self) -> tuple[int, ...]:
        """Minimal set of strain states: one representative per structure class."""
        return minimal_index_set(self.structure_classes)

    def project(self, elastic_tensor: ArrayLike) -> NDArray[np.float64]:
        """Project a 6x6 stiffness onto this crystal's point-group symmetry."""
        return project_elastic_tensor(elastic_tensor, self.operations)


def analyze_symmetry(
    structure: Structure,
    symprec: float = DEFAULT_SYMPREC,
    angle_tolerance: float = DEFAULT_ANGLE_TOLERANCE,
    magnitude: float = DEFAULT_STRAIN,
) -> CrystalSymmetry:
    """Point group, value classes (DCV) and structure classes of a crystal in its own frame."""
    sga = SpacegroupAnalyzer(structure, symprec=symprec, angle_tolerance=angle_tolerance)
    ops = cartesian_operations(sga, structure)
    return CrystalSymmetry(
        crystal_system=sga.get_crystal_system(),
        point_group=sga.get_point_group_symbol(),
        operations=ops,
        value_classes=value_classes(ops),
        structure_classes=structure_classes(ops, magnitude),
    )
