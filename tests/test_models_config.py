"""Encoder configs: the two cell-radius rules, cutoffs checked against their edge strategy."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from pydantic import ValidationError

from stn_plugin.graph import CellRadiusSphereEdges, RadiusEdges
from stn_plugin.models.config import MAX_STRETCH, EncoderConfig
from stn_plugin.training.config import load_preset

torch.set_num_threads(1)


def test_max_stretch_of_the_default_strain() -> None:
    np.testing.assert_allclose(MAX_STRETCH, 1.0 + 0.01 * (1.0 + np.sqrt(2.0)), rtol=1e-12)


@pytest.mark.parametrize(
    ("settings", "words"),
    [
        ({"edge_strategy": "cell_radius", "edge_cutoff": 12.0, "radial_cutoff": 13.0}, "22.173 Angstrom"),
        ({"edge_strategy": "cell_radius_sphere", "edge_cutoff": 12.0, "radial_cutoff": 12.5}, "exceed the longest"),
        ({"edge_strategy": "radius", "edge_cutoff": 5.0, "radial_cutoff": 5.0}, "exceed the longest radius edge"),
        ({"edge_strategy": "radius", "edge_cutoff": 5.0, "edge_bridge_cutoff": 8.5, "radial_cutoff": 8.7}, "8.705"),
        ({"edge_strategy": "radius", "edge_cutoff": 5.0, "edge_bridge_cutoff": 4.0, "radial_cutoff": 9.0}, "exceed"),
        ({"edge_strategy": "cell_radius_sphere", "edge_bridge_cutoff": 8.5}, "radius edges only"),
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
    assert load_preset("cpu").model.encoder.build_edge_strategy() == RadiusEdges(cutoff=5.0, bridge_cutoff=6.5)
    bridged = EncoderConfig(edge_strategy="radius", edge_cutoff=5.0, edge_bridge_cutoff=8.5, radial_cutoff=8.75)
    assert bridged.build_edge_strategy() == RadiusEdges(cutoff=5.0, bridge_cutoff=8.5)
