"""Sound velocities, Debye temperature and minimum thermal conductivities from C (pymatgen's formulas).

All values come from pymatgen's ``ElasticTensor`` (VRH moduli and the structure's density and number of
atoms); nothing is re-derived here:

    longitudinal_sound_velocity, transverse_sound_velocity   m/s   (``long_v``, ``trans_v``)
    debye_temperature                                         K     (``debye_temperature``)
    clarke_thermal_conductivity, cahill_thermal_conductivity  W/(m K) (``clarke_thermalcond``,
                                                                       ``cahill_thermalcond``)
    universal_anisotropy                                      -     (``universal_anisotropy``)

They need a stable, non-singular C (positive VRH moduli); otherwise every value is None and ``reason`` says
why.
"""

from __future__ import annotations

import warnings
from dataclasses import asdict, dataclass

from numpy.typing import ArrayLike
from pymatgen.analysis.elasticity import ElasticTensor
from pymatgen.core import Structure

from stn_plugin.physics.stability import born_stability

ACOUSTIC_UNITS: dict[str, str] = {
    "longitudinal_sound_velocity": "m/s",
    "transverse_sound_velocity": "m/s",
    "debye_temperature": "K",
    "clarke_thermal_conductivity": "W/(m K)",
    "cahill_thermal_conductivity": "W/(m K)",
    "universal_anisotropy": "",
}
"""Fields of :class:`AcousticProperties` and their units."""


@dataclass(frozen=True)
class AcousticProperties:
    """Scalar properties derived from C and the structure (units in ``ACOUSTIC_UNITS``); None when undefined."""

    longitudinal_sound_velocity: float | None
    transverse_sound_velocity: float | None
    debye_temperature: float | None
    clarke_thermal_conductivity: float | None
    cahill_thermal_conductivity: float | None
    universal_anisotropy: float | None
    reason: str | None = None

    def as_dict(self) -> dict[str, float | str | None]:
        """Plain dict of the fields (JSON-ready)."""
        return asdict(self)


def acoustic_properties(elastic_tensor: ArrayLike | ElasticTensor, structure: Structure) -> AcousticProperties:
    """Sound velocities, Debye temperature, Clarke/Cahill conductivity and A^U of C for ``structure``.

    Args:
        elastic_tensor: C, (6, 6) Voigt GPa or ``ElasticTensor``, in any frame (all values are invariants).
        structure: the crystal (density, atoms per cell, volume).
    """
    et = elastic_tensor if isinstance(elastic_tensor, ElasticTensor) else ElasticTensor.from_voigt(elastic_tensor)
    stability = born_stability(et.voigt)
    if not stability.stable:
        return AcousticProperties(None, None, None, None, None, None, reason=stability.reason)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        return AcousticProperties(
            longitudinal_sound_velocity=float(et.long_v(structure)),
            transverse_sound_velocity=float(et.trans_v(structure)),
            debye_temperature=float(et.debye_temperature(structure)),
            clarke_thermal_conductivity=float(et.clarke_thermalcond(structure)),
            cahill_thermal_conductivity=float(et.cahill_thermalcond(structure)),
            universal_anisotropy=float(et.universal_anisotropy),
        )
