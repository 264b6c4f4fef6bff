"""Edge strategies: exact edge vectors, symmetric multigraphs, layered structures."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from pymatgen.core import Lattice, Structure

from stn_plugin.graph import CellRadiusEdges, EdgeList, RadiusEdges, StrainedGraphConverter, get_edge_strategy
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
    strategy = get_edge_strategy("radius", cutoff=8.0) if name == "radius" else get_edge_strategy(name)
    converter = StrainedGraphConverter(edges=strategy, standardize=False)
    material = converter.prepare(TWO_ATOMS)
    graph, _, _ = converter.get_graph(TWO_ATOMS)
    # Cl (1) seen from Na (0), same cell: df = (0.5, 0.2, 0.2) -> (0.5*4 + 0.2*1, 0.2*5, 0.2*6)
    k = _find(material.edges, 1, 0, (0, 0, 0))
    np.testing.assert_allclose(graph.edge_vec[k].numpy(), [2.2, 1.0, 1.2], atol=1e-6)
    # image (1, 0, -1): df = (1.5, 0.2, -0.8) -> (6.2, 1.0, -4.8); the authors' bug gives n @ L = (4, 0, -6)
    if name == "radius":
        k = _find(material.edges, 1, 0, (1, 0, -1))
        np.testing.assert_allclose(graph.edge_vec[k].numpy(), [6.2, 1.0, -4.8], atol=1e-6)
    # the reverse edge carries the opposite vector
    k = _find(material.edges, 0, 1, (0, 0, 0))
    np.testing.assert_allclose(graph.edge_vec[k].numpy(), [-2.2, -1.0, -1.2], atol=1e-6)
    # every edge: neighbour image minus centre in Cartesian coordinates
    cart = TWO_ATOMS.cart_coords
    expected = cart[material.edges.src] + material.edges.images @ TWO_ATOMS.lattice.matrix - cart[material.edges.dst]
    np.testing.assert_allclose(graph.edge_vec.numpy(), expected, atol=1e-5)
    # strained (pair 11, eps_xx = 0.02): x components scale by 1.02
    strained = converter.strained_graphs(TWO_ATOMS, dcv=np.eye(21))[0]
    k = _find(material.edges, 1, 0, (0, 0, 0))
    np.testing.assert_allclose(strained.edge_vec[k].numpy(), [2.2 * 1.02, 1.0, 1.2], atol=1e-6)


@pytest.mark.parametrize("strategy", [CellRadiusEdges(), RadiusEdges(), get_edge_strategy("crystalnn")])
def test_edges_are_symmetric_multigraph_without_zero_self_pair(strategy) -> None:
    structure = Structure(Lattice.cubic(3.0), ["Fe", "Al"], [[0, 0, 0], [0.5, 0.5, 0.5]])
    edges = strategy(structure)
    rows = _edge_rows(edges)
    reverse = np.column_stack([edges.dst, edges.src, -edges.images])
    assert {tuple(r) for r in rows} == {tuple(r) for r in reverse}
    assert len({tuple(r) for r in rows}) == len(rows)
    lengths = np.linalg.norm(edges.vectors(structure.frac_coords, structure.lattice.matrix), axis=1)
    assert lengths.min() > 1.0
    if strategy.name != "crystalnn":
        assert np.any(edges.src == edges.dst)  # edges to an atom's own periodic images
        pairs = rows[:, :2]
        assert len(np.unique(pairs, axis=0)) < len(pairs)  # multi-edges


def test_cell_radius_is_sphere_intersected_with_box() -> None:
    structure = graphite()
    strategy = CellRadiusEdges(s=12.0, delta=0.5)
    h = strategy.half_widths(structure.lattice.matrix)
    np.testing.assert_allclose(h, [2.46 * 1.5 + 0.5, 2.46 * np.sqrt(3) / 2 + 0.5, 6.7 + 0.5])
    vec = strategy(structure).vectors(structure.frac_coords, structure.lattice.matrix)
    assert np.all(np.abs(vec) <= h + 1e-6)
    assert np.linalg.norm(vec, axis=1).max() <= h.max() + 1e-6
    sphere = RadiusEdges(cutoff=float(h.max()))(structure).vectors(structure.frac_coords, structure.lattice.matrix)
    assert len(vec) == int(np.all(np.abs(sphere) <= h + 1e-6, axis=1).sum())


def test_cell_radius_keeps_interlayer_edges_that_crystalnn_drops() -> None:
    structure = graphite()
    interlayer = {}
    for name in ("cell_radius", "crystalnn"):
        vec = get_edge_strategy(name)(structure).vectors(structure.frac_coords, structure.lattice.matrix)
        interlayer[name] = int((np.abs(vec[:, 2]) > 3.0).sum())
    assert interlayer["crystalnn"] == 0
    assert interlayer["cell_radius"] > 0


def test_unknown_strategy_name() -> None:
    with pytest.raises(ValueError, match="cell_radius"):
        get_edge_strategy("voronoi")
