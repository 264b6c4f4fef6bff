"""The predictor layer: one strain per structure class, errors per structure, the strain-direction edge scalar."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from e3nn import o3
from pymatgen.core import Lattice, Structure

from stn_plugin.models.input_checks import StructureInputError
from stn_plugin.models.prediction import ElasticPrediction
from stn_plugin.models.predictor import ElasticPredictor
from stn_plugin.physics.voigt import N_PAIRS
from tests.graph_fixtures import SYSTEM_EXAMPLES, bundled_structures
from tests.physics_cells import rocksalt
from tests.test_models_straintensornet import tiny_model

torch.set_num_threads(1)

SYSTEMS = ("cubic", "tetragonal", "orthorhombic", "hexagonal", "trigonal-R", "monoclinic")
"""Triclinic crystals have 21 structure classes: the shortcut is the full prediction."""


def _crystal(name: str):
    return bundled_structures()[SYSTEM_EXAMPLES[name]]


@pytest.fixture(scope="module")
def invariant_models() -> dict[bool, torch.nn.Module]:
    """Fig. 6(a) networks (no one-hot input), float64, without and with the strain-direction scalar."""
    torch.manual_seed(0)
    return {flag: tiny_model("fig6a", strain_direction=flag).double().eval() for flag in (False, True)}


@pytest.mark.parametrize("strain_direction", [False, True])
@pytest.mark.parametrize("name", SYSTEMS)
def test_class_representatives_give_the_u_of_all_21_states(invariant_models, name: str, strain_direction: bool) -> None:
    """Strained cells of one structure class are the same crystal rotated: an invariant network (Fig. 6(a), no
    one-hot) gives them the same U, so one representative per class predicts all 21 (float round-off)."""
    model = invariant_models[strain_direction]
    structure = _crystal(name)
    full = ElasticPredictor(model).predict_structure(structure, symmetrize=False)
    shortcut_predictor = ElasticPredictor(model, class_representatives=True)
    shortcut = shortcut_predictor.predict_structure(structure, symmetrize=False)
    _, graphs, labels = shortcut_predictor.strained_graphs(structure)
    assert len(graphs) == len(set(labels.tolist())) <= N_PAIRS
    np.testing.assert_allclose(shortcut.sed, full.sed, rtol=1e-6, atol=1e-9 * np.abs(full.sed).max())
    if name == "cubic":
        assert len(graphs) < N_PAIRS


def test_skip_keeps_every_good_result_in_input_order() -> None:
    model = tiny_model().eval()
    good = rocksalt()
    bad = Structure(Lattice.cubic(3.0), ["Og"], [[0, 0, 0]])  # beyond the embedding's elements
    results = model.predict_structures([good, bad, good], errors="skip")
    assert isinstance(results[0], ElasticPrediction)
    assert isinstance(results[1], StructureInputError)
    assert isinstance(results[2], ElasticPrediction)
    np.testing.assert_allclose(results[0].sed, results[2].sed)
    with pytest.raises(StructureInputError):
        model.predict_structures([good, bad], errors="raise")


def test_projected_edge_strain_is_invariant_under_a_joint_rotation() -> None:
    from stn_plugin.models.encoder import projected_edge_strain, unit_strain_tensors

    rng = np.random.default_rng(0)
    vectors = torch.as_tensor(rng.normal(size=(50, 3)))
    strains = unit_strain_tensors().double()[torch.as_tensor(rng.integers(0, N_PAIRS, 50))]
    Q = o3.rand_matrix().double()
    p = projected_edge_strain(vectors, strains)
    p_rotated = projected_edge_strain(vectors @ Q.T, Q @ strains @ Q.T)
    torch.testing.assert_close(p, p_rotated)
    assert torch.all(p.abs() <= 1.0 + 1e-12)
    # it changes with the strain's direction relative to the bond: xx strain on an x and a y bond
    xx = unit_strain_tensors().double()[0].expand(2, 3, 3)
    torch.testing.assert_close(
        projected_edge_strain(torch.eye(3, dtype=torch.float64)[:2], xx), torch.tensor([1.0, 0.0], dtype=torch.float64)
    )
