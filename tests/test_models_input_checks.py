"""Bad structures get typed errors that name the problem and the fix; valid unusual cells and supercells pass."""

from __future__ import annotations

import gzip
import json
from importlib.resources import files

import numpy as np
import pytest
import torch
from pymatgen.core import Lattice, Molecule, Structure
from pymatgen.core.surface import SlabGenerator

from stn_plugin.graph import StrainedGraphConverter, periodic_dimensions
from stn_plugin.graph.checks import VACUUM_GAP, vacuum_dimensions
from stn_plugin.structure.checks import (
    DisorderedStructureError,
    InvalidLatticeError,
    IsolatedAtomsError,
    NotBulkCrystalError,
    OverlappingAtomsError,
    StructureInputError,
    StructureTooLargeError,
    UnsupportedElementError,
)

from .test_models_straintensornet import tiny_model

torch.set_num_threads(1)


def rocksalt(primitive: bool = True) -> Structure:
    conventional = Structure.from_spacegroup("Fm-3m", Lattice.cubic(5.64), ["Na", "Cl"], [[0, 0, 0], [0.5, 0.5, 0.5]])
    return conventional.get_primitive_structure() if primitive else conventional


def silicon() -> Structure:
    """Conventional 8-atom diamond-structure Si."""
    return Structure.from_spacegroup("Fd-3m", Lattice.cubic(5.43), ["Si"], [[0, 0, 0]])


def distorted(structure: Structure, seed: int = 0, step: float = 0.15) -> Structure:
    """``structure`` with every atom moved ``step`` Angstrom in a random direction (0.15: no symmetry at the
    default tolerance of 0.1 Angstrom)."""
    steps = np.random.default_rng(seed).normal(size=(len(structure), 3))
    steps *= step / np.linalg.norm(steps, axis=1, keepdims=True)
    return Structure(structure.lattice, structure.species, structure.cart_coords + steps, coords_are_cartesian=True)


def _no_graphs(*args, **kwargs):
    raise AssertionError("the strained graphs were built before the size check")


@pytest.fixture(scope="module")
def model() -> torch.nn.Module:
    torch.manual_seed(0)
    return tiny_model().eval()


@pytest.mark.parametrize(
    ("structure", "error", "words"),
    [
        (
            Structure(Lattice.cubic(4.0), [{"Fe": 0.5, "Ni": 0.5}], [[0, 0, 0]]),
            DisorderedStructureError,
            "partial occupancies",
        ),
        (
            Structure(Lattice.cubic(4.0), ["Na", "Cl"], [[0, 0, 0], [0.05, 0, 0]]),
            OverlappingAtomsError,
            "0.200 Angstrom",
        ),
        (
            Structure(Lattice([[4, 0, 0], [0, 4, 0], [4, 4, 0]]), ["Na"], [[0, 0, 0]]),
            InvalidLatticeError,
            "zero volume",
        ),
        (Structure(Lattice.cubic(4.0), ["Og"], [[0, 0, 0]]), UnsupportedElementError, "Og"),
        (Structure(Lattice.cubic(4.0), ["Ar"], [[0, 0, 0]]), UnsupportedElementError, "Ar"),
        (Structure(Lattice.cubic(20.0), ["Na"], [[0, 0, 0]]), IsolatedAtomsError, "no neighbour"),
        (
            Molecule(["N", "N"], [[0, 0, 0], [0, 0, 1.1]]).get_boxed_structure(15, 15, 15),
            NotBulkCrystalError,
            "a molecule or cluster surrounded by vacuum",
        ),
        (
            Structure(Lattice([[2.5, 0, 0], [0, 15, 0], [0, 0, 15]]), ["Cu"], [[0, 0, 0]]),
            NotBulkCrystalError,
            "a chain surrounded by vacuum",
        ),
        (
            SlabGenerator(rocksalt(primitive=False), (0, 0, 1), 6, 15, center_slab=True).get_slab(),
            NotBulkCrystalError,
            "connect along only 2 of the 3 lattice directions",
        ),
    ],
    ids=[
        "disordered",
        "overlap",
        "collapsed",
        "beyond-embedding",
        "no-features",
        "atom-in-vacuum",
        "molecule",
        "chain",
        "slab",
    ],
)
def test_bad_structures_raise_typed_errors_with_a_fix(model, structure: Structure, error: type, words: str) -> None:
    with pytest.raises(error, match=words) as info:
        model.predict_structure(structure)
    assert isinstance(info.value, StructureInputError) and "Fix:" in str(info.value)


def test_nan_lattice_is_rejected(model) -> None:
    s = rocksalt()
    broken = Structure(Lattice(np.where(np.eye(3, dtype=bool), np.nan, s.lattice.matrix)), s.species, s.frac_coords)
    with pytest.raises(InvalidLatticeError, match="NaN"):
        model.predict_structure(broken)


