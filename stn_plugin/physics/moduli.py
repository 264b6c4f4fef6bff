"""Elastic moduli from a Voigt stiffness (paper App. B).

Voigt, Reuss and Hill averages and the universal anisotropy index follow pymatgen's ``ElasticTensor``
definitions (``k_voigt``, ``g_reuss``, ..., the tests' reference), computed from the 6x6 matrix and its
plain inverse: batched for numpy and torch alike (:func:`voigt_averages`, :func:`reuss_averages`), and a
fraction of pymatgen's time per tensor (it rebuilds the rank-4 tensor and its compliance per property).
Young's modulus and Poisson's ratio follow App. B of the paper, i.e. from the *Voigt* bulk and shear moduli (Eqs. B3, B4; the paper misprints "3R + G" for 3B + G):

    Y = 9 B_V G_V / (3 B_V + G_V),    nu = (3 B_V - 2 G_V) / (6 B_V + 2 G_V).

Mechanical (Born) stability is checked through the smallest eigenvalue of the 6x6 Voigt matrix,
the necessary and sufficient condition of Mouhat & Coudert, Phys. Rev. B 90, 224104 (2014).
"""

from __future__ import annotations

import warnings
from typing import TypeVar

import numpy as np
from numpy.typing import ArrayLike, NDArray
from pydantic import BaseModel, ConfigDict
from pymatgen.analysis.elasticity import ElasticTensor

MODULI_KEYS: tuple[str, ...] = (
    "bulk_voigt",
    "shear_voigt",
    "bulk_reuss",
    "shear_reuss",
    "bulk_vrh",
    "shear_vrh",
    "young",
    "poisson",
)
"""Keys of the moduli mapping returned with every prediction (GPa except the Poisson ratio)."""


class ElasticModuli(BaseModel):
    """Scalar elastic properties of one crystal.

    Moduli in GPa; ``poisson`` and ``universal_anisotropy`` are dimensionless. Reuss and Hill
    values are NaN when C is singular (no compliance exists).
    """

    model_config = ConfigDict(frozen=True)

    bulk_voigt: float
    shear_voigt: float
    bulk_reuss: float
    shear_reuss: float
    bulk_vrh: float
    shear_vrh: float
    young: float
    poisson: float
    universal_anisotropy: float
    min_eigenvalue: float
    born_stable: bool

    def as_mapping(self) -> dict[str, float]:
        """The eight public moduli (``MODULI_KEYS``) as a plain dict."""
        return {key: getattr(self, key) for key in MODULI_KEYS}


Array = TypeVar("Array")
"""A numpy array or a torch tensor: the averages below use indexing and arithmetic only, so the batched
numpy metrics and the differentiable torch loss share them."""


def voigt_averages(elastic_tensor: Array) -> tuple[Array, Array]:
    """Voigt bulk and shear moduli (Eqs. B1, B2) of stiffnesses C, shape (..., 6, 6) GPa -> two (...) arrays, GPa.

    ``B_V = (C11+C22+C33 + 2 (C12+C13+C23)) / 9``, ``G_V = (C11+C22+C33 - (C12+C13+C23) + 3 (C44+C55+C66)) / 15``;
    pymatgen's ``k_voigt`` / ``g_voigt`` per tensor, for batches of numpy arrays or torch tensors.
    """
    C = elastic_tensor
    normal = C[..., 0, 0] + C[..., 1, 1] + C[..., 2, 2]
    off = C[..., 0, 1] + C[..., 0, 2] + C[..., 1, 2]
    shear = C[..., 3, 3] + C[..., 4, 4] + C[..., 5, 5]
    return (normal + 2.0 * off) / 9.0, (normal - off + 3.0 * shear) / 15.0


def reuss_averages(compliance: Array) -> tuple[Array, Array]:
    """Reuss bulk and shear moduli of compliances S = C^-1, shape (..., 6, 6) 1/GPa -> two (...) arrays, GPa.

    ``1/K_R = S11+S22+S33 + 2 (S12+S13+S23)``, ``15/G_R = 4 (S11+S22+S33) - 4 (S12+S13+S23) + 3 (S44+S55+S66)``;
    pymatgen's ``k_reuss`` / ``g_reuss`` per tensor, for batches of numpy arrays or torch tensors.
    """
    S = compliance
    normal = S[..., 0, 0] + S[..., 1, 1] + S[..., 2, 2]
    off = S[..., 0, 1] + S[..., 0, 2] + S[..., 1, 2]
    shear = S[..., 3, 3] + S[..., 4, 4] + S[..., 5, 5]
    return 1.0 / (normal + 2.0 * off), 15.0 / (4.0 * normal - 4.0 * off + 3.0 * shear)


