"""The bond-strain energy term: a spring sum over bonds of the squared projected strain, invariant, exact in frames."""

from __future__ import annotations

import matgl
import numpy as np
import torch
from pymatgen.core import Lattice, Structure
from scipy.spatial.transform import Rotation
from torch_geometric.data import Batch, Data

from stn_plugin.models.bond_energy import BondStrainEnergy
from stn_plugin.physics.frames import rotate_elastic_tensor
from stn_plugin.physics.voigt import VOIGT_PAIRS, voigt_strain_matrices
from tests.graph_contract import contract_graph
from tests.graph_fixtures import rotated
from tests.test_models_straintensornet import network_output, tiny_batch, tiny_model

torch.set_num_threads(1)


def _pair(i: int, j: int) -> int:
    return VOIGT_PAIRS.index((i, j))


def _constant_springs(module: BondStrainEnergy, bias: float) -> None:
    """Springs k = softplus(bias) times the radial envelope, whatever the atoms."""
    with torch.no_grad():
        module.spring[-1].weight.zero_()
        module.spring[-1].bias.fill_(bias)


def test_bond_energy_is_the_spring_sum_of_the_projected_strains() -> None:
    """With constant springs the term is (1/N) sum_e softplus(b) u(r/r_c) (r^T E r / r^2)^2, computed here in numpy
    on a strained rock-salt graph for every one of the 21 states."""
    module = BondStrainEnergy(scalar_dim=3, num_basis=4, cutoff=4.5, hidden=8).double()
    _constant_springs(module, 0.3)
    structure = Structure(Lattice.cubic(4.2), ["Na", "Cl"], [[0, 0, 0], [0.5, 0.5, 0.5]])
    for pair in range(len(VOIGT_PAIRS)):
        graph = contract_graph(structure, pair, cutoff=4.0)
        energy = module(graph, torch.randn(graph.num_nodes, 3, dtype=torch.float64))
        r = graph.edge_vec.double().numpy()
        length = np.linalg.norm(r, axis=1)
        E = voigt_strain_matrices(1.0)[pair]
        p = np.einsum("ea,ab,eb->e", r, E, r) / length**2
        envelope = module.radial_basis.envelope(torch.as_tensor(length / 4.5)).numpy()
        expected = np.sum(np.log1p(np.exp(0.3)) * envelope * p**2) / len(structure)
        np.testing.assert_allclose(energy.item(), expected, rtol=1e-10)


def test_strain_across_the_bonds_costs_no_bond_energy() -> None:
    """Bonds all in the xy plane (a layer): strains that move no bond length (zz, yz, xz) cost nothing, in-plane
    strains do. This is what lets a layered crystal be soft across its layers."""
    module = BondStrainEnergy(scalar_dim=2, num_basis=4, cutoff=5.0, hidden=8).double()
    angles = np.linspace(0, 2 * np.pi, 6, endpoint=False)
    vectors = 1.4 * np.stack([np.cos(angles), np.sin(angles), np.zeros(6)], axis=1)
    pairs = {name: _pair(*ij) for name, ij in {"zz": (2, 2), "yz": (3, 3), "xz": (4, 4), "xx": (0, 0)}.items()}
    graphs = [
        Data(
            num_nodes=2,
            edge_index=torch.tensor([[0] * 6, [1] * 6]),
            edge_vec=torch.as_tensor(vectors),
            strain_pair=torch.tensor([pair]),
        )
        for pair in pairs.values()
    ]
    energy = module(Batch.from_data_list(graphs), torch.randn(8, 2, dtype=torch.float64))
    assert energy[:3].abs().max() < 1e-15
    assert energy[3] > 1e-4


def test_bond_model_saves_loads_and_learns() -> None:
    """A StrainTensorNet with the term: the term is in its output and in feature_dict, it round-trips through
    matgl.load_model bit for bit, and its springs get gradients from the SED loss."""
    torch.manual_seed(0)
    model = tiny_model(bond_energy=True)
    network = model.networks[0]
    batch = tiny_batch()
    out = network_output(model, batch)
    without = network.regressor(out.dcv, network.feature_dict["pooled_reg"]).squeeze(-1)
    torch.testing.assert_close(out.sed_normalized, without + network.feature_dict["bond_energy"])
    assert torch.all(network.feature_dict["bond_energy"] > 0)
    out.sed_normalized.abs().sum().backward()
    assert network.bond_energy.spring[0].weight.grad.abs().sum() > 0


def test_bond_model_round_trip(tmp_path) -> None:
    torch.manual_seed(0)
    model = tiny_model(bond_energy=True).eval()
    model.save(tmp_path / "model")
    loaded = matgl.load_model(tmp_path / "model").eval()
    assert loaded.networks[0].config.bond_energy and loaded.networks[0].config == model.networks[0].config
    batch = tiny_batch()
    torch.testing.assert_close(loaded(batch).sed, model(batch).sed, atol=0, rtol=0)
    assert tiny_model().networks[0].bond_energy is None  # off by default: the paper's network


def test_bond_model_prediction_follows_the_crystal_rotation() -> None:
    """Through the predictor, a rotated crystal gets the rotated tensor (the term reads the canonical cell's bonds and
    strains, as the rest of the network does)."""
    torch.manual_seed(0)
    model = tiny_model(bond_energy=True).double().eval()
    structure = Structure(Lattice.hexagonal(2.5, 4.1), ["Zn", "O"], [[1 / 3, 2 / 3, 0], [1 / 3, 2 / 3, 0.38]])
    rotation = Rotation.random(random_state=5).as_matrix()
    C = model.predict_structure(structure).elastic_tensor.voigt
    C_rotated = model.predict_structure(rotated(structure, rotation)).elastic_tensor.voigt
    scale = np.abs(C).max()
    np.testing.assert_allclose(C_rotated, rotate_elastic_tensor(C, rotation), atol=1e-9 * scale)
