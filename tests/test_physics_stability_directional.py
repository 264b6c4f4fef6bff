"""Born stability, directional moduli (closed forms) and pymatgen-derived properties of a prediction."""

from __future__ import annotations

import numpy as np
import pytest
from pymatgen.analysis.elasticity import ElasticTensor
from pymatgen.core import Lattice, Structure

from stn_plugin.physics.directional import (
    compliance_tensor,
    direction,
    directional_extrema,
    linear_compressibility,
    perpendicular,
    poisson_ratio,
    shear_modulus,
    youngs_modulus,
)
from stn_plugin.physics.moduli import elastic_moduli
from stn_plugin.physics.stability import born_stability
from stn_plugin.predictor.prediction import ElasticPrediction

RNG = np.random.default_rng(0)


def cubic(c11: float, c12: float, c44: float) -> np.ndarray:
    C = np.zeros((6, 6))
    C[:3, :3] = c12
    np.fill_diagonal(C, [c11] * 3 + [c44] * 3)
    return C


def hexagonal(c11: float, c12: float, c13: float, c33: float, c44: float) -> np.ndarray:
    C = np.zeros((6, 6))
    C[0, 0] = C[1, 1] = c11
    C[0, 1] = C[1, 0] = c12
    C[0, 2] = C[2, 0] = C[1, 2] = C[2, 1] = c13
    C[2, 2] = c33
    C[3, 3] = C[4, 4] = c44
    C[5, 5] = 0.5 * (c11 - c12)
    return C


def prediction(C: np.ndarray, structure: Structure | None = None) -> ElasticPrediction:
    return ElasticPrediction(
        sed=np.zeros((6, 6)),
        elastic_tensor=ElasticTensor.from_voigt(C),
        moduli=elastic_moduli(C).as_mapping(),
        dcv=None,
        strain=0.02,
        symmetrized=True,
        structure=structure,
    )


def random_directions(k: int) -> np.ndarray:
    n = RNG.normal(size=(k, 3))
    return n / np.linalg.norm(n, axis=1, keepdims=True)


def test_youngs_modulus_matches_the_cubic_closed_form():
    C = cubic(165.7, 63.9, 79.6)  # Si
    S, s = compliance_tensor(C), np.linalg.inv(C)
    n = random_directions(50)
    l, m, k = n.T
    inverse = s[0, 0] - 2 * (s[0, 0] - s[0, 1] - s[3, 3] / 2) * (l**2 * m**2 + m**2 * k**2 + k**2 * l**2)
    np.testing.assert_allclose(youngs_modulus(S, n), 1 / inverse, rtol=1e-10)
    extrema = directional_extrema(C)["youngs_modulus"]  # Si: min along <100>, max along <111>
    assert extrema.minimum == pytest.approx(1 / s[0, 0], rel=1e-6)
    assert extrema.maximum == pytest.approx(1 / (s[0, 0] - 2 * (s[0, 0] - s[0, 1] - s[3, 3] / 2) / 3), rel=1e-6)
    np.testing.assert_allclose(np.abs(extrema.max_direction), np.full(3, 3**-0.5), atol=1e-4)


def test_directional_moduli_of_a_transversely_isotropic_crystal():
    C = hexagonal(59.7, 26.2, 21.7, 61.7, 16.4)  # Mg
    S, s = compliance_tensor(C), np.linalg.inv(C)
    n = random_directions(50)
    cos2 = n[:, 2] ** 2
    sin2 = 1 - cos2
    inverse = s[0, 0] * sin2**2 + s[2, 2] * cos2**2 + (2 * s[0, 2] + s[3, 3]) * sin2 * cos2
    np.testing.assert_allclose(youngs_modulus(S, n), 1 / inverse, rtol=1e-10)
    beta = 1000 * ((s[0, 0] + s[0, 1] + s[0, 2]) * sin2 + (2 * s[0, 2] + s[2, 2]) * cos2)  # 1/TPa
    np.testing.assert_allclose(linear_compressibility(S, n), beta, rtol=1e-10)
    axes = np.eye(3)
    assert shear_modulus(S, axes[2], axes[0]) == pytest.approx(C[3, 3])  # G(c, a) = C44
    assert shear_modulus(S, axes[0], axes[1]) == pytest.approx(C[5, 5])  # basal shear = C66
    assert poisson_ratio(S, axes[2], axes[0]) == pytest.approx(-s[0, 2] / s[2, 2])
    assert poisson_ratio(S, axes[0], axes[1]) == pytest.approx(-s[0, 1] / s[0, 0])
    assert np.sum(linear_compressibility(S, axes)) == pytest.approx(1000 / elastic_moduli(C).bulk_reuss)


