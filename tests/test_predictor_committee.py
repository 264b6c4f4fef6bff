"""ElasticPredictor of several networks (a committee): the mean of its networks, each with its own statistics; save
and load; the checks on its networks; and the migration of model folders saved by earlier versions."""

from __future__ import annotations

import json

import matgl
import numpy as np
import pytest
import torch
from pymatgen.core import Lattice, Structure

from stn_plugin.predictor import ElasticPredictor
from stn_plugin.predictor.loading import ModelFileError, load_model_dir, migrate_network_folder
from tests.graph_contract import random_structure
from tests.test_models_straintensornet import STATS, tiny_batch, tiny_config, tiny_model

torch.set_num_threads(1)

OTHER_STATS = {
    **STATS,
    "atom_scalar_mean": [m + 0.3 for m in STATS["atom_scalar_mean"]],
    "sed_mean": 6.0,
    "sed_std": 5.0,
}


def _singles(n: int = 3, architecture: str = "straintensornet") -> list[ElasticPredictor]:
    singles = []
    for seed in range(n):
        torch.manual_seed(seed)
        singles.append(tiny_model(architecture).eval())
    return singles


@pytest.mark.parametrize("architecture", ["straintensornet", "fig6a", "fig6b"])
def test_output_is_the_mean_of_the_networks(architecture):
    singles = _singles(architecture=architecture)
    committee = ElasticPredictor.committee(singles).eval()
    batch = tiny_batch()
    with torch.no_grad():
        outputs = [single(batch) for single in singles]
        out = committee(batch)
    torch.testing.assert_close(out.sed, torch.stack([o.sed for o in outputs]).mean(0))
    torch.testing.assert_close(out.member_sed, torch.stack([o.sed for o in outputs]))
    assert all(o.member_sed is None for o in outputs)
    if architecture == "straintensornet":
        logits = torch.stack([single.network_outputs(batch)[0].dcv_logits for single in singles]).mean(0)
        torch.testing.assert_close(out.dcv, torch.sigmoid(logits))
    elif architecture == "fig6b":
        torch.testing.assert_close(out.dcv, batch.dcv)
    else:
        assert out.dcv is None
    assert committee.reads_graph_dcv == (architecture == "fig6b")


def test_prediction_is_the_mean_of_the_networks_predictions():
    singles = _singles(2)
    committee = ElasticPredictor.committee(singles)
    structure = random_structure(4, np.random.default_rng(3))
    predictions = [single.predict_structure(structure, symmetrize=False) for single in singles]
    combined = committee.predict_structure(structure, symmetrize=False)
    np.testing.assert_allclose(combined.sed, np.mean([p.sed for p in predictions], axis=0), rtol=1e-5, atol=1e-5)
    # Eq. 3 is linear in U, so C is the mean of the networks' C, and the spread is theirs
    c = np.array([p.elastic_tensor.voigt for p in predictions])
    np.testing.assert_allclose(combined.elastic_tensor.voigt, c.mean(axis=0), atol=1e-3)
    np.testing.assert_allclose(combined.elastic_tensor_std, c.std(axis=0), atol=1e-3)
    for key, value in combined.moduli_std.items():
        assert value == pytest.approx(np.std([p.moduli[key] for p in predictions]), rel=1e-3, abs=1e-3), key
    assert predictions[0].elastic_tensor_std is None and predictions[0].moduli_std is None
    # symmetrized: each network's C is projected before the spread is taken (cubic: C11 = C22 in every network)
    copper = Structure.from_spacegroup("Fm-3m", Lattice.cubic(3.6), ["Cu"], [[0, 0, 0]])
    projected = committee.predict_structure(copper)
    assert projected.symmetrized
    assert projected.elastic_tensor_std[0, 0] == pytest.approx(projected.elastic_tensor_std[1, 1], rel=1e-6)
    assert projected.elastic_tensor_std[0, 3] == pytest.approx(0.0, abs=1e-9)  # zero by symmetry in every network


def test_networks_keep_their_own_statistics_through_save_and_load(tmp_path):
    """Networks trained with other statistics (another split or other labels) each standardise and denormalise
    with their own: the committee's U is the mean of what each predicts alone, also after saving and loading."""
    torch.manual_seed(0)
    first = tiny_model().eval()
    torch.manual_seed(1)
    second = ElasticPredictor([tiny_config()], [OTHER_STATS]).eval()
    committee = ElasticPredictor.committee([first, second]).eval()
    batch = tiny_batch()
    with torch.no_grad():
        expected = (first(batch).sed + second(batch).sed) / 2
        torch.testing.assert_close(committee(batch).sed, expected)
        committee.save(tmp_path)
        for loaded in (matgl.load_model(tmp_path), load_model_dir(tmp_path)):
            assert isinstance(loaded, ElasticPredictor) and len(loaded.networks) == 2
            assert [s.model_dump() for s in loaded.statistics][1]["sed_mean"] == OTHER_STATS["sed_mean"]
            torch.testing.assert_close(loaded.eval()(batch).sed, expected)


