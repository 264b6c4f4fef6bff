"""Canonical frame: graphs (edge vectors, lattice) do not depend on the input's orientation or cell."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from pymatgen.core import Structure
from scipy.spatial import cKDTree
from scipy.spatial.transform import Rotation

from stn_plugin.graph import CellRadiusSphereEdges, StrainedGraphConverter
from stn_plugin.physics.symmetry import point_group_operations
from stn_plugin.structure import canonicalize
from tests.graph_fixtures import SYSTEM_EXAMPLES, bundled_structures, rotated, triclinic

torch.set_num_threads(1)


def _examples() -> list[tuple[str, Structure]]:
    structures = bundled_structures()
    return [(name, structures[mid]) for name, mid in SYSTEM_EXAMPLES.items()] + [("triclinic", triclinic())]


EXAMPLES = _examples()
IDS = [name for name, _ in EXAMPLES]


def _same_vector_multiset(a: np.ndarray, b: np.ndarray, tol: float = 1e-4) -> bool:
    if a.shape != b.shape:
        return False
    # vectors repeat (e.g. the self-image edges of different atoms), so check nearest matches both ways
    return bool(np.all(cKDTree(b).query(a)[0] < tol) and np.all(cKDTree(a).query(b)[0] < tol))


@pytest.mark.parametrize(("name", "structure"), EXAMPLES, ids=IDS)
def test_canonical_cell_is_the_input_crystal_in_the_input_frame(name: str, structure: Structure) -> None:
    rotation = Rotation.random(random_state=7).as_matrix()
    user = rotated(structure, rotation)
    cell = canonicalize(user)
    np.testing.assert_allclose(cell.rotation @ cell.rotation.T, np.eye(3), atol=1e-10)
    mine = Structure(
        cell.structure.lattice.matrix @ cell.rotation.T, cell.structure.species, cell.structure.frac_coords
    )
    # every atom of the rotated-back conventional cell sits on an atom of the input (up to one translation)
    frac = mine.cart_coords @ np.linalg.inv(user.lattice.matrix)
    species_mine, species_user = np.array(mine.atomic_numbers), np.array(user.atomic_numbers)
    matched = False
    for j in np.flatnonzero(species_user == species_mine[0]):
        dist = user.lattice.get_all_distances(frac + user.frac_coords[j] - frac[0], user.frac_coords)
        dist[species_mine[:, None] != species_user[None, :]] = np.inf
        matched = matched or bool(np.all(dist.min(axis=1) < 0.05))
    assert matched
    assert mine.volume / len(mine) == pytest.approx(user.volume / len(user), rel=1e-2)


@pytest.mark.parametrize(("name", "structure"), EXAMPLES, ids=IDS)
def test_graphs_are_the_same_for_every_orientation_and_cell(name: str, structure: Structure) -> None:
    """Graphs live in the canonical frame: the same edge vectors and lattice (round-off) for the structure as
    given, a supercell, its primitive and conventional cells and rotated copies; R maps canonical to user."""
    converter = StrainedGraphConverter(edges="cell_radius_sphere")
    graph, lattice, _ = converter.get_graph(structure)
    reference = graph.edge_vec.numpy().astype(float)
    variants = {
        "supercell": structure.make_supercell([[1, 1, 0], [0, 1, 0], [0, 0, 2]], in_place=False),
        "primitive": structure.get_primitive_structure(),
        "conventional": canonicalize(structure).structure,
        **{f"rotated {seed}": rotated(structure, Rotation.random(random_state=seed).as_matrix()) for seed in range(2)},
    }
    for label, variant in variants.items():
        other, other_lattice, _ = converter.get_graph(variant)
        assert _same_vector_multiset(other.edge_vec.numpy().astype(float), reference), label
        np.testing.assert_allclose(other_lattice.numpy(), lattice.numpy(), atol=1e-6, err_msg=label)
    for seed in range(2):
        rotation = Rotation.random(random_state=seed).as_matrix()
        material = converter.prepare(rotated(structure, rotation))
        # the canonical cell rotated by R is the user's crystal: R = rotation @ R_original up to an operation g
        ops = point_group_operations(material.structure())
        original = converter.prepare(structure).rotation
        assert any(np.allclose(material.rotation, rotation @ original @ g, atol=1e-6) for g in ops)


def test_structure_in_standard_orientation_keeps_its_frame() -> None:
    structure = canonicalize(bundled_structures()[SYSTEM_EXAMPLES["hexagonal"]]).structure
    np.testing.assert_allclose(canonicalize(structure).rotation, np.eye(3), atol=1e-8)


def test_cell_radius_edges_of_the_cell_as_given_depend_on_orientation() -> None:
    """Why graphs are built on the canonical cell: the axis-aligned box picks other edges in another frame."""
    structure = bundled_structures()[SYSTEM_EXAMPLES["hexagonal"]]
    strategy = CellRadiusSphereEdges()
    assert strategy.frame_dependent
    counts = {len(strategy(rotated(structure, Rotation.random(random_state=s).as_matrix()))) for s in range(4)}
    assert len(counts) > 1


@pytest.mark.parametrize("name", [*SYSTEM_EXAMPLES, "triclinic", "supercell", "rotated"])
def test_refined_structure_from_the_dataset_equals_spglib_refine_cell(name: str) -> None:
    """canonicalize reads the refined cell from the symmetry dataset instead of re-running refine_cell: same cell."""
    from pymatgen.symmetry.analyzer import SpacegroupAnalyzer

    from stn_plugin.structure.canonical import _DatasetRefinement

    cubic = bundled_structures()[SYSTEM_EXAMPLES["cubic"]]
    match name:
        case "triclinic":
            structure = triclinic()
        case "supercell":
            structure = cubic * (1, 2, 1)
        case "rotated":
            structure = rotated(cubic, Rotation.random(random_state=3).as_matrix())
        case _:
            structure = bundled_structures()[SYSTEM_EXAMPLES[name]]
    ours = _DatasetRefinement(structure, 0.01, 5.0).get_refined_structure()
    reference = SpacegroupAnalyzer(structure, symprec=0.01, angle_tolerance=5.0).get_refined_structure()
    np.testing.assert_array_equal(ours.lattice.matrix, reference.lattice.matrix)
    np.testing.assert_array_equal(ours.frac_coords, reference.frac_coords)
    assert ours.atomic_numbers == reference.atomic_numbers


def _same_operations(a: np.ndarray, b: np.ndarray) -> bool:
    return len(a) == len(b) and all(np.abs(b - op).max(axis=(1, 2)).min() < 1e-6 for op in a)


@pytest.mark.parametrize("material_id", ["mp-10390", "mp-23262", "mp-13363"])
@pytest.mark.parametrize("cell", ["as given", "rotated", "supercell"])
def test_canonical_cell_keeps_the_symmetry_of_a_pseudo_symmetric_lattice(material_id: str, cell: str) -> None:
    """Monoclinic crystals whose lattice is within spglib's loose tolerance of a higher one (Ta2O5, Bi2O3, Pt3Si):
    the canonical cell is still the crystal with its whole point group (turning the atoms by a nearly-symmetry of
    the lattice inside the same lattice made a P-1, Pc or Pm cell of them), and the point group stored with it,
    from spglib's tables, is the one spglib finds in the canonical cell, also for a supercell input."""
    from pymatgen.symmetry.analyzer import SpacegroupAnalyzer

    structure = bundled_structures()[material_id]
    given = {
        "as given": structure,
        "rotated": rotated(structure, Rotation.random(random_state=11).as_matrix()),
        "supercell": structure * (1, 2, 1),
    }[cell]
    canonical = canonicalize(given)
    symbol = SpacegroupAnalyzer(structure, symprec=0.1).get_space_group_symbol()
    assert SpacegroupAnalyzer(canonical.structure, symprec=1e-3).get_space_group_symbol() == symbol
    assert len(canonical.point_group) == 4
    assert _same_operations(canonical.point_group, point_group_operations(canonical.structure, symprec=1e-3))