def test_isotropic_extrema_are_flat_and_directions_are_unit_vectors():
    lam, mu = 60.0, 40.0
    C = cubic(lam + 2 * mu, lam, mu)
    extrema = directional_extrema(C)
    assert extrema["youngs_modulus"].minimum == pytest.approx(mu * (3 * lam + 2 * mu) / (lam + mu))
    assert extrema["shear_modulus"].maximum == pytest.approx(mu)
    assert extrema["poisson_ratio"].minimum == pytest.approx(lam / (2 * (lam + mu)))
    for e in extrema.values():
        assert e.anisotropy == pytest.approx(1.0)
        assert np.linalg.norm(e.max_direction) == pytest.approx(1.0)
    n = direction(0.3, 1.2)
    assert np.dot(n, perpendicular(n, 0.7)) == pytest.approx(0.0, abs=1e-12)


def test_stable_prediction_carries_the_verdict_and_pymatgen_properties():
    si = Structure.from_spacegroup("Fd-3m", Lattice.cubic(5.47), ["Si"], [[0, 0, 0]])
    C = cubic(165.7, 63.9, 79.6)
    p = prediction(C, si)
    assert p.stability.stable and p.stability.verdict == "stable" and p.stability.reason is None
    assert p.stability.min_eigenvalue == pytest.approx(min(C[0, 0] - C[0, 1], C[3, 3]))
    et = ElasticTensor.from_voigt(C)
    acoustic = p.acoustic_properties()
    assert acoustic.longitudinal_sound_velocity == pytest.approx(et.long_v(si))
    assert acoustic.transverse_sound_velocity == pytest.approx(et.trans_v(si))
    assert acoustic.debye_temperature == pytest.approx(et.debye_temperature(si))
    assert 600 < acoustic.debye_temperature < 700  # Si: 645 K
    assert acoustic.clarke_thermal_conductivity == pytest.approx(et.clarke_thermalcond(si))
    assert acoustic.cahill_thermal_conductivity == pytest.approx(et.cahill_thermalcond(si))
    assert acoustic.universal_anisotropy == pytest.approx(et.universal_anisotropy)
    assert prediction(C).acoustic_properties().reason == "no structure attached"
    assert prediction(C).acoustic_properties(si).debye_temperature == pytest.approx(acoustic.debye_temperature)


def test_unstable_prediction_names_the_failing_mode():
    C = cubic(45.0, 50.0, 12.0)  # C11 < C12: the tetragonal shear mode is soft
    p = prediction(C)
    assert not p.stability.stable and p.stability.verdict == "unstable" and not p.stability.singular
    assert p.stability.min_eigenvalue == pytest.approx(-5.0)
    assert len(p.stability.failed_conditions) == 2  # the two-fold degenerate e_xx - e_yy type mode
    assert "lambda_1 = -5 GPa <= 0" in p.stability.reason and "e_xx" in p.stability.reason
    assert p.acoustic_properties().debye_temperature is None and "Born criterion fails" in (
        p.acoustic_properties().reason or ""
    )
    shear = born_stability(cubic(80.0, 30.0, -3.0))
    assert shear.failed_conditions[0].endswith("(mode 1.00 g_yz)")


def test_singular_prediction_says_why_reuss_moduli_are_missing():
    C = np.zeros((6, 6))
    C[:3, :3] = 100.0  # a fluid: only the bulk response
    p = prediction(C)
    assert p.stability.singular and p.stability.verdict == "singular"
    assert "C is singular" in p.stability.reason and "Reuss" in p.stability.reason
    assert np.isnan(p.moduli["bulk_reuss"]) and p.directional_extrema is None
    assert p.stability.as_dict()["verdict"] == "singular"
    with pytest.raises(ValueError, match="singular"):
        compliance_tensor(C)
