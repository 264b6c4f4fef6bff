"""First-shell bonds and the Keating bond-bending term: pair enumeration, shells of real lattices, the numpy sum,
the Cauchy relation it and the volume term break, layers it leaves soft, and the model with it (round trip,
rotation; class readouts in test_models_predictor.py)."""

from __future__ import annotations

import itertools

import matgl
import numpy as np
import pytest
import torch
from pymatgen.core import Lattice, Structure
from scipy.spatial.transform import Rotation
from torch_geometric.data import Batch, Data

from stn_plugin.models.angle_energy import BondAngleEnergy, bond_pairs
from stn_plugin.models.bond_energy import BondStrainEnergy, first_shell_weight
from stn_plugin.models.config import StrainTensorNetConfig
from stn_plugin.models.volume_energy import VolumeStrainEnergy
from stn_plugin.physics.frames import rotate_elastic_tensor
from stn_plugin.physics.sed import sed_to_elastic
from stn_plugin.physics.voigt import N_PAIRS, VOIGT_PAIRS, from_upper_triangle, voigt_strain_matrices
from tests.graph_contract import contract_graph
from tests.graph_fixtures import rotated
from tests.test_models_straintensornet import network_output, tiny_batch, tiny_model

torch.set_num_threads(1)

SHELL = 1.15


def _constant(module: torch.nn.Module, bias: float) -> None:
    """The module's MLP outputs ``bias`` whatever its input (spring, bending or volume constant softplus(bias))."""
    mlps = {BondStrainEnergy: "spring", BondAngleEnergy: "bending", VolumeStrainEnergy: "stiffness"}
    last = getattr(module, mlps[type(module)])[-1]
    with torch.no_grad():
        last.weight.zero_()
        last.bias.fill_(bias)


def _unstrained_graphs(structure: Structure, cutoff: float) -> Batch:
    """The 21 graphs of the UNSTRAINED cell, one per strain state (only ``strain_pair`` differs), so that the terms'
    energies are exact quadratic forms of the unit strain."""
    centre, neighbour, images, _ = structure.get_neighbor_list(cutoff)
    edge_vec = (structure.frac_coords[neighbour] + images - structure.frac_coords[centre]) @ structure.lattice.matrix
    edge_index = torch.as_tensor(np.stack([neighbour, centre]))
    graphs = [
        Data(
            num_nodes=len(structure),
            edge_index=edge_index,
            edge_vec=torch.as_tensor(edge_vec),
            strain_pair=torch.tensor([pair]),
        )
        for pair in range(N_PAIRS)
    ]
    return Batch.from_data_list(graphs)


def _stiffness(energy: torch.Tensor) -> np.ndarray:
    """6x6 'stiffness' (Eq. 3 at unit strain and unit volume; GPa per meV) of the 21 unit-strain energies."""
    return sed_to_elastic(from_upper_triangle(energy.detach().numpy()), volume_per_atom=1.0, magnitude=1.0)


def test_bond_pairs_are_every_unordered_pair_of_edges_at_an_atom() -> None:
    center = torch.tensor([2, 0, 2, 1, 2, 0, 4, 2])
    a, b = bond_pairs(center, num_nodes=5)
    found = sorted(tuple(sorted(pair)) for pair in zip(a.tolist(), b.tolist(), strict=True))
    expected = sorted((i, j) for i, j in itertools.combinations(range(len(center)), 2) if center[i] == center[j])
    assert found == expected  # 6 pairs at atom 2, 1 at atom 0, none at the lone edges of atoms 1 and 4


