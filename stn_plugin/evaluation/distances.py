"""Canberra distances between the 21 SED components (paper Sec. III E, Eq. 10; Fig. 4).

    d(U_ij, U_kl) = 1/N sum_n |U_ij^(n) - U_kl^(n)| / (|U_ij^(n)| + |U_kl^(n)|)

averaged over the N materials of a group (in the paper, one crystal system). A term with
U_ij^(n) = U_kl^(n) = 0 counts as 0 (as in ``scipy.spatial.distance.canberra``). The distance is 0 for
components of one degeneracy class, symmetric, and at most 1.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy.spatial.distance import pdist, squareform

from stn_plugin.evaluation.data import crystal_system_key
from stn_plugin.physics.voigt import N_PAIRS, upper_triangle


def canberra_distance_matrix(sed: ArrayLike) -> NDArray[np.float64]:
    """Eq. 10 between every pair of the 21 SED components over a set of materials.

    Args:
        sed: U of N materials, shape (N, 6, 6) or their upper-triangle components (N, 21)
            (``VOIGT_PAIRS`` order), meV/atom. N >= 1.

    Returns:
        d, shape (21, 21), dimensionless, symmetric, zero diagonal; row/column k is ``VOIGT_LABELS[k]``.
    """
    u = np.asarray(sed, dtype=float)
    if u.ndim == 3 and u.shape[1:] == (6, 6):
        u = upper_triangle(u)
    if u.ndim != 2 or u.shape[1] != N_PAIRS or u.shape[0] == 0:
        raise ValueError(f"sed must have shape (N, 6, 6) or (N, {N_PAIRS}) with N >= 1, got {u.shape}.")
    return squareform(pdist(u.T, "canberra")) / len(u)  # scipy's sum over the materials, then the mean


def distance_matrices_by_system(sed: ArrayLike, crystal_systems: Sequence[str]) -> dict[str, NDArray[np.float64]]:
    """Eq. 10 per crystal system (Fig. 4).

    Args:
        sed: U, shape (N, 6, 6) or (N, 21), meV/atom.
        crystal_systems: the N materials' crystal systems.

    Returns:
        crystal system -> (21, 21) distance matrix, highest symmetry first.
    """
    u = np.asarray(sed, dtype=float)
    systems = np.asarray(crystal_systems)
    if len(systems) != len(u):
        raise ValueError(f"got {len(u)} SED tensors but {len(systems)} crystal systems.")
    return {
        system: canberra_distance_matrix(u[systems == system])
        for system in sorted(set(crystal_systems), key=crystal_system_key)
    }
