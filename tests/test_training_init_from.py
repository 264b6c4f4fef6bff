"""Fine-tuning (``training.init_from``): the training starts from a saved network's weights and statistics."""

from __future__ import annotations

import lightning as pl
import pytest
import torch

from stn_plugin.predictor import ElasticPredictor, NormalizationStats
from stn_plugin.predictor.loading import load_model_dir, save_model_dir
from stn_plugin.training import train
from stn_plugin.training.train import InitialModelError, initial_model
from tests.test_training_helpers import tiny_config, write_small_dataset

torch.set_num_threads(1)

OTHER_STATISTICS = NormalizationStats(
    atom_scalar_mean=(1.0, 2.0, 3.0, 4.0), atom_scalar_std=(5.0, 6.0, 7.0, 8.0), sed_mean=9.0, sed_std=10.0
)


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """A tiny network trained one epoch, and its data."""
    folder = tmp_path_factory.mktemp("init")
    data = write_small_dataset(folder / "small.jsonl")
    config = tiny_config(max_epochs=1, teacher_forcing_epochs=0, lr=3e-3)
    result = train(config=config, data=data, output_dir=folder / "start", track=False, cache_dir=None)
    return config, data, result.model_dir


class _FirstWeights(pl.Callback):
    """The model's state when the training starts."""

    state: dict[str, torch.Tensor]

    def on_train_start(self, trainer, pl_module) -> None:
        self.state = {key: value.clone() for key, value in pl_module.predictor.state_dict().items()}


def test_initial_model_takes_the_weights_and_statistics_of_init_from(trained):
    config, _, model_dir = trained
    start = load_model_dir(model_dir)
    model = initial_model(config.model, OTHER_STATISTICS, str(model_dir))
    for key, value in start.state_dict().items():
        torch.testing.assert_close(model.state_dict()[key], value, rtol=0, atol=0, msg=key)
    assert model.statistics == start.statistics
    assert model.statistics[0].sed_mean != OTHER_STATISTICS.sed_mean  # not the statistics passed in
    random = initial_model(config.model, OTHER_STATISTICS)
    assert random.statistics == [OTHER_STATISTICS]
    key = next(iter(start.state_dict()))
    assert not torch.equal(random.state_dict()[key], start.state_dict()[key])


def test_training_with_init_from_starts_at_that_network(trained, tmp_path):
    config, data, model_dir = trained
    first = _FirstWeights()
    finetune = config.model_copy(
        update={"training": config.training.model_copy(update={"lr": 1e-4, "seed": 7, "max_epochs": 1})}
    )
    result = train(
        config=finetune, data=data, init_from=str(model_dir), output_dir=tmp_path, track=False, cache_dir=None,
        callbacks=[first],
    )  # fmt: skip
    start = load_model_dir(model_dir).state_dict()
    for key, value in start.items():
        torch.testing.assert_close(first.state[key], value, rtol=0, atol=0, msg=key)
    assert load_model_dir(result.model_dir).statistics == load_model_dir(model_dir).statistics
    saved = (tmp_path / "config.yaml").read_text()
    assert f"init_from: {model_dir}" in saved  # recorded with the run (and compared on resume)


def test_init_from_refuses_other_settings_and_ensembles(trained, tmp_path):
    config, _, model_dir = trained
    wider = config.model.model_copy(
        update={"head": config.model.head.model_copy(update={"hidden": config.model.head.hidden + 4})}
    )
    with pytest.raises(InitialModelError, match=r"head\.hidden: 8 -> 12.*config\.yaml"):
        initial_model(wider, OTHER_STATISTICS, str(model_dir))
    threshold = config.model.encoder.model_copy(update={"vector_zero_threshold": 1e-4})
    initial_model(config.model.model_copy(update={"encoder": threshold}), OTHER_STATISTICS, str(model_dir))
    member = load_model_dir(model_dir)
    other = initial_model(config.model, OTHER_STATISTICS)
    save_model_dir(ElasticPredictor.committee([member, other]), tmp_path / "committee")
    with pytest.raises(InitialModelError, match="committee of 2 networks, not one network"):
        initial_model(config.model, OTHER_STATISTICS, str(tmp_path / "committee"))
    with pytest.raises(FileNotFoundError):
        initial_model(config.model, OTHER_STATISTICS, str(tmp_path / "missing"))
