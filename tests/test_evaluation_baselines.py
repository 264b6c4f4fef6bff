"""The per-crystal-system mean-tensor baseline."""

from __future__ import annotations

import numpy as np
import pytest

from stn_plugin.evaluation import MeanTensorBaseline


def test_fit_means_and_global_fallback() -> None:
    C = np.stack([np.full((6, 6), v) for v in (1.0, 3.0, 10.0)])
    baseline = MeanTensorBaseline.fit(C, ["cubic", "cubic", "hexagonal"])
    assert baseline.counts == {"cubic": 2, "hexagonal": 1}
    pred = baseline.predict(["hexagonal", "cubic", "triclinic"])
    assert pred.shape == (3, 6, 6)
    np.testing.assert_allclose(pred[0], 10.0)
    np.testing.assert_allclose(pred[1], 2.0)
    np.testing.assert_allclose(pred[2], 14.0 / 3.0)  # unseen system -> global mean


def test_fit_rejects_mismatched_inputs() -> None:
    with pytest.raises(ValueError, match="crystal systems"):
        MeanTensorBaseline.fit(np.zeros((2, 6, 6)), ["cubic"])
    with pytest.raises(ValueError, match="shape"):
        MeanTensorBaseline.fit(np.zeros((0, 6, 6)), [])
