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


def test_baseline_on_records_predicts_the_training_mean_of_the_system() -> None:
    from stn_plugin.evaluation.baselines import mean_tensor_baseline_data

    from .fixtures.factories import cubic_tensor, make_record

    train = [make_record("a", cubic_tensor(200.0)), make_record("b", cubic_tensor(300.0))]
    test = [make_record("c", cubic_tensor(280.0))]
    data = mean_tensor_baseline_data(train, test)
    np.testing.assert_allclose(data.elastic_pred[0], cubic_tensor(250.0))
    np.testing.assert_allclose(data.elastic_true[0], cubic_tensor(280.0))
    assert list(data.crystal_systems) == ["cubic"]
