"""Anisotropy errors of predictions (``anisotropy_metrics``): log10(C33/C11) of uniaxial crystals in the crystal's
own frame, whatever the orientation of the record, and the universal anisotropy index A_U."""

from __future__ import annotations

import numpy as np
import pytest
from pymatgen.core import Lattice, Structure
from pymatgen.core.operations import SymmOp
from scipy.spatial.transform import Rotation

from stn_plugin.evaluation.records import anisotropy_metrics, universal_anisotropy_errors
from stn_plugin.physics.frames import rotate_elastic_tensor
from stn_plugin.physics.moduli import elastic_moduli, kelvin_moduli
from stn_plugin.structure import canonicalize

from .fixtures.factories import cubic_tensor, make_record


def hexagonal_tensor(c33: float = 62.0) -> np.ndarray:
    """hcp Mg-like C (GPa), c axis along z."""
    c11, c12, c13, c44 = 60.0, 26.0, 21.0, 16.0
    C = np.zeros((6, 6))
    C[:3, :3] = [[c11, c12, c13], [c12, c11, c13], [c13, c13, c33]]
    C[3, 3] = C[4, 4] = c44
    C[5, 5] = (c11 - c12) / 2
    return C


def hcp_mg() -> Structure:
    return Structure(Lattice.hexagonal(3.21, 5.21), ["Mg", "Mg"], [[1 / 3, 2 / 3, 0.25], [2 / 3, 1 / 3, 0.75]])


def rotated(structure: Structure, rotation: np.ndarray) -> Structure:
    copy = structure.copy()
    copy.apply_operation(SymmOp.from_rotation_and_translation(rotation, np.zeros(3)))
    return copy


def canonical_rotations(records) -> list[np.ndarray]:
    """The rotation of each record's canonical frame, as its prediction carries it."""
    return [canonicalize(record.structure).rotation for record in records]


def test_exact_prediction_has_no_anisotropy_error() -> None:
    records = [make_record(), make_record("mg", formula="Mg", structure=hcp_mg(), elastic_tensor=hexagonal_tensor())]
    metrics = anisotropy_metrics(records, [r.elastic_tensor for r in records], canonical_rotations(records))
    assert metrics["n_uniaxial"] == 1 and metrics["n_anisotropy"] == 2
    assert metrics["log_c33_c11_mae"] == pytest.approx(0.0, abs=1e-12)
    assert metrics["universal_anisotropy_mae"] == pytest.approx(0.0, abs=1e-9)


def test_c33_c11_error_is_read_in_the_crystal_frame_of_a_rotated_record() -> None:
    """C33 doubled along the c axis: an error of log10(2) also when structure and tensors are rotated together
    (in the rotated frame the Voigt C33 is not the c-axis stiffness)."""
    R = Rotation.random(random_state=7).as_matrix()
    record = make_record(
        "mg-rotated",
        formula="Mg",
        structure=rotated(hcp_mg(), R),
        elastic_tensor=rotate_elastic_tensor(hexagonal_tensor(), R),
    )
    predicted = rotate_elastic_tensor(hexagonal_tensor(c33=124.0), R)
    metrics = anisotropy_metrics([record], [predicted], canonical_rotations([record]))
    assert not np.allclose(canonical_rotations([record])[0], np.eye(3))
    assert metrics["log_c33_c11_mae"] == pytest.approx(np.log10(2.0), abs=1e-6)


def test_universal_anisotropy_error_of_an_isotropic_prediction_is_the_true_index() -> None:
    """An isotropic prediction (C11 - C12 = 2 C44) has A_U = 0, so its error is the crystal's A_U."""
    record = make_record(elastic_tensor=cubic_tensor(200.0, 100.0, 20.0))
    metrics = anisotropy_metrics([record], [cubic_tensor(200.0, 100.0, 50.0)], canonical_rotations([record]))
    assert metrics["universal_anisotropy_mae"] == pytest.approx(
        elastic_moduli(record.elastic_tensor).universal_anisotropy
    )
    assert metrics["universal_anisotropy_mae"] > 0.5
    assert np.isnan(metrics["log_c33_c11_mae"]) and metrics["n_uniaxial"] == 0


def test_universal_anisotropy_errors_per_crystal_and_nan_for_a_refused_prediction() -> None:
    records = [make_record(elastic_tensor=cubic_tensor(200.0, 100.0, 20.0)), make_record("second")]
    errors = universal_anisotropy_errors(records, [cubic_tensor(200.0, 100.0, 50.0), None])
    assert errors.shape == (2,)
    assert errors[0] == pytest.approx(elastic_moduli(records[0].elastic_tensor).universal_anisotropy)
    assert np.isnan(errors[1])
    # the mean of anisotropy_metrics is over the finite errors only
    metrics = anisotropy_metrics(records[:1], [cubic_tensor(200.0, 100.0, 50.0)], canonical_rotations(records[:1]))
    assert metrics["universal_anisotropy_mae"] == pytest.approx(errors[0])


def test_kelvin_moduli_of_an_isotropic_solid_are_3b_once_and_2g_five_times_in_any_frame() -> None:
    B, G = 150.0, 60.0
    C = cubic_tensor(B + 4 * G / 3, B - 2 * G / 3, G)
    R = Rotation.random(random_state=3).as_matrix()
    anisotropic = hexagonal_tensor()
    np.testing.assert_allclose(kelvin_moduli(C), [2 * G] * 5 + [3 * B], rtol=1e-12)
    np.testing.assert_allclose(
        kelvin_moduli(rotate_elastic_tensor(anisotropic, R)), kelvin_moduli(anisotropic), rtol=1e-10
    )


def test_softest_shear_error_and_the_stable_crystals_predicted_unstable() -> None:
    """Two cubic crystals stable in DFT: a prediction with C44 halved errs by the change of the softest mode; one with
    C12 > C11 is not positive definite; the DFT-unstable third crystal is not counted in the fraction."""
    soft, stiff, unstable = (
        cubic_tensor(200.0, 100.0, 20.0),
        cubic_tensor(300.0, 100.0, 80.0),
        cubic_tensor(100.0, 150.0, 30.0),
    )
    records = [
        make_record("a", elastic_tensor=soft),
        make_record("b", elastic_tensor=stiff),
        make_record("c", elastic_tensor=unstable),
    ]
    predicted = [cubic_tensor(200.0, 100.0, 10.0), cubic_tensor(100.0, 150.0, 80.0), unstable]
    metrics = anisotropy_metrics(records, predicted, canonical_rotations(records))
    expected = [
        0.5 * abs(kelvin_moduli(p)[0] - kelvin_moduli(t)[0])
        for p, t in zip(predicted, [soft, stiff, unstable], strict=True)
    ]
    assert expected[0] == pytest.approx(10.0)  # the softest mode of the first is its 2 C44 shear
    assert metrics["softest_shear_mae_gpa"] == pytest.approx(np.mean(expected))
    assert metrics["n_stable"] == 2 and metrics["unstable_fraction"] == pytest.approx(0.5)