@pytest.mark.parametrize(
    ("name", "structure", "kept"),
    [
        ("bcc Fe: both shells (8 + 6)", Structure(Lattice.cubic(2.87), ["Fe", "Fe"], [[0, 0, 0], [0.5] * 3]), 14),
        (
            "rock salt: 6 cations, not the 12 anions",
            Structure.from_spacegroup("Fm-3m", Lattice.cubic(5.64), ["Na", "Cl"], [[0, 0, 0], [0.5, 0.5, 0.5]]),
            6,
        ),
        (
            "graphite: the 3 in-plane bonds, not the interlayer edges",
            Structure(
                Lattice.hexagonal(2.46, 6.70),
                ["C"] * 4,
                [[0, 0, 0.25], [0, 0, 0.75], [1 / 3, 2 / 3, 0.25], [2 / 3, 1 / 3, 0.75]],
            ),
            3,
        ),
    ],
)
def test_first_shell_of_real_lattices(name: str, structure: Structure, kept: int) -> None:
    single = _unstrained_graphs(structure, cutoff=5.0).get_example(0)
    length = single.edge_vec.norm(dim=-1)
    weight = first_shell_weight(single.edge_index, length, single.num_nodes, SHELL)
    per_atom = torch.bincount(single.edge_index[1][weight > 0.999], minlength=single.num_nodes)
    assert per_atom.tolist() == [kept] * len(structure), name
    assert torch.all((weight > 0.999) | (weight < 1e-12))  # no edge of these lattices in the fade


def test_angle_energy_is_the_bending_sum_over_first_shell_pairs() -> None:
    """With a constant bending constant the term is (1/N) sum_i sum_{j<k} softplus(b) w_ij w_ik (u_j^T E u_k)^2 over
    the first-shell bonds, computed here in numpy on a strained zincblende graph for all 21 states."""
    module = BondAngleEnergy(scalar_dim=3, num_basis=4, cutoff=6.0, hidden=8, shell=SHELL).double()
    _constant(module, 0.4)
    structure = Structure.from_spacegroup("F-43m", Lattice.cubic(5.43), ["Ga", "As"], [[0, 0, 0], [0.25] * 3])
    for pair in range(N_PAIRS):
        graph = contract_graph(structure, pair, cutoff=4.5)
        energy = module(graph, torch.randn(graph.num_nodes, 3, dtype=torch.float64))
        r = graph.edge_vec.double().numpy()
        length = np.linalg.norm(r, axis=1)
        center = graph.edge_index[1].numpy()
        nearest = np.array([length[center == i].min() for i in range(len(structure))])
        ratio = length / np.maximum(nearest[graph.edge_index[0].numpy()], nearest[center])
        weight = 0.5 * (1 + np.cos(np.pi * np.clip((ratio - SHELL) / 0.25, 0, 1)))
        unit = r / length[:, None]
        E = voigt_strain_matrices(1.0)[pair]
        expected = 0.0
        for j, k in itertools.combinations(range(len(r)), 2):
            if center[j] == center[k] and weight[j] > 0 and weight[k] > 0:
                expected += weight[j] * weight[k] * (unit[j] @ E @ unit[k]) ** 2
        expected *= np.log1p(np.exp(0.4)) / len(structure)
        np.testing.assert_allclose(energy.item(), expected, rtol=1e-10)


def test_bending_and_volume_terms_break_the_cauchy_relation_of_central_springs() -> None:
    """fcc, every atom a centre of inversion: first-shell central springs give C12 = C44 exactly (the Cauchy
    relation, which a spring-only model imposes on every such crystal); the bending term gives C44 > C12 (Keating:
    covalent crystals), the volume term C12 = C11 and no C44 (the positive Cauchy pressure of metals)."""
    cu = Structure.from_spacegroup("Fm-3m", Lattice.cubic(3.61), ["Cu"], [[0, 0, 0]])
    graphs = _unstrained_graphs(cu, cutoff=4.0)
    nodes = torch.randn(graphs.num_nodes, 3, dtype=torch.float64)
    springs = BondStrainEnergy(scalar_dim=3, num_basis=4, cutoff=4.5, hidden=8, shell=SHELL).double()
    bending = BondAngleEnergy(scalar_dim=3, num_basis=4, cutoff=4.5, hidden=8, shell=SHELL).double()
    volume = VolumeStrainEnergy(scalar_dim=3, hidden=8).double()
    for module in (springs, bending, volume):
        _constant(module, 0.5)
    C_spring, C_bend, C_volume = (_stiffness(module(graphs, nodes)) for module in (springs, bending, volume))
    assert C_spring[0, 1] > 0.1 * C_spring[0, 0]
    np.testing.assert_allclose(C_spring[0, 1], C_spring[3, 3], rtol=1e-10)
    np.testing.assert_allclose(C_spring[0, 0], 2 * C_spring[0, 1], rtol=1e-10)  # fcc nearest-neighbour springs
    assert C_bend[3, 3] - C_bend[0, 1] > 0.1 * C_bend[0, 0]
    np.testing.assert_allclose(C_volume[0, 1], C_volume[0, 0], rtol=1e-10)
    assert C_volume[0, 0] > 0.1 * C_spring[0, 0]
    assert np.abs(C_volume[3:, 3:]).max() < 1e-12


