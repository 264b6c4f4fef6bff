"""Cartesian frames of elastic tensors: rotations and the structure frame <-> IEEE-176 frame.

Frame contract of the package: every tensor it returns is expressed in the Cartesian frame of the
structure the user passed (the frame in which ``structure.lattice.matrix`` is written). Materials
Project publishes stiffness tensors in the IEEE-176 standard frame; ``from_ieee_frame`` brings such a
tensor into the frame of its structure, ``to_ieee_frame`` goes the other way. Both use pymatgen's
IEEE rotation (``Tensor.get_ieee_rotation``).
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike, NDArray
from pymatgen.core import Structure
from pymatgen.core.tensors import Tensor


def rotate_elastic_tensor(elastic_tensor: ArrayLike, rotation: ArrayLike) -> NDArray[np.float64]:
    """Express a Voigt stiffness in a rotated frame: C'_ijkl = R_ia R_jb R_kc R_ld C_abcd.

    Args:
        elastic_tensor: C, shape (6, 6) (GPa).
        rotation: R, shape (3, 3), orthogonal (det +1 or -1); a vector r becomes R r.

    Returns:
        shape (6, 6), same unit.
    """
    R = np.asarray(rotation, dtype=float)
    if R.shape != (3, 3) or not np.allclose(R @ R.T, np.eye(3), atol=1e-6):
        raise ValueError("rotation must be an orthogonal 3x3 matrix.")
    C = np.asarray(elastic_tensor, dtype=float)
    if C.shape != (6, 6):
        raise ValueError(f"Expected a 6x6 Voigt elastic tensor, got shape {C.shape}.")
    M = bond_matrix(R)
    return M @ C @ M.T


_VOIGT_I, _VOIGT_J = np.array([0, 1, 2, 1, 0, 0]), np.array([0, 1, 2, 2, 2, 1])
"""Cartesian index pairs (i, j) of the Voigt indices 1..6 (xx, yy, zz, yz, xz, xy)."""


def bond_matrix(rotation: ArrayLike) -> NDArray[np.float64]:
    """Bond's 6x6 matrix M of a rotation R: a Voigt stiffness rotates as ``C' = M C M^T``, exactly the rank-4
    rotation ``C'_ijkl = R_ia R_jb R_kc R_ld C_abcd`` (Auld, Acoustic Fields and Waves in Solids, Ch. 3).

    ``M[I, J] = R[i, k] R[j, l] + R[i, l] R[j, k]`` for a shear column J = (k, l), k != l, and ``R[i, k] R[j, k]``
    for a normal one, with I = (i, j), J = (k, l) the Cartesian pairs of the Voigt indices.
    """
    R = np.asarray(rotation, dtype=float)
    i, j = _VOIGT_I[:, None], _VOIGT_J[:, None]
    k, l = _VOIGT_I[None, :], _VOIGT_J[None, :]  # noqa: E741 - the index names of the formula
    return R[i, k] * R[j, l] + np.where(k != l, R[i, l] * R[j, k], 0.0)


def ieee_rotation(structure: Structure) -> NDArray[np.float64]:
    """Rotation R (3x3) that takes vectors of the structure's frame into its IEEE-176 frame (pymatgen)."""
    return np.asarray(Tensor.get_ieee_rotation(structure, refine_rotation=True))


def to_ieee_frame(elastic_tensor: ArrayLike, structure: Structure) -> NDArray[np.float64]:
    """Rotate a stiffness given in the structure's frame into the IEEE-176 frame (6x6, same unit)."""
    return rotate_elastic_tensor(elastic_tensor, ieee_rotation(structure))


def from_ieee_frame(elastic_tensor_ieee: ArrayLike, structure: Structure) -> NDArray[np.float64]:
    """Rotate an IEEE-176-frame stiffness (e.g. from Materials Project) into the structure's frame."""
    return rotate_elastic_tensor(elastic_tensor_ieee, ieee_rotation(structure).T)
