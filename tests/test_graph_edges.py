"""Edge strategies: exact edge vectors, symmetric multigraphs, layered structures."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from pymatgen.core import Lattice, Structure

from stn_plugin.graph import (
    CellRadiusEdges,
    CellRadiusSphereEdges,
    EdgeList,
    PreparedMaterial,
    RadiusEdges,
    StrainedGraphConverter,
    get_edge_strategy,
    periodic_dimensions,
)
from tests.graph_fixtures import graphite

torch.set_num_threads(1)

TWO_ATOMS = Structure(
    Lattice([[4.0, 0.0, 0.0], [1.0, 5.0, 0.0], [0.0, 0.0, 6.0]]),
    ["Na", "Cl"],
    [[0.1, 0.2, 0.3], [0.6, 0.4, 0.5]],
)


def _edge_rows(edges: EdgeList) -> np.ndarray:
    return np.column_stack([edges.src, edges.dst, edges.images])


def _find(edges: EdgeList, src: int, dst: int, image: tuple[int, int, int]) -> int:
    rows = _edge_rows(edges)
    hits = np.flatnonzero((rows == np.array([src, dst, *image])).all(axis=1))
    assert len(hits) == 1, f"edge {src}->{dst} {image} found {len(hits)} times"
    return int(hits[0])


@pytest.mark.parametrize("name", ["cell_radius", "radius"])
def test_two_atom_edge_vector_is_neighbour_image_minus_centre(name: str) -> None:
    """The edges of the cell as given (not the canonical cell: the positions below are known), and the converter's
    strained graph of them."""
    strategy = get_edge_strategy("radius", cutoff=8.0) if name == "radius" else get_edge_strategy(name)
    converter = StrainedGraphConverter(edges=strategy)
    material = PreparedMaterial(
        lattice=TWO_ATOMS.lattice.matrix,
        atomic_numbers=np.asarray(TWO_ATOMS.atomic_numbers),
        frac_coords=TWO_ATOMS.frac_coords,
        edges=strategy(TWO_ATOMS),
        rotation=np.eye(3),
        point_group=np.eye(3)[None],
    )
    vectors = material.edge_vectors()
    # Cl (1) seen from Na (0), same cell: df = (0.5, 0.2, 0.2) -> (0.5*4 + 0.2*1, 0.2*5, 0.2*6)
    k = _find(material.edges, 1, 0, (0, 0, 0))
    np.testing.assert_allclose(vectors[k], [2.2, 1.0, 1.2], atol=1e-6)
    # image (1, 0, -1): df = (1.5, 0.2, -0.8) -> (6.2, 1.0, -4.8); the authors' bug gives n @ L = (4, 0, -6)
    if name == "radius":
        k = _find(material.edges, 1, 0, (1, 0, -1))
        np.testing.assert_allclose(vectors[k], [6.2, 1.0, -4.8], atol=1e-6)
    # the reverse edge carries the opposite vector
    k = _find(material.edges, 0, 1, (0, 0, 0))
    np.testing.assert_allclose(vectors[k], [-2.2, -1.0, -1.2], atol=1e-6)
    # every edge: neighbour image minus centre in Cartesian coordinates
    cart = TWO_ATOMS.cart_coords
    expected = cart[material.edges.src] + material.edges.images @ TWO_ATOMS.lattice.matrix - cart[material.edges.dst]
    np.testing.assert_allclose(vectors, expected, atol=1e-5)
    # the converter's graph of strain 11 (eps_xx = 0.02): the same edges, x components scaled by 1.02
    strained = converter.strained_graphs(material, dcv=np.eye(21))[0]
    np.testing.assert_array_equal(strained.edge_index.numpy(), np.stack([material.edges.src, material.edges.dst]))
    np.testing.assert_allclose(strained.edge_vec.numpy(), vectors * [1.02, 1.0, 1.0], atol=1e-5)


@pytest.mark.parametrize("strategy", [CellRadiusEdges(), RadiusEdges()])
def test_edges_are_symmetric_multigraph_without_zero_self_pair(strategy) -> None:
    structure = Structure(Lattice.cubic(3.0), ["Fe", "Al"], [[0, 0, 0], [0.5, 0.5, 0.5]])
    edges = strategy(structure)
    rows = _edge_rows(edges)
    reverse = np.column_stack([edges.dst, edges.src, -edges.images])
    assert {tuple(r) for r in rows} == {tuple(r) for r in reverse}
    assert len({tuple(r) for r in rows}) == len(rows)
    lengths = np.linalg.norm(edges.vectors(structure.frac_coords, structure.lattice.matrix), axis=1)
    assert lengths.min() > 1.0
    assert np.any(edges.src == edges.dst)  # edges to an atom's own periodic images
    pairs = rows[:, :2]
    assert len(np.unique(pairs, axis=0)) < len(pairs)  # multi-edges


# A hand-made triclinic two-atom cell; column sums of |L|: x 3 + 1 + 0.5 = 4.5, y 3.5 + 1 = 4.5, z 4 (below the
# cap s = 4.5): with delta = 0.5 the box half-widths are h = (5.0, 5.0, 4.5) Angstrom.
SKEWED = Structure(
    Lattice([[3.0, 0.0, 0.0], [1.0, 3.5, 0.0], [-0.5, 1.0, 4.0]]),
    ["Na", "Cl"],
    [[0.0, 0.0, 0.0], [0.4, 0.3, 0.6]],
)
SKEWED_H = np.array([5.0, 5.0, 4.5])


def _brute_force_images(structure: Structure, h: np.ndarray, sphere: float | None) -> set[tuple[int, ...]]:
    """Every (neighbour, centre, image) with all |dr_b| <= h_b (and |dr| <= sphere), images |n_k| <= 6 enumerated."""
    frac, lattice = structure.frac_coords, structure.lattice.matrix
    kept = set()
    for n in np.ndindex(13, 13, 13):
        image = np.array(n) - 6
        for centre in range(len(structure)):
            for neighbour in range(len(structure)):
                dr = (frac[neighbour] + image - frac[centre]) @ lattice
                inside = np.all(np.abs(dr) <= h + 1e-9) and (sphere is None or np.linalg.norm(dr) <= sphere + 1e-9)
                if inside and np.linalg.norm(dr) > 1e-9:
                    kept.add((neighbour, centre, *image.tolist()))
    return kept


@pytest.mark.parametrize(("strategy", "sphere"), [(CellRadiusEdges(s=4.5), None), (CellRadiusSphereEdges(s=4.5), 5.0)])
def test_cell_radius_rules_match_a_brute_force_enumeration_of_images(strategy, sphere) -> None:
    expected = _brute_force_images(SKEWED, SKEWED_H, sphere)
    edges = strategy(SKEWED)
    rows = [tuple(r) for r in _edge_rows(edges).tolist()]
    assert len(rows) == len(set(rows)) == len(expected)
    assert set(rows) == expected
    np.testing.assert_allclose(strategy.half_widths(SKEWED.lattice.matrix), SKEWED_H)


def test_the_box_alone_keeps_the_corners_the_sphere_cuts_off() -> None:
    box, sphere = (_brute_force_images(SKEWED, SKEWED_H, s) for s in (None, 5.0))
    assert sphere < box  # the enumeration above is not vacuous: the corner images differ
    assert len(CellRadiusEdges(s=4.5)(SKEWED)) - len(CellRadiusSphereEdges(s=4.5)(SKEWED)) == len(box - sphere)


def test_cell_radius_keeps_interlayer_edges() -> None:
    structure = graphite()
    interlayer = {}
    for name in ("cell_radius", "cell_radius_sphere"):
        vec = get_edge_strategy(name)(structure).vectors(structure.frac_coords, structure.lattice.matrix)
        interlayer[name] = int((np.abs(vec[:, 2]) > 3.0).sum())
    assert interlayer["cell_radius"] > interlayer["cell_radius_sphere"] > 0


def layered(c: float) -> Structure:
    """A square MoS layer (a = 3 Angstrom, Mo-S 2 Angstrom along z) stacked with period c: the gap is c - 2."""
    return Structure(Lattice.tetragonal(3.0, c), ["Mo", "S"], [[0, 0, 0], [0, 0, 2.0 / c]])


def _lengths(edges: EdgeList, structure: Structure) -> np.ndarray:
    return np.linalg.norm(edges.vectors(structure.frac_coords, structure.lattice.matrix), axis=1)


def test_bridging_adds_only_the_edges_across_a_wide_gap() -> None:
    structure = layered(8.0)  # 6 Angstrom gap; in-layer images at 3, 4.24, 6, 6.7 ... Angstrom
    plain, bridged = RadiusEdges(cutoff=5.0)(structure), RadiusEdges(cutoff=5.0, bridge_cutoff=8.5)(structure)
    assert periodic_dimensions(plain, 2) == 2 and periodic_dimensions(bridged, 2) == 3
    for key in ("src", "dst", "images"):  # the cutoff edges first, in their order
        np.testing.assert_array_equal(getattr(bridged, key)[: len(plain)], getattr(plain, key))
    extra = bridged.subset(np.arange(len(bridged)) >= len(plain))
    # exactly S (1) -> Mo (0) one layer up and back: 6 Angstrom along z; the 6 Angstrom in-layer images are not added
    assert sorted(map(tuple, _edge_rows(extra).tolist())) == [(0, 1, 0, 0, 1), (1, 0, 0, 0, -1)]
    np.testing.assert_allclose(_lengths(extra, structure), 6.0)
    assert np.all(_lengths(plain, structure) <= 5.0 + 1e-6)


def test_bridging_leaves_slabs_and_bulk_crystals_alone() -> None:
    slab = layered(12.0)  # 10 Angstrom of vacuum, beyond the bridge cutoff
    for key in ("src", "dst", "images"):
        np.testing.assert_array_equal(
            getattr(RadiusEdges(5.0, bridge_cutoff=8.5)(slab), key), getattr(RadiusEdges(5.0)(slab), key)
        )
    for structure in (graphite(), SKEWED, Structure(Lattice.cubic(3.0), ["Fe", "Al"], [[0, 0, 0], [0.5] * 3])):
        plain, bridged = RadiusEdges(5.0)(structure), RadiusEdges(5.0, bridge_cutoff=8.5)(structure)
        assert periodic_dimensions(plain, len(structure)) == 3
        for key in ("src", "dst", "images"):
            np.testing.assert_array_equal(getattr(bridged, key), getattr(plain, key))
    with pytest.raises(ValueError, match="must exceed cutoff"):
        RadiusEdges(5.0, bridge_cutoff=5.0)


def test_unknown_strategy_name() -> None:
    with pytest.raises(ValueError, match="cell_radius"):
        get_edge_strategy("voronoi")