def test_canonical_cells_of_p_lattices_are_primitive_and_the_others_are_not() -> None:
    """``CanonicalCell.primitive`` (the space-group symbol starts with P) lets graph building skip the primitive-cell
    search: it holds exactly for the cells that the search would not reduce (60 bundled crystals, both kinds)."""
    from stn_plugin.structure.canonical import primitive_cell

    structures = list(bundled_structures().values())[:60]
    flags = []
    for structure in structures:
        cell = canonicalize(structure)
        assert cell.primitive == (len(primitive_cell(cell.structure)) == len(cell.structure)), structure.formula
        flags.append(cell.primitive)
    assert 0 < sum(flags) < len(flags)


def test_primitive_cell_is_pymatgens_primitive_lattice_in_the_same_frame() -> None:
    """``primitive_cell`` (translations of the atoms, a cell of 1/n the volume) gives the lattice of pymatgen's
    ``get_primitive_structure`` (a unimodular change of basis, same Cartesian frame), the same atoms and the same
    neighbour distances, for the centred canonical cells of bundled crystals of every centring (F, I, A/B/C, R) and
    for a supercell, which takes pymatgen's search."""
    from pymatgen.symmetry.analyzer import SpacegroupAnalyzer

    from stn_plugin.structure.canonical import primitive_cell

    cells = {}
    for structure in bundled_structures().values():
        cell = canonicalize(structure)
        symbol = SpacegroupAnalyzer(cell.structure, symprec=1e-3).get_space_group_symbol()
        if not cell.primitive and symbol[0] not in cells:
            cells[symbol[0]] = cell.structure
    assert set(cells) >= {"F", "I", "R"} and set(cells) & {"A", "B", "C"}, sorted(cells)
    cells["supercell"] = cells["F"] * (2, 1, 1)
    for name, conventional in cells.items():
        reference = conventional.get_primitive_structure(tolerance=0.01)
        primitive = primitive_cell(conventional)
        assert len(primitive) == len(reference) < len(conventional), name
        assert sorted(primitive.atomic_numbers) == sorted(reference.atomic_numbers), name
        change = primitive.lattice.matrix @ np.linalg.inv(reference.lattice.matrix)
        np.testing.assert_allclose(change, np.round(change), atol=1e-9, err_msg=name)
        assert abs(abs(np.linalg.det(change)) - 1.0) < 1e-9, name
        distances = [np.sort(s.get_neighbor_list(5.0)[3]) for s in (primitive, reference)]
        np.testing.assert_allclose(*distances, atol=1e-8, err_msg=name)