def test_committee_refuses_one_network_the_same_network_twice_and_other_settings():
    singles = _singles(2)
    with pytest.raises(ValueError, match="at least two networks"):
        ElasticPredictor.committee(singles[:1])
    with pytest.raises(ValueError, match="the same network is in the committee twice"):
        ElasticPredictor.committee([singles[0], singles[0]])
    other_strain = ElasticPredictor([tiny_config()], [STATS], strain=0.01)
    with pytest.raises(ValueError, match="share strain"):
        ElasticPredictor.committee([singles[0], other_strain])
    with pytest.raises(ValueError, match="differ in edge_cutoff"):
        ElasticPredictor([tiny_config(), tiny_config(edge_cutoff=3.5)], [STATS, STATS])
    with pytest.raises(ValueError, match="one statistics entry per network"):
        ElasticPredictor([tiny_config(), tiny_config()], [STATS])
    ElasticPredictor([tiny_config(), tiny_config(lmax=1)], [STATS, STATS])  # other encoder settings may differ
    nested = ElasticPredictor.committee([*singles, ElasticPredictor.committee(_singles(3)[2:] + [tiny_model()])])
    assert len(nested.networks) == 4  # a committee of committees is the committee of all their networks


def _legacy_folder(folder, predictor: ElasticPredictor, ensemble: bool) -> None:
    """A model folder as earlier versions wrote it: the network class itself (or ``StnEnsemble``) with its
    statistics and strain as constructor arguments and buffers, the encoder keys those versions had."""
    folder.mkdir()
    statistics = [s.model_dump() for s in predictor.statistics]
    configs = []
    for network in predictor.networks:
        config = network.config.model_dump(mode="json")
        config["encoder"].update(edge_names_version=2, element_descriptors=False, strain_direction=False)
        configs.append(config)
    state: dict[str, torch.Tensor] = {}
    for k, (network, stats) in enumerate(zip(predictor.networks, statistics, strict=True)):
        prefix = f"members.{k}." if ensemble else ""
        state.update({prefix + key: value for key, value in network.state_dict().items()})
        state.update({prefix + key: torch.tensor(value) for key, value in stats.items()})
        state[prefix + "strain"] = torch.tensor(0.02)
    config = {"architecture": "ensemble", "members": configs} if ensemble else configs[0]
    arguments = {"config": config, "strain": 0.02, **statistics[0]}
    module, name = (
        ("stn_plugin.models.ensemble", "StnEnsemble")
        if ensemble
        else ("stn_plugin.models.straintensornet", "StrainTensorNet")
    )
    (folder / "model.json").write_text(json.dumps({"@class": name, "@module": module, "kwargs": arguments}))
    torch.save(arguments, folder / "model.pt")
    torch.save(state, folder / "state.pt")


@pytest.mark.parametrize("ensemble", [False, True], ids=["network", "StnEnsemble"])
def test_folders_of_earlier_versions_load_as_predictors(tmp_path, ensemble):
    torch.manual_seed(0)
    first = tiny_model().eval()
    torch.manual_seed(1)
    second = ElasticPredictor([tiny_config()], [OTHER_STATS]).eval()
    original = ElasticPredictor.committee([first, second]) if ensemble else first
    _legacy_folder(tmp_path / "old", original, ensemble)
    loaded = load_model_dir(tmp_path / "old").eval()
    assert isinstance(loaded, ElasticPredictor)
    for got, want in zip(loaded.statistics, original.statistics, strict=True):  # from float32 buffers
        for key, value in want.model_dump().items():
            np.testing.assert_allclose(getattr(got, key), value, rtol=1e-6, err_msg=key)
    batch = tiny_batch()
    torch.testing.assert_close(loaded(batch).sed, original.eval()(batch).sed, atol=1e-5, rtol=1e-6)


def test_migration_refuses_a_retired_option_that_was_switched_on(tmp_path):
    _legacy_folder(tmp_path / "old", tiny_model(), ensemble=False)
    arguments = torch.load(tmp_path / "old" / "model.pt", weights_only=True)
    arguments["config"]["encoder"]["strain_direction"] = True
    state = torch.load(tmp_path / "old" / "state.pt", weights_only=True)
    with pytest.raises(ModelFileError, match="encoder option strain_direction, which this version"):
        migrate_network_folder(tmp_path / "old", arguments, state)
