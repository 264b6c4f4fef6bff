"""The atom stiffness energy: the numpy sum it is, a positive semi-definite quadratic form of the strain, zero for the
strains across a layer whose interlayer couplings vanish, and the model with it (round trip, gradients, rotation;
class readouts in test_models_predictor.py)."""

from __future__ import annotations

import matgl
import numpy as np
import torch
from pymatgen.core import Lattice, Structure
from scipy.spatial.transform import Rotation

from stn_plugin.models.atom_stiffness import AtomStiffnessEnergy
from stn_plugin.physics.frames import rotate_elastic_tensor
from stn_plugin.physics.voigt import VOIGT_PAIRS, voigt_strain_matrices
from tests.graph_fixtures import rotated
from tests.test_models_angle_energy import _stiffness, _unstrained_graphs
from tests.test_models_straintensornet import network_output, tiny_batch, tiny_model

torch.set_num_threads(1)

GRAPHITE = Structure(
    Lattice.hexagonal(2.46, 6.70), ["C"] * 4, [[0, 0, 0.25], [0, 0, 0.75], [1 / 3, 2 / 3, 0.25], [2 / 3, 1 / 3, 0.75]]
)
"""AB graphite: in-plane bonds 1.42 Angstrom, layers 3.35 Angstrom apart."""


def _module(cutoff: float, seed: int = 0) -> AtomStiffnessEnergy:
    torch.manual_seed(seed)
    return AtomStiffnessEnergy(scalar_dim=3, num_basis=4, cutoff=cutoff, hidden=8, channels=3).double()


def test_atom_stiffness_is_the_sum_over_atoms_of_squared_coupled_projections() -> None:
    """(1/N) sum_i sum_k (sum_j w_ijk u(r/r_c) p_ij)^2 with the module's own couplings, recomputed in numpy for every
    one of the 21 strain states of rock salt."""
    module = _module(cutoff=4.5)
    structure = Structure(Lattice.cubic(4.2), ["Na", "Cl"], [[0, 0, 0], [0.5, 0.5, 0.5]])
    graphs = _unstrained_graphs(structure, cutoff=4.0)
    x = torch.randn(len(structure), 3, dtype=torch.float64)
    energy = module(graphs, x.repeat(len(VOIGT_PAIRS), 1)).detach().numpy()
    neighbour, centre = graphs[0].edge_index.numpy()
    r = graphs[0].edge_vec.numpy()
    length = np.linalg.norm(r, axis=1)
    with torch.no_grad():
        inputs = torch.cat([x[centre], x[neighbour], module.radial_basis(torch.as_tensor(length))], dim=-1)
        w = (module.coupling(inputs) * module.radial_basis.envelope(torch.as_tensor(length / 4.5))[:, None]).numpy()
    for pair, E in enumerate(voigt_strain_matrices(1.0)):
        p = np.einsum("ea,ab,eb->e", r, E, r) / length**2
        contraction = np.zeros((len(structure), 3))
        np.add.at(contraction, centre, w * p[:, None])
        np.testing.assert_allclose(energy[pair], np.sum(contraction**2) / len(structure), rtol=1e-10)


def test_atom_stiffness_is_a_positive_semi_definite_tensor_with_more_than_central_forces() -> None:
    """Its Eq. 3 stiffness on a low-symmetry cell has no negative eigenvalue, and it is not a sum of central springs:
    the Cauchy relation C12 = C66 that any pair spring sum obeys is broken."""
    structure = Structure(
        Lattice.from_parameters(3.1, 3.6, 4.2, 80, 95, 105), ["Mg", "O"], [[0, 0, 0], [0.45, 0.55, 0.48]]
    )
    module = _module(cutoff=4.5, seed=3)
    graphs = _unstrained_graphs(structure, cutoff=4.4)
    x = torch.randn(len(structure), 3, dtype=torch.float64).repeat(len(VOIGT_PAIRS), 1)
    C = _stiffness(module(graphs, x))
    eigenvalues = np.linalg.eigvalsh(C)
    assert eigenvalues.min() >= -1e-10 * eigenvalues.max()
    assert abs(C[0, 1] - C[5, 5]) > 1e-3 * np.abs(C).max()


def test_strains_across_a_layer_without_interlayer_couplings_cost_nothing() -> None:
    """Graphite with couplings that vanish beyond 3 Angstrom (the envelope): the interlayer edges of its 4 Angstrom
    graph carry no coupling, so the strains that move no in-plane bond length (zz, yz, xz and their mixtures) cost
    exactly zero, while in-plane strains cost energy."""
    module = _module(cutoff=3.0)
    graphs = _unstrained_graphs(GRAPHITE, cutoff=4.0)
    assert graphs[0].edge_vec[:, 2].abs().max() > 3.0  # the graph has interlayer edges
    x = torch.randn(len(GRAPHITE), 3, dtype=torch.float64).repeat(len(VOIGT_PAIRS), 1)
    C = _stiffness(module(graphs, x))
    interlayer = [2, 3, 4]  # Voigt zz, yz, xz
    assert np.abs(C[np.ix_(interlayer, range(6))]).max() < 1e-12 * np.abs(C).max()
    assert C[0, 0] > 0 and C[5, 5] > 0


def test_atom_stiffness_model_learns_round_trips_and_follows_rotation(tmp_path) -> None:
    """A StrainTensorNet with the term: it is in the output and feature_dict, its couplings get gradients, it
    round-trips through matgl.load_model bit for bit, and a rotated crystal gets the rotated tensor."""
    torch.manual_seed(0)
    model = tiny_model(atom_stiffness=True)
    network = model.networks[0]
    out = network_output(model, tiny_batch())
    without = network.regressor(out.dcv, network.feature_dict["pooled_reg"]).squeeze(-1)
    torch.testing.assert_close(out.sed_normalized, without + network.feature_dict["atom_stiffness"])
    assert torch.all(network.feature_dict["atom_stiffness"] > 0)
    out.sed_normalized.abs().sum().backward()
    assert network.atom_stiffness.coupling[0].weight.grad.abs().sum() > 0
    assert tiny_model().networks[0].atom_stiffness is None  # off by default: the paper's network

    model = model.eval()
    model.save(tmp_path / "model")
    loaded = matgl.load_model(tmp_path / "model").eval()
    assert loaded.networks[0].config == network.config
    batch = tiny_batch()
    torch.testing.assert_close(loaded(batch).sed, model(batch).sed, atol=0, rtol=0)

    model = model.double()

    structure = Structure(Lattice.hexagonal(2.5, 4.1), ["Zn", "O"], [[1 / 3, 2 / 3, 0], [1 / 3, 2 / 3, 0.38]])
    rotation = Rotation.random(random_state=7).as_matrix()
    C = model.predict_structure(structure).elastic_tensor.voigt
    C_rotated = model.predict_structure(rotated(structure, rotation)).elastic_tensor.voigt
    np.testing.assert_allclose(C_rotated, rotate_elastic_tensor(C, rotation), atol=1e-9 * np.abs(C).max())
