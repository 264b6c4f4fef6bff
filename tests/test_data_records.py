"""ElasticRecord: validation errors name the material and the fix; derived quantities."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from pydantic import ValidationError
from pymatgen.core import Lattice, Structure

from stn_plugin.data.records import ElasticRecord
from stn_plugin.physics.sed import MEV_PER_GPA_A3

from .fixtures.factories import cscl_structure, cubic_tensor, make_record


def _error(**overrides: object) -> str:
    with pytest.raises(ValidationError) as info:
        make_record("mp-bad", **overrides)
    return str(info.value)


def test_valid_record_derived_quantities() -> None:
    record = make_record()
    assert record.crystal_system == "cubic"
    assert record.volume_per_atom == pytest.approx(27.0 / 2)
    U = record.sed(0.02)
    # Eq. 2: U_11 = C_11 eps^2 V/N / 2, U_12 = (C_12 + C_11) eps^2 V/N
    assert U[0, 0] == pytest.approx(0.5 * 200 * 0.02**2 * 13.5 * MEV_PER_GPA_A3)
    assert U[0, 1] == pytest.approx((100 + 200) * 0.02**2 * 13.5 * MEV_PER_GPA_A3)


def test_model_dump_round_trip() -> None:
    record = make_record(elastic_tensor_ieee=cubic_tensor())
    data = record.model_dump(mode="json")
    assert data["crystal_system"] == "cubic"
    again = ElasticRecord.model_validate(data)
    assert np.array_equal(again.elastic_tensor, record.elastic_tensor)
    assert again.structure == record.structure and again.provenance == record.provenance


@pytest.mark.parametrize(
    ("tensor", "message"),
    [
        (np.ones((5, 6)), "has shape (5, 6), expected a square 6x6"),
        (np.ones((3, 3, 3, 3)), "convert it with pymatgen ElasticTensor(C).voigt"),
        ([[1.0] * 6] * 5 + [[1.0] * 5 + ["x"]], "holds text entries"),
    ],
)
def test_shape_errors(tensor: object, message: str) -> None:
    text = _error(elastic_tensor=tensor)
    assert "material 'mp-bad': elastic_tensor" in text and message in text


def test_nan_error_names_entry() -> None:
    C = cubic_tensor()
    C[3, 3] = np.nan
    text = _error(elastic_tensor=C)
    assert "NaN or inf at C[3][3]" in text and "mp-bad" in text


def test_inf_in_ieee_tensor() -> None:
    C = cubic_tensor()
    C[0, 1] = C[1, 0] = np.inf
    assert "elastic_tensor_ieee contains NaN or inf" in _error(elastic_tensor_ieee=C)


def test_pascal_units_error() -> None:
    text = _error(elastic_tensor=cubic_tensor() * 1e9)
    assert "looks like Pa, not GPa; divide the tensor by 1e9" in text and "mp-bad" in text


def test_asymmetric_error() -> None:
    C = cubic_tensor()
    C[0, 4] = 5.0
    text = _error(elastic_tensor=C)
    assert "is not symmetric" in text and "C[0][4] vs C[4][0]" in text and "mp-bad" in text


@settings(max_examples=25, deadline=None)
@given(
    noise=st.floats(min_value=-1.0, max_value=1.0),
    i=st.integers(0, 5),
    j=st.integers(0, 5),
)
def test_symmetry_tolerance(noise: float, i: int, j: int) -> None:
    """Asymmetry within 1e-3 max|C| is symmetrised away; beyond it (and off-diagonal) is rejected."""
    assume(abs(abs(noise) - 0.5) > 1e-9)  # exactly at the tolerance, round-off decides either way
    C = cubic_tensor()
    tolerance = 1e-3 * 200.0 + 1e-6
    C[i, j] += noise * 2 * tolerance
    if i == j or abs(noise) * 2 * tolerance <= tolerance:
        record = make_record(elastic_tensor=C)
        assert np.array_equal(record.elastic_tensor, record.elastic_tensor.T)
        assert np.allclose(record.elastic_tensor, 0.5 * (C + C.T))
    else:
        assert "is not symmetric" in _error(elastic_tensor=C)


def test_partial_occupancy_error() -> None:
    disordered = Structure(Lattice.cubic(3.0), [{"Cs": 0.5, "K": 0.5}, "Cl"], [[0, 0, 0], [0.5, 0.5, 0.5]])
    text = _error(structure=disordered, formula=disordered.composition.reduced_formula)
    assert "partial occupancy / disorder at sites [0]" in text and "mp-bad" in text


def test_formula_mismatch_error() -> None:
    assert "does not match the structure's composition CsCl" in _error(formula="NaCl")


def test_structure_dict_accepted_and_garbage_rejected() -> None:
    assert make_record(structure=cscl_structure().as_dict()).structure == cscl_structure()
    assert "must be a pymatgen Structure" in _error(structure="CsCl")


def test_missing_tensor_error() -> None:
    """Without a tensor a record must be moduli-only: both k_vrh and g_vrh given."""
    dump = make_record().model_dump() | {"elastic_tensor": None, "k_vrh": None, "g_vrh": None}
    with pytest.raises(ValidationError, match="no elastic_tensor and no k_vrh and g_vrh"):
        ElasticRecord.model_validate(dump)


def test_record_is_immutable() -> None:
    record = make_record()
    with pytest.raises(ValidationError):
        record.material_id = "other"  # type: ignore[misc]