def test_strains_that_keep_a_layer_flat_bend_none_of_its_bonds() -> None:
    """Graphene-like bonds of one atom, all in the xy plane: zz, yz and xz (across the layer, sliding it) bend no
    pair; the in-plane shear xy does."""
    module = BondAngleEnergy(scalar_dim=2, num_basis=4, cutoff=5.0, hidden=8, shell=SHELL).double()
    angles = np.array([0.0, 2 * np.pi / 3, 4 * np.pi / 3])
    vectors = 1.42 * np.stack([np.cos(angles), np.sin(angles), np.zeros(3)], axis=1)
    pairs = [VOIGT_PAIRS.index(ij) for ij in ((2, 2), (3, 3), (4, 4), (5, 5))]
    graphs = [
        Data(
            num_nodes=4,
            edge_index=torch.tensor([[1, 2, 3], [0, 0, 0]]),
            edge_vec=torch.as_tensor(vectors),
            strain_pair=torch.tensor([pair]),
        )
        for pair in pairs
    ]
    energy = module(Batch.from_data_list(graphs), torch.randn(16, 2, dtype=torch.float64))
    assert energy[:3].abs().max() < 1e-15
    assert energy[3] > 1e-4


def test_bond_options_are_checked() -> None:
    with pytest.raises(ValueError, match="set bond_energy: true"):
        StrainTensorNetConfig(bond_shell=SHELL)
    with pytest.raises(ValueError, match="set bond_shell"):
        StrainTensorNetConfig(bond_energy=True, bond_angles=True)


def test_angle_model_round_trip_gradients_and_rotation(tmp_path) -> None:
    """A StrainTensorNet with first-shell springs, bending and the volume term: U is the regressor's output plus the
    three terms, bending and volume constants learn, the model round-trips bit for bit, and a rotated crystal gets
    the rotated tensor."""
    torch.manual_seed(0)
    model = tiny_model(bond_energy=True, bond_shell=SHELL, bond_angles=True, volume_energy=True)
    network = model.networks[0]
    batch = tiny_batch()
    out = network_output(model, batch)
    features = network.feature_dict
    regressor = network.regressor(out.dcv, features["pooled_reg"]).squeeze(-1)
    terms = features["bond_energy"] + features["angle_energy"] + features["volume_energy"]
    torch.testing.assert_close(out.sed_normalized, regressor + terms)
    out.sed_normalized.abs().sum().backward()
    assert network.angle_energy.bending[0].weight.grad.abs().sum() > 0
    assert network.volume_energy.stiffness[0].weight.grad.abs().sum() > 0
    model.eval().save(tmp_path / "model")
    loaded = matgl.load_model(tmp_path / "model").eval()
    assert loaded.networks[0].config == network.config and loaded.networks[0].angle_energy is not None
    torch.testing.assert_close(loaded(batch).sed, model(batch).sed, atol=0, rtol=0)
    model = model.double()
    zno = Structure(
        Lattice.hexagonal(3.25, 5.2),
        ["Zn", "Zn", "O", "O"],
        [[1 / 3, 2 / 3, 0], [2 / 3, 1 / 3, 0.5], [1 / 3, 2 / 3, 0.38], [2 / 3, 1 / 3, 0.88]],
    )
    rotation = Rotation.random(random_state=7).as_matrix()
    C = model.predict_structure(zno).elastic_tensor.voigt
    C_rotated = model.predict_structure(rotated(zno, rotation)).elastic_tensor.voigt
    np.testing.assert_allclose(C_rotated, rotate_elastic_tensor(C, rotation), atol=1e-9 * np.abs(C).max())
