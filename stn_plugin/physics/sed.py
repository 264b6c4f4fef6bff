"""Strain energy density (SED) <-> elastic tensor (paper Eqs. 1-3).

For the strain state (i, j) with engineering Voigt strain vector v (``magnitude`` at positions i
and j), the linear-elastic energy per atom is

    U_ij = 1/2 v^T C v * (V / N)                                   (Eq. 1)
         = [C_ij + (C_ii + C_jj) / 2] eps^2 * (V / N)     for i != j
         = 1/2 C_ii eps^2 * (V / N)                       for i == j  (Eq. 2)

and the exact inverse (Eq. 3) is

    C_ii = 2 U_ii / (eps^2 V/N),    C_ij = (U_ij - U_ii - U_jj) / (eps^2 V/N).

Units: C in GPa, V/N in Angstrom^3 per atom, U in meV/atom; 1 GPa * Angstrom^3 = 6.2415 meV
(``MEV_PER_GPA_A3``). Both functions accept batches: arrays of shape (..., 6, 6) with
``volume_per_atom`` a scalar or of shape (...), numpy arrays (or anything ``np.asarray`` reads) or torch
tensors (then the result is a tensor of the same dtype and device, differentiable: the training loss uses them).
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy.constants import electron_volt

from stn_plugin.physics.voigt import DEFAULT_STRAIN, is_tensor

MEV_PER_GPA_A3: float = 1e9 * 1e-30 / electron_volt * 1e3
"""meV in one GPa * Angstrom^3 (= 6.241509...)."""


_DIAGONAL = np.arange(6)


def _check_voigt_matrix(m: ArrayLike, name: str) -> NDArray[np.float64]:
    a = m if is_tensor(m) else np.asarray(m, dtype=float)
    if tuple(a.shape[-2:]) != (6, 6):
        raise ValueError(f"{name} must have shape (..., 6, 6), got {tuple(a.shape)}.")
    return a


def _energy_scale(volume_per_atom: ArrayLike, magnitude: float, like: NDArray[np.float64]) -> NDArray[np.float64]:
    """eps^2 * (V/N) * kappa in meV/atom per GPa, broadcastable against (..., 6, 6) ``like`` (and of its kind)."""
    v = volume_per_atom if is_tensor(volume_per_atom) else np.asarray(volume_per_atom, dtype=float)
    if is_tensor(like) and not is_tensor(v):
        v = like.new_tensor(v)
    if not bool(((v > 0) & (v < float("inf"))).all()):
        raise ValueError(f"volume_per_atom must be positive and finite (Angstrom^3/atom), got {v}.")
    if not magnitude > 0:
        raise ValueError(f"The strain magnitude must be positive, got {magnitude}.")
    return (magnitude**2 * v * MEV_PER_GPA_A3)[..., None, None]


def elastic_to_sed(
    elastic_tensor: ArrayLike, volume_per_atom: ArrayLike, magnitude: float = DEFAULT_STRAIN
) -> NDArray[np.float64]:
    """SED tensor U (meV/atom) of a Voigt stiffness C (GPa), Eq. 2.

    Args:
        elastic_tensor: C, shape (..., 6, 6), GPa, symmetric.
        volume_per_atom: V/N in Angstrom^3/atom, scalar or shape (...).
        magnitude: strain magnitude eps (dimensionless, engineering shear).

    Returns:
        U, shape (..., 6, 6), meV/atom, symmetric.
    """
    C = _check_voigt_matrix(elastic_tensor, "elastic_tensor")
    diag = C[..., _DIAGONAL, _DIAGONAL]
    U = C + 0.5 * (diag[..., :, None] + diag[..., None, :])
    U[..., _DIAGONAL, _DIAGONAL] = 0.5 * diag
    return U * _energy_scale(volume_per_atom, magnitude, C)


def sed_to_elastic(
    sed: ArrayLike, volume_per_atom: ArrayLike, magnitude: float = DEFAULT_STRAIN
) -> NDArray[np.float64]:
    """Voigt stiffness C (GPa) from the SED tensor U (meV/atom), Eq. 3 (exact inverse of ``elastic_to_sed``).

    Args:
        sed: U, shape (..., 6, 6), meV/atom, symmetric.
        volume_per_atom: V/N in Angstrom^3/atom, scalar or shape (...).
        magnitude: strain magnitude eps used to define U.

    Returns:
        C, shape (..., 6, 6), GPa.
    """
    U = _check_voigt_matrix(sed, "sed")
    U = U / _energy_scale(volume_per_atom, magnitude, U)
    diag = U[..., _DIAGONAL, _DIAGONAL]
    C = U - diag[..., :, None] - diag[..., None, :]
    C[..., _DIAGONAL, _DIAGONAL] = 2.0 * diag
    return C