MANDEL_WEIGHTS: NDArray[np.float64] = np.array([1.0, 1.0, 1.0, np.sqrt(2.0), np.sqrt(2.0), np.sqrt(2.0)])
"""Factors that turn a Voigt stiffness into its Mandel (Kelvin) form, ``C_M = w_i C_ij w_j``."""


def kelvin_moduli(elastic_tensor: ArrayLike) -> NDArray[np.float64]:
    """The six Kelvin moduli of C (eigenvalues of its Mandel form, ascending), GPa, shape (..., 6).

    Unlike the eigenvalues of the Voigt matrix they do not depend on the frame: an isotropic solid has 3 B once and
    2 G five times, so half the smallest is the shear modulus of the softest deformation mode.
    """
    C = np.asarray(elastic_tensor, dtype=float)
    mandel = MANDEL_WEIGHTS[:, None] * C * MANDEL_WEIGHTS[None, :]
    return np.linalg.eigvalsh(0.5 * (mandel + np.swapaxes(mandel, -1, -2)))


def young_modulus(bulk: float, shear: float) -> float:
    """Young's modulus 9 B G / (3 B + G) (Eq. B3), GPa."""
    return 9.0 * bulk * shear / (3.0 * bulk + shear)


def poisson_ratio(bulk: float, shear: float) -> float:
    """Poisson's ratio (3 B - 2 G) / (6 B + 2 G) (Eq. B4), dimensionless."""
    return (3.0 * bulk - 2.0 * shear) / (6.0 * bulk + 2.0 * shear)


def elastic_moduli(elastic_tensor: ArrayLike | ElasticTensor) -> ElasticModuli:
    """Voigt/Reuss/Hill moduli, App. B Young and Poisson, anisotropy and Born stability of C.

    Reuss and Hill moduli and the anisotropy are NaN for a singular C; Young and Poisson are NaN where
    3 B_V + G_V = 0 (e.g. an all-zero tensor, a failed fit some sources publish).

    Args:
        elastic_tensor: 6x6 Voigt stiffness in GPa (array or pymatgen ``ElasticTensor``).
    """
    C = np.asarray(elastic_tensor.voigt if isinstance(elastic_tensor, ElasticTensor) else elastic_tensor, dtype=float)
    if C.shape != (6, 6) or not np.all(np.isfinite(C)):
        raise ValueError(f"Expected a finite 6x6 Voigt elastic tensor in GPa, got shape {C.shape}.")
    bulk_voigt, shear_voigt = (float(x) for x in voigt_averages(C))
    min_eigenvalue = float(np.linalg.eigvalsh(0.5 * (C + C.T)).min())
    if abs(np.linalg.det(C)) > 1e-12 * max(1.0, np.abs(C).max()) ** 6:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            bulk_reuss, shear_reuss = (float(x) for x in reuss_averages(np.linalg.inv(C)))
        bulk_vrh, shear_vrh = 0.5 * (bulk_voigt + bulk_reuss), 0.5 * (shear_voigt + shear_reuss)
        anisotropy = 5.0 * shear_voigt / shear_reuss + bulk_voigt / bulk_reuss - 6.0
    else:
        bulk_reuss = shear_reuss = bulk_vrh = shear_vrh = anisotropy = float("nan")
    with np.errstate(divide="ignore", invalid="ignore"):  # NaN, not ZeroDivisionError, for 3 B_V + G_V = 0
        young = float(young_modulus(np.float64(bulk_voigt), np.float64(shear_voigt)))
        poisson = float(poisson_ratio(np.float64(bulk_voigt), np.float64(shear_voigt)))
    return ElasticModuli(
        bulk_voigt=bulk_voigt,
        shear_voigt=shear_voigt,
        bulk_reuss=bulk_reuss,
        shear_reuss=shear_reuss,
        bulk_vrh=bulk_vrh,
        shear_vrh=shear_vrh,
        young=young,
        poisson=poisson,
        universal_anisotropy=anisotropy,
        min_eigenvalue=min_eigenvalue,
        born_stable=min_eigenvalue > 0.0,
    )


def isotropic_stiffness(bulk: float, shear: float) -> NDArray[np.float64]:
    """The 6x6 Voigt stiffness (GPa) of an isotropic solid with bulk modulus K and shear modulus G (GPa):
    C11 = K + 4G/3, C12 = K - 2G/3, C44 = G; its Voigt and Reuss averages are K and G."""
    C = np.zeros((6, 6))
    C[:3, :3] = bulk - 2.0 * shear / 3.0
    C[range(3), range(3)] = bulk + 4.0 * shear / 3.0
    C[range(3, 6), range(3, 6)] = shear
    return C
