"""Canberra distance matrices between SED components (Eq. 10, Fig. 4)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from stn_plugin.evaluation import canberra_distance_matrix, distance_matrices_by_system
from stn_plugin.physics.sed import elastic_to_sed
from stn_plugin.physics.voigt import pair_index

from .test_evaluation_metrics import cubic


def test_hand_value_and_zero_over_zero() -> None:
    u = np.zeros((2, 21))
    u[:, 0] = [1.0, 2.0]
    u[:, 1] = [3.0, 2.0]
    d = canberra_distance_matrix(u)
    assert d[0, 1] == pytest.approx((2 / 4 + 0 / 4) / 2)
    assert d[0, 2] == pytest.approx(1.0)  # |x - 0| / |x| = 1
    assert d[2, 3] == 0.0  # both components zero in every material


def test_identical_components_of_cubic_crystals_have_zero_distance() -> None:
    C = np.stack([cubic(100, 50, 30), cubic(250, 120, 90)])
    d = canberra_distance_matrix(elastic_to_sed(C, np.array([10.0, 12.0])))
    for a, b in ((0, 0), (1, 1), (2, 2)):
        assert d[pair_index(0, 0), pair_index(a, b)] == pytest.approx(0.0, abs=1e-15)
    assert d[pair_index(3, 3), pair_index(5, 5)] == pytest.approx(0.0, abs=1e-15)
    assert d[pair_index(0, 1), pair_index(1, 2)] == pytest.approx(0.0, abs=1e-15)
    assert d[pair_index(0, 0), pair_index(3, 3)] > 0.1


@settings(max_examples=25, deadline=None)
@given(arrays(np.float64, st.tuples(st.integers(1, 4), st.just(21)), elements=st.floats(-1e3, 1e3)))
def test_symmetric_zero_diagonal_and_bounded(u: np.ndarray) -> None:
    d = canberra_distance_matrix(u)
    assert d.shape == (21, 21)
    np.testing.assert_array_equal(d, d.T)
    np.testing.assert_array_equal(np.diag(d), 0.0)
    assert np.all((d >= 0) & (d <= 1 + 1e-12))


def test_by_crystal_system_groups_and_orders() -> None:
    C = np.stack([cubic(100, 50, 30), cubic(200, 100, 50), cubic(300, 10, 40)])
    sed = elastic_to_sed(C, 10.0)
    by_system = distance_matrices_by_system(sed, ["monoclinic", "cubic", "cubic"])
    assert list(by_system) == ["cubic", "monoclinic"]
    np.testing.assert_allclose(by_system["cubic"], canberra_distance_matrix(sed[1:]))
    with pytest.raises(ValueError, match="crystal systems"):
        distance_matrices_by_system(sed, ["cubic"])
    with pytest.raises(ValueError, match="shape"):
        canberra_distance_matrix(np.zeros((0, 21)))
