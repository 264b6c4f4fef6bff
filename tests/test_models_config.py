"""Encoder configs: the two cell-radius rules, old saved names, cutoffs checked against their edge strategy."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from pydantic import ValidationError
from pymatgen.core import Lattice, Structure

from stn_plugin.graph import CellRadiusEdges, CellRadiusSphereEdges, RadiusEdges
from stn_plugin.models import StrainTensorNet
from stn_plugin.models.config import MAX_STRETCH, EncoderConfig
from stn_plugin.training.config import load_preset

from .test_models_straintensornet import STATS, TINY_ENCODER, TINY_HEAD

torch.set_num_threads(1)

V1_ENCODER = {  # an encoder config as stn-plugin saved it before edge_names_version (every field of then)
    **{"max_atomic_number": 94, "symmetry": "O(3)", "tensor_product": "uvu"},
    **TINY_ENCODER,
    **{"edge_strategy": "cell_radius", "edge_cutoff": 6.0, "radial_cutoff": 7.0},
}


def test_max_stretch_of_the_default_strain() -> None:
    np.testing.assert_allclose(MAX_STRETCH, 1.0 + 0.01 * (1.0 + np.sqrt(2.0)), rtol=1e-12)


def test_old_saved_cell_radius_keeps_the_sphere_intersect_box() -> None:
    old = EncoderConfig.model_validate(V1_ENCODER)
    assert (old.edge_strategy, old.edge_names_version) == ("cell_radius_sphere", 2)
    assert old.build_edge_strategy() == CellRadiusSphereEdges(s=6.0)
    assert EncoderConfig.model_validate(old.model_dump(mode="json")) == old  # the re-saved config is unambiguous
    new = EncoderConfig(edge_strategy="cell_radius", edge_cutoff=6.0, radial_cutoff=7.0 * np.sqrt(3))
    assert new.build_edge_strategy() == CellRadiusEdges(s=6.0)  # a config without every old field: today's names
    assert EncoderConfig.model_validate(new.model_dump(mode="json")).edge_strategy == "cell_radius"
    radius = EncoderConfig.model_validate({**V1_ENCODER, "edge_strategy": "radius", "edge_cutoff": 5.0})
    assert radius.build_edge_strategy() == RadiusEdges(cutoff=5.0)


def test_an_old_saved_cell_radius_model_loads_with_its_graphs_and_weights(tmp_path) -> None:
    torch.manual_seed(0)
    config = {"architecture": "straintensornet", "encoder": V1_ENCODER, "head": TINY_HEAD}
    model = StrainTensorNet(config, **STATS).eval()
    model.save(tmp_path)
    saved = torch.load(tmp_path / "model.pt", weights_only=True)  # write it back as the old code wrote it
    encoder = saved["config"]["encoder"]
    del encoder["edge_names_version"], encoder["edge_bridge_cutoff"]
    encoder["edge_strategy"] = "cell_radius"
    torch.save(saved, tmp_path / "model.pt")
    loaded = StrainTensorNet.load(tmp_path).eval()
    assert loaded.edge_strategy == "cell_radius_sphere"
    nacl = Structure(Lattice.cubic(5.64), ["Na", "Cl"], [[0, 0, 0], [0.5, 0.5, 0.5]])
    np.testing.assert_array_equal(loaded.predict_structure(nacl).sed, model.predict_structure(nacl).sed)
    assert loaded.predictor.converter.edges == CellRadiusSphereEdges(s=6.0)
    material = loaded.predictor.converter.prepare(nacl)  # the input is in the standard orientation: R = I
    np.testing.assert_allclose(material.rotation, np.eye(3), atol=1e-12)
    edges = CellRadiusSphereEdges(s=6.0)(material.structure())
    for key in ("src", "dst", "images"):
        np.testing.assert_array_equal(getattr(material.edges, key), getattr(edges, key))


@pytest.mark.parametrize(
    ("settings", "words"),
    [
        ({"edge_strategy": "cell_radius", "edge_cutoff": 12.0, "radial_cutoff": 13.0}, "22.173 Angstrom"),
        ({"edge_strategy": "cell_radius_sphere", "edge_cutoff": 12.0, "radial_cutoff": 12.5}, "exceed the longest"),
        ({"edge_strategy": "radius", "edge_cutoff": 5.0, "radial_cutoff": 5.0}, "exceed the longest radius edge"),
        ({"edge_strategy": "radius", "edge_cutoff": 5.0, "edge_bridge_cutoff": 8.5, "radial_cutoff": 8.7}, "8.705"),
        ({"edge_strategy": "radius", "edge_cutoff": 5.0, "edge_bridge_cutoff": 4.0, "radial_cutoff": 9.0}, "exceed"),
        ({"edge_strategy": "cell_radius_sphere", "edge_bridge_cutoff": 8.5}, "radius edges only"),
        ({"edge_strategy": "crystalnn", "edge_bridge_cutoff": 8.5}, "radius edges only"),
    ],
)
def test_cutoffs_are_checked_against_their_edge_strategy(settings: dict, words: str) -> None:
    with pytest.raises(ValidationError, match=words):
        EncoderConfig(**settings)


def test_presets_and_defaults_keep_their_graphs() -> None:
    for name in ("paper", "cpu"):  # the presets also cover the strained edges
        encoder = load_preset(name).model.encoder
        assert encoder.radial_cutoff >= encoder.build_edge_strategy().longest_edge() * MAX_STRETCH
    assert EncoderConfig().build_edge_strategy() == CellRadiusSphereEdges(s=12.0, delta=0.5)
    assert load_preset("paper").model.encoder.build_edge_strategy() == CellRadiusSphereEdges(s=12.0, delta=0.5)
    assert load_preset("cpu").model.encoder.build_edge_strategy() == RadiusEdges(cutoff=5.0)
    bridged = EncoderConfig(edge_strategy="radius", edge_cutoff=5.0, edge_bridge_cutoff=8.5, radial_cutoff=8.75)
    assert bridged.build_edge_strategy() == RadiusEdges(cutoff=5.0, bridge_cutoff=8.5)
