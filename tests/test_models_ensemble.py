"""StnEnsemble: the mean of its members, save/load, safe loading, and the checks on its members."""

from __future__ import annotations

import matgl
import numpy as np
import pytest
import torch
from pydantic import ValidationError
from pymatgen.core import Lattice, Structure

from stn_plugin.models import EnsembleConfig, StnEnsemble
from stn_plugin.predictor.loading import load_model_dir
from tests.graph_contract import random_structure
from tests.test_models_straintensornet import STATS, TINY_ENCODER, TINY_HEAD, tiny_batch, tiny_model

torch.set_num_threads(1)


def _members(n: int = 3, architecture: str = "straintensornet") -> list[torch.nn.Module]:
    members = []
    for seed in range(n):
        torch.manual_seed(seed)
        members.append(tiny_model(architecture))
    return members


@pytest.mark.parametrize("architecture", ["straintensornet", "fig6a", "fig6b"])
def test_output_is_the_mean_of_the_members(architecture):
    members = _members(architecture=architecture)
    ensemble = StnEnsemble.from_models(members).eval()
    batch = tiny_batch()
    with torch.no_grad():
        outputs = [m.eval()(batch) for m in members]
        out = ensemble(batch)
    torch.testing.assert_close(out.sed_normalized, torch.stack([o.sed_normalized for o in outputs]).mean(0))
    if architecture == "straintensornet":
        torch.testing.assert_close(out.dcv_logits, torch.stack([o.dcv_logits for o in outputs]).mean(0))
        torch.testing.assert_close(
            ensemble.feature_dict["dcv"], torch.stack([m.feature_dict["dcv"] for m in members]).mean(0)
        )
    else:
        assert out.dcv_logits is None
    assert ensemble.reads_graph_dcv == (architecture == "fig6b")


def test_prediction_is_the_mean_of_the_members_predictions():
    members = _members(2)
    ensemble = StnEnsemble.from_models(members)
    structure = random_structure(4, np.random.default_rng(3))
    predictions = [m.predict_structure(structure, symmetrize=False) for m in members]
    combined = ensemble.predict_structure(structure, symmetrize=False)
    np.testing.assert_allclose(combined.sed, np.mean([p.sed for p in predictions], axis=0), rtol=1e-5, atol=1e-5)
    # Eq. 3 is linear in U, so C is the mean of the members' C, and the spread is theirs
    c = np.array([p.elastic_tensor.voigt for p in predictions])
    np.testing.assert_allclose(combined.elastic_tensor.voigt, c.mean(axis=0), atol=1e-3)
    np.testing.assert_allclose(combined.elastic_tensor_std, c.std(axis=0), atol=1e-3)
    for key, value in combined.moduli_std.items():
        assert value == pytest.approx(np.std([p.moduli[key] for p in predictions]), rel=1e-3, abs=1e-3), key
    assert predictions[0].elastic_tensor_std is None and predictions[0].moduli_std is None
    # symmetrized: each member's C is projected before the spread is taken (cubic: C11 = C22 in every member)
    copper = Structure.from_spacegroup("Fm-3m", Lattice.cubic(3.6), ["Cu"], [[0, 0, 0]])
    projected = ensemble.predict_structure(copper)
    assert projected.symmetrized
    assert projected.elastic_tensor_std[0, 0] == pytest.approx(projected.elastic_tensor_std[1, 1], rel=1e-6)
    assert projected.elastic_tensor_std[0, 3] == pytest.approx(0.0, abs=1e-9)  # zero by symmetry in every member


def test_save_load_round_trip(tmp_path):
    ensemble = StnEnsemble.from_models(_members(2))
    ensemble.save(tmp_path)
    batch = tiny_batch()
    expected = ensemble.eval()(batch).sed_normalized
    for loaded in (matgl.load_model(tmp_path), load_model_dir(tmp_path)):
        assert isinstance(loaded, StnEnsemble) and len(loaded.members) == 2
        torch.testing.assert_close(loaded.eval()(batch).sed_normalized, expected)
        assert float(loaded.members[1].sed_std) == STATS["sed_std"]


def test_set_normalization_reaches_every_member():
    ensemble = StnEnsemble.from_models(_members(2))
    ensemble.set_normalization([1.0, 2.0, 3.0, 4.0], [2.0, 2.0, 2.0, 2.0], sed_mean=7.0, sed_std=3.0)
    for model in (ensemble, *ensemble.members):
        assert float(model.sed_mean) == 7.0 and model.atom_scalar_mean.tolist() == [1.0, 2.0, 3.0, 4.0]