def test_left_handed_and_non_reduced_cells_are_valid_crystals(model) -> None:
    s = rocksalt()
    reference = model.predict_structure(s).moduli["bulk_voigt"]
    a, b, c = s.lattice.matrix
    left = Structure(Lattice([b, a, c]), s.species, s.frac_coords[:, [1, 0, 2]])
    assert np.linalg.det(left.lattice.matrix) < 0
    skewed = Structure(Lattice([a, b + a, c + a + b]), s.species, s.cart_coords, coords_are_cartesian=True)
    for cell in (left, skewed):
        assert model.predict_structure(cell).moduli["bulk_voigt"] == pytest.approx(reference, rel=1e-4)


def test_supercell_of_500_plus_atoms_predicts_like_the_primitive_cell(model) -> None:
    """Graphs are built on the conventional standard cell, so a 512-atom supercell is reduced automatically."""
    primitive = silicon().get_primitive_structure()
    supercell = silicon() * (4, 4, 4)
    assert len(supercell) == 512
    expected = model.predict_structure(primitive).elastic_tensor.voigt
    actual = model.predict_structure(supercell).elastic_tensor.voigt
    # float32 round-off: the two inputs' rotations to the standard cell differ by ~1e-16
    np.testing.assert_allclose(actual, expected, rtol=0, atol=1e-6 * np.abs(expected).max())


def test_too_many_atoms_is_refused_before_any_graph(model, monkeypatch) -> None:
    monkeypatch.setattr(StrainedGraphConverter, "prepare", _no_graphs)
    with pytest.raises(
        StructureTooLargeError, match="standard cell at a tolerance of 0.1 Angstrom has 512 atoms"
    ) as info:
        model.predict_structure(distorted(silicon() * (4, 4, 4)))
    assert "get_primitive_structure()" in info.value.fix and "max_atoms=N" in info.value.fix
    huge = silicon() * (7, 7, 6)
    with pytest.raises(StructureTooLargeError, match="2352 atoms; inputs of more than 2000 atoms are refused") as info:
        model.predict_structure(huge)
    assert "get_primitive_structure()" in info.value.fix
    with pytest.raises(StructureTooLargeError, match="has 8 atoms .* more than the limit of 4"):
        model.predict_structure(silicon(), max_atoms=4)


def test_edge_cap_is_checked_before_the_strained_graphs(model, monkeypatch) -> None:
    monkeypatch.setattr(StrainedGraphConverter, "strained_graphs", _no_graphs)
    # graphs on the primitive cell of the canonical cell: 2 atoms of Si, not the 8 of the conventional cell
    with pytest.raises(StructureTooLargeError, match=r"would have 32 edges \(16 per atom over 2 atoms, radius 4.0"):
        model.predict_structure(silicon(), max_edges=30)
    # a 216-atom cell without symmetry under the paper's cell-radius edges exceeds the default cap of 60,000
    paper_edges = tiny_model(edge_strategy="cell_radius_sphere", edge_cutoff=12.0, radial_cutoff=13.0).eval()
    with pytest.raises(StructureTooLargeError, match="more than the limit of 60000") as info:
        paper_edges.predict_structure(distorted(rocksalt(primitive=False) * (3, 3, 3)))
    assert "max_edges=N" in info.value.fix and "--max-edges N" in info.value.fix


def layered_crystal(c: float) -> Structure:
    """Square MoS layers (a = 3 Angstrom, Mo-S 2 Angstrom along z) stacked with period c: a gap of c - 2 Angstrom."""
    return Structure(Lattice.tetragonal(3.0, c), ["Mo", "S"], [[0, 0, 0], [0, 0, 2.0 / c]])


def test_bridging_edges_couple_the_layers_of_a_layered_crystal() -> None:
    torch.manual_seed(0)
    bridging = tiny_model(edge_bridge_cutoff=8.5, radial_cutoff=8.75).eval()  # radius 4 Angstrom, bridges to 8.5
    layered = layered_crystal(8.0)  # 6 Angstrom gap between the layers
    C = bridging.predict_structure(layered).elastic_tensor.voigt
    assert C.shape == (6, 6) and np.all(np.isfinite(C)) and np.abs(C).max() > 0
    lengths = np.linalg.norm(bridging.converter.prepare(layered).edge_vectors(), axis=1)
    np.testing.assert_allclose(np.sort(lengths[lengths > 4.0 + 1e-6]), [6.0, 6.0])  # S -> Mo across the gap and back


