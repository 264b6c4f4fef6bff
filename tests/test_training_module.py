"""The loss of :class:`StnLightningModule` (paper Eq. 9) and its per-volume weighting."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
import torch

from stn_plugin.models import StnOutput
from stn_plugin.predictor import ElasticPredictor
from stn_plugin.training import StnLightningModule
from tests.test_training_helpers import tiny_config

SED_MEAN, SED_STD = 5.0, 2.0  # meV/atom


def _module(weighting: str, mean_inverse_volume: float | None = 0.05) -> StnLightningModule:
    config = tiny_config("fig6a", sed_loss_weighting=weighting)
    predictor = ElasticPredictor([config.model], [{"sed_mean": SED_MEAN, "sed_std": SED_STD}])
    return StnLightningModule(predictor, config.training, mean_inverse_volume)


def _batch_and_output() -> tuple[SimpleNamespace, StnOutput]:
    sed_true = torch.tensor([4.0, 6.0, 9.0])  # meV/atom
    sed_pred = torch.tensor([5.0, 3.0, 9.5])  # errors 1, 3, 0.5 meV/atom
    volume = torch.tensor([10.0, 20.0, 40.0])  # Angstrom^3/atom
    batch = SimpleNamespace(sed=sed_true, volume_per_atom=volume)
    return batch, StnOutput(sed_normalized=(sed_pred - SED_MEAN) / SED_STD, dcv_logits=None, dcv=None)


def test_per_atom_loss_is_the_l1_of_normalised_u():
    batch, out = _batch_and_output()
    losses = _module("per_atom")._losses(batch, out)
    assert float(losses["sed_l1_mev"]) == pytest.approx((1 + 3 + 0.5) / 3)
    assert float(losses["loss"]) == pytest.approx((1 + 3 + 0.5) / 3 / SED_STD)


def test_per_volume_loss_weights_errors_by_inverse_volume():
    batch, out = _batch_and_output()
    mean_inverse_volume = (1 / 10 + 1 / 20 + 1 / 40) / 3
    losses = _module("per_volume", mean_inverse_volume)._losses(batch, out)
    weights = [1 / 10 / mean_inverse_volume, 1 / 20 / mean_inverse_volume, 1 / 40 / mean_inverse_volume]
    expected = (1 * weights[0] + 3 * weights[1] + 0.5 * weights[2]) / 3 / SED_STD
    assert float(losses["loss"]) == pytest.approx(expected)
    # the reported U error stays the plain per-atom MAE, comparable across weightings
    assert float(losses["sed_l1_mev"]) == pytest.approx((1 + 3 + 0.5) / 3)
    # weights average to one over materials with these volumes: a uniform error costs the same as per atom
    uniform = StnOutput(
        sed_normalized=out.sed_normalized.new_full((3,), (4.0 - SED_MEAN) / SED_STD), dcv_logits=None, dcv=None
    )
    batch.sed = torch.full((3,), 5.0)
    assert float(_module("per_volume", mean_inverse_volume)._losses(batch, uniform)["loss"]) == pytest.approx(
        float(_module("per_atom")._losses(batch, uniform)["loss"])
    )


def test_mean_inverse_volume_must_be_positive():
    with pytest.raises(ValueError, match="mean_inverse_volume must be positive"):
        _module("per_volume", 0.0)
    with pytest.raises(ValueError, match="per_volume loss weighting needs mean_inverse_volume"):
        _module("per_volume", None)


def test_training_updates_one_network():
    config = tiny_config("fig6a")
    committee = ElasticPredictor([config.model, config.model], [{}, {}])
    with pytest.raises(ValueError, match="training updates one network, the predictor has 2"):
        StnLightningModule(committee, config.training, 0.05)