def test_members_keep_their_own_statistics_within_the_tolerance():
    """Statistics 5e-5 apart (one split, another symmetry tolerance): U is the mean of the members' own U."""
    members = _members(2)
    members[1].set_normalization(
        STATS["atom_scalar_mean"], STATS["atom_scalar_std"], STATS["sed_mean"] * (1 + 5e-5), STATS["sed_std"]
    )
    ensemble = StnEnsemble.from_models(members).eval()
    batch = tiny_batch()
    with torch.no_grad():
        expected = torch.stack([m.eval().denormalize_sed(m(batch).sed_normalized) for m in members]).mean(0)
        torch.testing.assert_close(ensemble.denormalize_sed(ensemble(batch).sed_normalized), expected)


def test_members_must_share_the_training_statistics():
    members = _members(2)
    members[1].set_normalization(STATS["atom_scalar_mean"], STATS["atom_scalar_std"], 6.0, STATS["sed_std"])
    with pytest.raises(ValueError, match="differs from model 0 in sed_mean .* same training split"):
        StnEnsemble.from_models(members)


def test_members_of_other_labels_keep_their_statistics_through_save_and_load(tmp_path):
    """A distilled student (same split, other labels, other statistics) joins with check_statistics=False; each
    member denormalises with its own statistics, also after saving, loading and a new zero-vector threshold."""
    members = _members(2)
    members[1].set_normalization(
        [m + 0.3 for m in STATS["atom_scalar_mean"]], STATS["atom_scalar_std"], 6.0, 2.5 * STATS["sed_std"]
    )
    ensemble = StnEnsemble.from_models(members, check_statistics=False).eval()
    batch = tiny_batch()
    with torch.no_grad():
        expected = torch.stack([m.eval().denormalize_sed(m(batch).sed_normalized) for m in members]).mean(0)
        torch.testing.assert_close(ensemble.denormalize_sed(ensemble(batch).sed_normalized), expected)
        ensemble.save(tmp_path)
        loaded = load_model_dir(tmp_path).eval()
        torch.testing.assert_close(loaded.denormalize_sed(loaded(batch).sed_normalized), expected)
        rebuilt = loaded.with_vector_zero_threshold(0.0).eval()
        torch.testing.assert_close(rebuilt.denormalize_sed(rebuilt(batch).sed_normalized), expected)


def test_members_must_build_the_same_graphs_and_share_an_architecture():
    def member(architecture="straintensornet", **encoder):
        return {"architecture": architecture, "encoder": {**TINY_ENCODER, **encoder}, "head": TINY_HEAD}

    with pytest.raises(ValidationError, match="differ in edge_cutoff"):
        EnsembleConfig(members=[member(), member(edge_cutoff=3.5)])
    with pytest.raises(ValidationError, match="share one architecture"):
        EnsembleConfig(members=[member(), member("fig6a")])
    with pytest.raises(ValidationError, match="at least 2"):
        EnsembleConfig(members=[member()])
    EnsembleConfig(members=[member(), member(lmax=1)])  # other encoder settings may differ


def test_from_models_refuses_single_models_and_nested_ensembles():
    with pytest.raises(ValueError, match="at least two models"):
        StnEnsemble.from_models(_members(1))
    ensemble = StnEnsemble.from_models(_members(2))
    with pytest.raises(ValueError, match="cannot be members"):
        StnEnsemble.from_models([ensemble, tiny_model()])


def test_with_vector_zero_threshold_keeps_weights_and_sets_every_member():
    members = _members(2)
    single = members[0].with_vector_zero_threshold(0.5)
    assert (
        single.config.encoder.vector_zero_threshold == 0.5 and members[0].config.encoder.vector_zero_threshold == 1e-4
    )
    assert all(layer.zero_threshold == 0.5 for layer in single.encoder.nonlinearities)
    for key, value in members[0].state_dict().items():
        torch.testing.assert_close(single.state_dict()[key], value, msg=key)
    ensemble = StnEnsemble.from_models(members).with_vector_zero_threshold(0.0)
    assert [m.config.encoder.vector_zero_threshold for m in ensemble.members] == [0.0, 0.0]
    batch = tiny_batch()
    unchanged = StnEnsemble.from_models(members).with_vector_zero_threshold(1e-4).eval()
    torch.testing.assert_close(
        unchanged(batch).sed_normalized, StnEnsemble.from_models(members).eval()(batch).sed_normalized
    )
