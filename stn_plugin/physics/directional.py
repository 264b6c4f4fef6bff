"""Directional elastic properties from the compliance S = C^-1 (as ELATE reports them).

For unit vectors n (direction of the load or of the compression) and m (perpendicular to n):

    Young's modulus          E(n)     = 1 / (n_i n_j S_ijkl n_k n_l)               GPa
    linear compressibility   beta(n)  = S_ijkk n_i n_j                             1/TPa
    shear modulus            G(n, m)  = 1 / (4 n_i m_j S_ijkl n_k m_l)             GPa
    Poisson's ratio          nu(n, m) = -(n_i n_j S_ijkl m_k m_l) / (n_i n_j S_ijkl n_k n_l)

with S the rank-4 compliance tensor in 1/GPa (pymatgen's ``ElasticTensor.compliance_tensor``, Voigt factors
included). ELATE: R. Gaillac, P. Pullumbi, F.-X. Coudert, J. Phys.: Condens. Matter 28, 275201 (2016).
Directions are Cartesian, in the frame of C. Extremes are searched on a grid of directions (n over a
hemisphere, since n and -n are equivalent, and m around n), then refined with Nelder-Mead.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray
from pymatgen.analysis.elasticity import ElasticTensor
from scipy.optimize import minimize

from stn_plugin.physics.stability import born_stability

PROPERTY_UNITS: dict[str, str] = {
    "youngs_modulus": "GPa",
    "linear_compressibility": "1/TPa",
    "shear_modulus": "GPa",
    "poisson_ratio": "",
}
"""Directional properties of :func:`directional_extrema` and their units."""


def compliance_tensor(elastic_tensor: ArrayLike | ElasticTensor) -> NDArray[np.float64]:
    """S = C^-1 as a (3, 3, 3, 3) tensor, 1/GPa, from a Voigt stiffness in GPa (or an ``ElasticTensor``).

    Raises:
        ValueError: C is singular (no compliance exists).
    """
    voigt = elastic_tensor.voigt if isinstance(elastic_tensor, ElasticTensor) else np.asarray(elastic_tensor, float)
    if born_stability(voigt).singular:
        raise ValueError("C is singular: no compliance, so no directional moduli.")
    return np.asarray(ElasticTensor.from_voigt(voigt).compliance_tensor, dtype=float)


def direction(theta: ArrayLike, phi: ArrayLike) -> NDArray[np.float64]:
    """Unit vectors (..., 3) at polar angle ``theta`` from z and azimuth ``phi`` from x (radians)."""
    theta, phi = np.asarray(theta, dtype=float), np.asarray(phi, dtype=float)
    return np.stack([np.sin(theta) * np.cos(phi), np.sin(theta) * np.sin(phi), np.cos(theta) + 0 * phi], axis=-1)


def perpendicular(n: NDArray[np.floating], chi: ArrayLike) -> NDArray[np.float64]:
    """Unit vectors (..., 3) perpendicular to ``n`` (..., 3), at angle ``chi`` (radians) around it."""
    n = np.asarray(n, dtype=float)
    helper = np.where(np.abs(n[..., 2:3]) < 0.9, [0.0, 0.0, 1.0], [1.0, 0.0, 0.0])
    a = np.cross(n, helper)
    a /= np.linalg.norm(a, axis=-1, keepdims=True)
    b = np.cross(n, a)
    chi = np.asarray(chi, dtype=float)[..., None]
    return np.cos(chi) * a + np.sin(chi) * b


def youngs_modulus(S: NDArray[np.floating], n: ArrayLike) -> NDArray[np.float64]:
    """E(n) = 1 / (n n : S : n n), GPa, for S (3, 3, 3, 3) in 1/GPa and unit vectors n (..., 3)."""
    nn = np.einsum("...i,...j->...ij", n, n)
    return 1.0 / np.einsum("...ij,ijkl,...kl->...", nn, S, nn)


def linear_compressibility(S: NDArray[np.floating], n: ArrayLike) -> NDArray[np.float64]:
    """beta(n) = S_ijkk n_i n_j, 1/TPa, for S in 1/GPa and unit vectors n (..., 3)."""
    return 1000.0 * np.einsum("...i,...j,ijkk->...", n, n, S)


def shear_modulus(S: NDArray[np.floating], n: ArrayLike, m: ArrayLike) -> NDArray[np.float64]:
    """G(n, m) = 1 / (4 n m : S : n m), GPa, for shear in the plane normal to n along m (both (..., 3))."""
    nm = np.einsum("...i,...j->...ij", n, m)
    return 1.0 / (4.0 * np.einsum("...ij,ijkl,...kl->...", nm, S, nm))


def poisson_ratio(S: NDArray[np.floating], n: ArrayLike, m: ArrayLike) -> NDArray[np.float64]:
    """nu(n, m) = -(n n : S : m m) / (n n : S : n n): lateral contraction along m under a load along n."""
    nn = np.einsum("...i,...j->...ij", n, n)
    mm = np.einsum("...i,...j->...ij", m, m)
    return -np.einsum("...ij,ijkl,...kl->...", nn, S, mm) / np.einsum("...ij,ijkl,...kl->...", nn, S, nn)


@dataclass(frozen=True)
class Extremum:
    """Minimum and maximum of one directional property.

    Attributes:
        minimum, maximum: the extreme values (unit in ``PROPERTY_UNITS``).
        min_direction, max_direction: n (3,) where they occur (n and -n are equivalent).
        min_second, max_second: m (3,) for the two-direction properties (shear modulus, Poisson's ratio),
            else None.
    """

    minimum: float
    maximum: float
    min_direction: NDArray[np.float64]
    max_direction: NDArray[np.float64]
    min_second: NDArray[np.float64] | None = None
    max_second: NDArray[np.float64] | None = None

    @property
    def anisotropy(self) -> float:
        """max / min (ELATE's anisotropy of the property; inf when the minimum is not positive)."""
        return self.maximum / self.minimum if self.minimum > 0 else float("inf")

    def as_dict(self) -> dict[str, object]:
        """JSON-ready form (directions as lists)."""
        out: dict[str, object] = {
            "min": self.minimum,
            "max": self.maximum,
            "min_direction": [float(v) for v in self.min_direction],
            "max_direction": [float(v) for v in self.max_direction],
        }
        if self.min_second is not None and self.max_second is not None:
            out["min_second_direction"] = [float(v) for v in self.min_second]
            out["max_second_direction"] = [float(v) for v in self.max_second]
        return out


def _extremum(
    values: Callable[[NDArray[np.float64]], NDArray[np.float64]], grid: NDArray[np.float64], sign: float
) -> NDArray[np.float64]:
    """Angles (k,) of the minimum of ``sign * values(angles)``: the best grid point, refined by Nelder-Mead."""
    start = grid[np.argmin(sign * values(grid))]
    result = minimize(
        lambda x: float(sign * values(x[None])[0]), start, method="Nelder-Mead", options={"xatol": 1e-6, "fatol": 1e-10}
    )
    return result.x if sign * values(result.x[None])[0] <= sign * values(start[None])[0] else start


def directional_extrema(elastic_tensor: ArrayLike | ElasticTensor, resolution: int = 18) -> dict[str, Extremum]:
    """Min and max of E(n), beta(n), G(n, m) and nu(n, m) with their directions (ELATE's table).

    Args:
        elastic_tensor: C, (6, 6) Voigt GPa or ``ElasticTensor``; must not be singular.
        resolution: grid points per right angle (n over the hemisphere; m every 90/resolution degrees).

    Returns:
        ``{"youngs_modulus", "linear_compressibility", "shear_modulus", "poisson_ratio"}`` -> :class:`Extremum`.
    """
    S = compliance_tensor(elastic_tensor)
    theta = np.linspace(0.0, np.pi / 2, resolution + 1)
    phi = np.linspace(0.0, 2 * np.pi, 4 * resolution, endpoint=False)
    chi = np.linspace(0.0, np.pi, 2 * resolution, endpoint=False)
    grid2 = np.stack(np.meshgrid(theta, phi, indexing="ij"), axis=-1).reshape(-1, 2)
    grid3 = np.stack(np.meshgrid(theta, phi, chi, indexing="ij"), axis=-1).reshape(-1, 3)

    def one(a: NDArray[np.float64]) -> NDArray[np.float64]:
        return direction(a[:, 0], a[:, 1])

    def two(a: NDArray[np.float64]) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
        n = direction(a[:, 0], a[:, 1])
        return n, perpendicular(n, a[:, 2])

    single = {
        "youngs_modulus": lambda a: youngs_modulus(S, one(a)),
        "linear_compressibility": lambda a: linear_compressibility(S, one(a)),
    }
    double = {
        "shear_modulus": lambda a: shear_modulus(S, *two(a)),
        "poisson_ratio": lambda a: poisson_ratio(S, *two(a)),
    }
    out: dict[str, Extremum] = {}
    for name, fn in single.items():
        lo, hi = _extremum(fn, grid2, 1.0), _extremum(fn, grid2, -1.0)
        out[name] = Extremum(float(fn(lo[None])[0]), float(fn(hi[None])[0]), one(lo[None])[0], one(hi[None])[0])
    for name, fn in double.items():
        lo, hi = _extremum(fn, grid3, 1.0), _extremum(fn, grid3, -1.0)
        (n_lo, m_lo), (n_hi, m_hi) = two(lo[None]), two(hi[None])
        out[name] = Extremum(float(fn(lo[None])[0]), float(fn(hi[None])[0]), n_lo[0], n_hi[0], m_lo[0], m_hi[0])
    return out