def test_a_gap_below_the_vacuum_gap_is_bulk_whatever_the_edges_reach(model) -> None:
    """Layers 6, 8 and 9.9 Angstrom apart are bulk crystals, predicted with their layers uncoupled in the graph when
    the edges do not reach across; 10 Angstrom of vacuum is a slab for every model."""
    torch.manual_seed(0)
    bridging = tiny_model(edge_bridge_cutoff=8.5, radial_cutoff=8.75).eval()
    for predictor, c in ((model, 8.0), (model, 10.0), (model, 11.9), (bridging, 11.9)):
        crystal = layered_crystal(c)
        assert periodic_dimensions(predictor.converter.prepare(crystal).edges, 2) == 2  # no edge across the gap
        C = predictor.predict_structure(crystal).elastic_tensor.voigt
        assert np.all(np.isfinite(C)) and np.abs(C).max() > 0
    slab = SlabGenerator(rocksalt(primitive=False), (0, 0, 1), 6, 10, center_slab=True).get_slab()
    for vacuum, words in ((layered_crystal(12.0), "slab or isolated layer"), (slab, "2 of the 3 lattice directions")):
        for predictor in (model, bridging):
            with pytest.raises(NotBulkCrystalError, match=words) as info:
                predictor.predict_structure(vacuum)
            assert "atoms less than 10 Angstrom apart" in str(info.value)


def test_vacuum_dimensions_count_the_directions_atoms_connect_along_below_the_gap() -> None:
    assert VACUUM_GAP == 10.0
    chain = Structure(Lattice([[2.5, 0, 0], [0, 12, 0], [0, 0, 9]]), ["Cu"], [[0, 0, 0]])  # chains 12 and 9 apart
    molecule = Molecule(["N", "N"], [[0, 0, 0], [0, 0, 1.1]]).get_boxed_structure(12, 12, 12)  # 10.9 along z
    sparse = Structure(Lattice.cubic(9.9), ["Na"], [[0, 0, 0]])  # one atom per 9.9 Angstrom cube: bulk
    cases = [(layered_crystal(11.9), 3), (layered_crystal(12.0), 2), (chain, 2), (molecule, 0), (sparse, 3)]
    for structure, dimensions in cases:
        assert vacuum_dimensions(structure) == dimensions
    assert vacuum_dimensions(chain, gap=9.0) == 1 and vacuum_dimensions(molecule, gap=15.0) == 3
    skewed = layered_crystal(12.0).copy()  # another cell of the same slab: a + c, b, c
    a, b, c = skewed.lattice.matrix
    skewed = Structure(Lattice([a + c, b, c]), skewed.species, skewed.cart_coords, coords_are_cartesian=True)
    assert vacuum_dimensions(skewed * (1, 2, 1)) == 2


PBE_SEPARATED_BINARIES: dict[str, bool] = {
    "mp-20560": True,  # CeS, closest atoms across the gap 7.6 Angstrom apart
    "mp-1879": True,  # SmS, 7.4
    "mp-849060": True,  # VS2, 8.5
    "mp-8781": True,  # SnS, 8.7
    "mp-568347": True,  # NbSe2, 9.2
    "mp-1874": False,  # NbS2, 11.7
    "mp-995181": False,  # SnGe, 12.1
    "mp-1028698": False,  # WSe2, 14.3
    "mp-1025874": False,  # MoS2, 14.3: three layers and 14.3 Angstrom of vacuum in a 32 Angstrom cell
    "mp-1025799": False,  # MoSe2, 14.4
    "mp-1023934": False,  # MoSe2, 14.4
    "mp-1023939": False,  # MoS2, 14.4
    "mp-554134": False,  # SnS, 20.1
}
"""The bundled Materials Project 2025 binaries whose layers lie farther apart than the shipped model's edges bridge
(6.5 Angstrom; PBE does not bind the layers), and whether they are bulk at VACUUM_GAP (DFT C33 of all: 0-2 GPa)."""


def test_bundled_layered_binaries_are_bulk_below_the_vacuum_gap(model) -> None:
    path = files("stn_plugin.data").joinpath("files/mp2025_binary_moduli.jsonl.gz")
    with gzip.open(str(path), "rt") as lines:
        records = [r for r in map(json.loads, lines) if r["material_id"] in PBE_SEPARATED_BINARIES]
    structures = {r["material_id"]: Structure.from_dict(r["structure"]) for r in records}
    assert set(structures) == set(PBE_SEPARATED_BINARIES)
    for material_id, structure in structures.items():
        assert vacuum_dimensions(structure) == (3 if PBE_SEPARATED_BINARIES[material_id] else 2), material_id
    assert np.all(np.isfinite(model.predict_structure(structures["mp-568347"]).elastic_tensor.voigt))
    with pytest.raises(NotBulkCrystalError, match="slab or isolated layer"):
        model.predict_structure(structures["mp-1025874"])
