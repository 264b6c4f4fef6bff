"""Training data: seeded per-epoch strain and one-hot draws, fixed validation samples, train-only statistics."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from stn_plugin.physics.voigt import N_PAIRS
from stn_plugin.training import EpochSampler, StnDataModule, prepare_data
from tests.test_training_helpers import tiny_config, write_small_dataset

torch.set_num_threads(1)


@pytest.fixture(scope="module")
def datamodule(tmp_path_factory) -> StnDataModule:
    path = write_small_dataset(tmp_path_factory.mktemp("data") / "small.jsonl")
    config = tiny_config(redraw_onehot=True, strains_per_material="one")
    dm = StnDataModule(prepare_data(path), config.model.encoder, config.training, cache_dir=None)
    dm.setup()
    return dm


def _epoch(dm: StnDataModule, epoch: int) -> list:
    loader = dm.train_dataloader()
    loader.sampler.set_epoch(epoch)
    return [sample for batch in loader for sample in batch.to_data_list()]


def test_split_counts_and_no_skipped(datamodule):
    assert datamodule.counts() == {
        "train": 14,
        "val": 3,
        "test": 3,
        "train_moduli_only": 0,
        "val_moduli_only": 0,
        "test_moduli_only": 0,
        "train_samples_per_epoch": 14,
    }
    assert datamodule.skipped == {}


def test_epoch_is_a_function_of_seed_and_epoch(datamodule):
    first, again, other = _epoch(datamodule, 3), _epoch(datamodule, 3), _epoch(datamodule, 4)

    def key(sample):
        return int(sample.material_number), int(sample.strain_pair), int(sample.strain_onehot.argmax())

    assert [key(s) for s in first] == [key(s) for s in again]
    assert [key(s) for s in first] != [key(s) for s in other]
    assert sorted(int(s.material_number) for s in first) == list(range(14))  # one strain per material


def test_training_strain_from_minimal_set_and_onehot_inside_its_class(datamodule):
    materials = datamodule.materials["train"]
    redrawn = 0
    for epoch in range(4):
        for sample in _epoch(datamodule, epoch):
            material = materials[int(sample.material_number)]
            pair, onehot = int(sample.strain_pair), int(sample.strain_onehot.argmax())
            assert pair in material.training_indices
            # graph, target and DCV stay those of the original strain; only the one-hot moves
            assert float(sample.sed) == pytest.approx(material.sed[pair], rel=1e-6)
            assert torch.equal(sample.dcv[0], torch.as_tensor(material.dcv[pair], dtype=torch.float32))
            assert torch.equal(sample.edge_vec, material.graphs[pair].edge_vec)
            assert sample.strain_onehot.sum() == 1 and material.dcv[pair, onehot] == 1
            redrawn += onehot != pair
    assert redrawn > 0, "the one-hot was never re-drawn"


def test_validation_has_all_21_strains_with_true_onehot(datamodule):
    samples = [s for batch in datamodule.val_dataloader() for s in batch.to_data_list()]
    assert len(samples) == 3 * N_PAIRS
    for k, sample in enumerate(samples):
        assert int(sample.strain_onehot.argmax()) == k % N_PAIRS
        assert int(sample.material_number) == k // N_PAIRS
        material = datamodule.materials["val"][k // N_PAIRS]
        assert float(sample.sed) == pytest.approx(material.sed[k % N_PAIRS], rel=1e-6)


def test_normalization_uses_training_materials_only(datamodule):
    stats = datamodule.normalization
    train = np.concatenate([m.sed[list(m.training_indices)] for m in datamodule.materials["train"]])
    assert stats.sed_mean == pytest.approx(train.mean())
    assert stats.sed_std == pytest.approx(train.std())
    everything = np.concatenate([m.sed for part in ("train", "val", "test") for m in datamodule.materials[part]])
    assert stats.sed_mean != pytest.approx(everything.mean())
    assert all(s > 0 for s in stats.atom_scalar_std)


def test_epoch_sampler_is_a_permutation():
    sampler = EpochSampler(10, seed=1)
    sampler.set_epoch(2)
    keys = list(sampler)
    assert sorted(item for _, item in keys) == list(range(10)) and {epoch for epoch, _ in keys} == {2}
