"""The predictor layer: one strain per structure class, errors per structure, the strain projected on a bond."""

from __future__ import annotations

import re

import numpy as np
import pytest
import torch
from e3nn import o3
from pymatgen.core import Lattice, Structure
from torch_geometric.data import Batch

from stn_plugin.physics.voigt import N_PAIRS
from stn_plugin.predictor.prediction import ElasticPrediction
from stn_plugin.predictor.predictor import ElasticPredictor
from stn_plugin.structure.checks import StructureInputError
from tests.graph_fixtures import SYSTEM_EXAMPLES, bundled_structures
from tests.physics_cells import rocksalt
from tests.test_models_straintensornet import tiny_model

torch.set_num_threads(1)

SYSTEMS = ("cubic", "tetragonal", "orthorhombic", "hexagonal", "trigonal-R", "monoclinic")
"""Triclinic crystals have 21 structure classes: the shortcut is the full prediction."""


def _crystal(name: str):
    return bundled_structures()[SYSTEM_EXAMPLES[name]]


@pytest.fixture(scope="module")
def invariant_models() -> dict[str, torch.nn.Module]:
    """Random networks in float64: StrainTensorNet (one-hot input), with the bond-strain energy (alone, and
    first-shell with bending and volume terms), with the atom stiffness energy, Fig. 6(a) (no one-hot), and an ensemble of two StrainTensorNets."""
    torch.manual_seed(0)
    models = {
        "straintensornet": tiny_model(),
        "straintensornet-bond": tiny_model(bond_energy=True),
        "straintensornet-bond-angle-volume": tiny_model(
            bond_energy=True, bond_shell=1.15, bond_angles=True, volume_energy=True
        ),
        "straintensornet-atom-stiffness": tiny_model(atom_stiffness=True),
        "fig6a": tiny_model("fig6a"),
        "ensemble": ElasticPredictor.committee([tiny_model(), tiny_model()]),
    }
    return {name: model.double().eval() for name, model in models.items()}


@pytest.mark.parametrize(
    "network",
    [
        "straintensornet",
        "straintensornet-bond",
        "straintensornet-bond-angle-volume",
        "straintensornet-atom-stiffness",
        "fig6a",
        "ensemble",
    ],
)
@pytest.mark.parametrize("name", SYSTEMS)
def test_class_representatives_give_the_u_of_all_21_states(invariant_models, name: str, network: str) -> None:
    """Strained cells of one structure class are the same crystal rotated: the invariant encoder runs on one graph
    per class and the heads on every pair's one-hot, which gives the U, DCV and members' U of all 21 graphs (float
    round-off) with fewer graphs."""
    model = invariant_models[network]
    structure = _crystal(name)
    assert model.class_representatives  # the default
    shortcut = model.predict_structure(structure, symmetrize=False)
    _, graphs, labels = model.strained_graphs(structure)
    model.class_representatives = False
    try:
        full = model.predict_structure(structure, symmetrize=False)
        assert len(model.strained_graphs(structure)[1]) == N_PAIRS
    finally:
        model.class_representatives = True
    assert len(graphs) == len(set(labels.tolist())) <= N_PAIRS
    assert sum(int(g.num_readouts) for g in graphs) == N_PAIRS
    scale = np.abs(full.sed).max()
    np.testing.assert_allclose(shortcut.sed, full.sed, rtol=1e-6, atol=1e-9 * scale)
    if full.dcv is not None:
        np.testing.assert_allclose(shortcut.dcv, full.dcv, atol=1e-9)
    if full.elastic_tensor_std is not None:
        np.testing.assert_allclose(shortcut.elastic_tensor_std, full.elastic_tensor_std, atol=1e-6)
    if name == "cubic":
        assert len(graphs) == 6


def test_class_readouts_need_a_model_that_reads_them() -> None:
    """Fig. 6(b, c) read each graph's own true DCV: their predictor builds all 21 graphs, and asking for one graph
    per class, or passing class readouts to them, is an error that says why."""
    model = tiny_model("fig6b").eval()
    assert not model.class_representatives
    assert len(model.strained_graphs(rocksalt())[1]) == N_PAIRS
    with pytest.raises(ValueError, match="own DCV"):
        model.class_representatives = True
    graphs = tiny_model().eval().strained_graphs(rocksalt())[1]
    with pytest.raises(ValueError, match="class readouts"):
        model(Batch.from_data_list(graphs))


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


def _with_magmoms(structure: Structure, magmoms: list) -> Structure:
    structure = structure.copy()
    structure.add_site_property("magmom", magmoms)
    return structure


@pytest.mark.parametrize(
    ("bad", "error", "words"),
    [
        (
            Structure(Lattice.cubic(3.35), ["Po"], [[0, 0, 0]]),
            "UnsupportedElementError",
            "['Po'] are not in the model's",
        ),
        (Structure(Lattice.cubic(5.15), ["Ra", "Ra"], [[0, 0, 0], [0.5] * 3]), "UnsupportedElementError", "['Ra']"),
        (Structure(Lattice.cubic(4.4), ["Rn", "Na"], [[0, 0, 0], [0.5] * 3]), "UnsupportedElementError", "['Rn']"),
        (_with_magmoms(rocksalt(), ["up", "down"]), "InvalidSitePropertyError", "Site 0 has the magnetic moment"),
        (
            _with_magmoms(rocksalt(), [1.0, None]),
            "InvalidSitePropertyError",
            "Site 1 has the magnetic moment (site property 'magmom') None",
        ),
        (_with_magmoms(rocksalt(), [[0, 0, 1], [0, 1]]), "InvalidSitePropertyError", "Site 1"),
        (_with_magmoms(rocksalt(), [1.0, [0, 0, 1]]), "InvalidSitePropertyError", "mix numbers and three-vectors"),
        (_with_magmoms(rocksalt(), [float("nan"), 0.0]), "InvalidSitePropertyError", "not a finite number"),
    ],
)
def test_skip_keeps_going_past_unlisted_elements_and_bad_magnetic_moments(bad, error, words) -> None:
    model = tiny_model().eval()
    results = model.predict_structures([rocksalt(), bad, rocksalt()], errors="skip", materials_per_batch=3)
    assert [type(r).__name__ for r in results] == ["ElasticPrediction", error, "ElasticPrediction"]
    assert isinstance(results[1], StructureInputError) and words in str(results[1])
    with pytest.raises(StructureInputError, match=re.escape(words)):
        model.predict_structure(bad)


@pytest.mark.parametrize("magmoms", [[1.5, -1.5], [[0, 0, 1.0], [0, 0, -1.0]], [2, 0]])
def test_numeric_magnetic_moments_are_accepted(magmoms) -> None:
    assert isinstance(tiny_model().eval().predict_structure(_with_magmoms(rocksalt(), magmoms)), ElasticPrediction)


@pytest.mark.parametrize("materials_per_batch", [0, -1])
def test_materials_per_batch_below_one_is_refused(materials_per_batch) -> None:
    with pytest.raises(ValueError, match="materials_per_batch must be at least 1"):
        tiny_model().eval().predict_structures([rocksalt()], materials_per_batch=materials_per_batch)


def test_projected_edge_strain_is_invariant_under_a_joint_rotation() -> None:
    from stn_plugin.models.encoder import projected_edge_strain
    from stn_plugin.physics.voigt import voigt_strain_matrices

    rng = np.random.default_rng(0)
    vectors = torch.as_tensor(rng.normal(size=(50, 3)))
    strains = torch.tensor(voigt_strain_matrices(1.0))[torch.as_tensor(rng.integers(0, N_PAIRS, 50))]
    Q = o3.rand_matrix(dtype=torch.float64)  # orthogonal to float64 round-off
    p = projected_edge_strain(vectors, strains)
    p_rotated = projected_edge_strain(vectors @ Q.T, Q @ strains @ Q.T)
    torch.testing.assert_close(p, p_rotated)
    # it changes with the strain's direction relative to the bond: xx strain on an x and a y bond
    xx = strains.new_tensor(voigt_strain_matrices(1.0)[0]).expand(2, 3, 3)
    torch.testing.assert_close(
        projected_edge_strain(torch.eye(3, dtype=torch.float64)[:2], xx), torch.tensor([1.0, 0.0], dtype=torch.float64)
    )


def test_ase_atoms_predict_as_their_pymatgen_structure_in_their_own_frame() -> None:
    """An ASE Atoms is the same crystal in the same Cartesian frame: the same tensor as its pymatgen structure, also
    rotated; anything else, or an Atoms without periodicity, is a typed error that ``errors="skip"`` keeps in
    place while the others are predicted."""
    from pymatgen.core import Molecule
    from pymatgen.io.ase import AseAtomsAdaptor
    from scipy.spatial.transform import Rotation

    from stn_plugin.structure import NotACrystalError
    from tests.graph_fixtures import rotated

    model = tiny_model().double().eval()
    crystal = rotated(_crystal("hexagonal"), Rotation.random(random_state=11).as_matrix())
    atoms = AseAtomsAdaptor.get_atoms(crystal)
    from_ase, from_pymatgen = model.predict_structures([atoms, crystal], symmetrize=True)
    np.testing.assert_allclose(from_ase.elastic_tensor.voigt, from_pymatgen.elastic_tensor.voigt, atol=1e-9)
    assert isinstance(from_ase.structure, Structure) and from_ase.acoustic_properties().reason in (
        None,
        from_pymatgen.acoustic_properties().reason,
    )
    molecule = Molecule(["C", "O"], [[0, 0, 0], [0, 0, 1.13]])
    slab = atoms.copy()
    slab.pbc = [True, True, False]
    results = model.predict_structures([molecule, crystal, slab, "Si.cif"], errors="skip")
    assert [type(r).__name__ for r in results] == ["NotACrystalError", "ElasticPrediction"] + ["NotACrystalError"] * 2
    assert (
        "got Molecule" in str(results[0])
        and "pbc=[True, True, False]" in str(results[2])
        and "got str" in str(results[3])
    )
    with pytest.raises(NotACrystalError, match="pymatgen Structure or an ASE Atoms"):
        model.predict_structure(molecule)
