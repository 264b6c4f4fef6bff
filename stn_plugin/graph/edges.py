"""Edge strategies of the strained crystal multigraph (paper Sec. III A, Fig. 2; Table III).

Every strategy maps an unstrained, ordered ``Structure`` to an :class:`EdgeList` of directed edges
(neighbour image -> centre) in the structure's own Cartesian frame, and is chosen by name through
:func:`get_edge_strategy`:

* ``cell_radius`` (the paper's text, Sec. III A): per Cartesian axis b the half-width
  ``h_b = min(|a_b| + |b_b| + |c_b|, s) + delta`` (a, b, c the lattice vectors); a neighbour image is
  kept when every component satisfies ``|dr_b| <= h_b`` (the box alone; edges up to ``|h|`` long).
* ``cell_radius_sphere`` (the authors' released code): the same box intersected with the sphere of
  radius ``max_b h_b`` (edges at most ``max_b h_b`` long). Both boxes are axis-aligned, so the result
  depends on the orientation of the cell: the converter applies them in the canonical frame
  (:mod:`stn_plugin.structure.canonical`).
* ``radius``: every image within ``cutoff`` (rotation invariant); with ``bridge_cutoff`` also the
  shortest edges across a gap wider than ``cutoff`` (van der Waals gaps of layered crystals, see
  :class:`RadiusEdges`).

All strategies keep multi-edges (several images of one pair) and edges to an atom's own periodic
images, drop only the zero-distance self pair, and return every edge in both directions
(``(j -> i, n)`` together with ``(i -> j, -n)``). Neighbour search is pymatgen's
``Structure.get_neighbor_list`` (``find_points_in_spheres``), as in matgl's ``Structure2Graph``.
"""

from __future__ import annotations

import abc
import dataclasses
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np
from numpy.typing import NDArray
from pymatgen.core import Structure
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import breadth_first_order, connected_components

BOUNDARY_TOL: float = 1e-6
"""Angstrom added to every cutoff, so images exactly on a boundary are kept whatever the round-off."""


@dataclass(frozen=True)
class EdgeList:
    """Directed periodic edges of one cell; edge k points from neighbour image to centre.

    Attributes:
        src: (E,) int64, index of the neighbour atom j (message source, PyG ``edge_index[0]``).
        dst: (E,) int64, index of the centre atom i (message target, PyG ``edge_index[1]``).
        images: (E, 3) int64, lattice image n of the neighbour; the edge vector is
            ``(frac[src] + images - frac[dst]) @ lattice`` (Angstrom).
    """

    src: NDArray[np.int64]
    dst: NDArray[np.int64]
    images: NDArray[np.int64]

    def __len__(self) -> int:
        return len(self.src)

    def subset(self, mask: NDArray[np.bool_]) -> EdgeList:
        """The edges where ``mask`` (shape (E,)) is True, in their order."""
        return EdgeList(self.src[mask], self.dst[mask], self.images[mask])

    def vectors(self, frac_coords: NDArray[np.floating], lattice: NDArray[np.floating]) -> NDArray[np.float64]:
        """Edge vectors (neighbour image minus centre), shape (E, 3), Angstrom.

        Args:
            frac_coords: (N, 3) fractional coordinates.
            lattice: (3, 3) lattice matrix, rows are lattice vectors (Angstrom); pass the strained
                lattice to get strained vectors.
        """
        frac = np.asarray(frac_coords, dtype=float)
        return (frac[self.src] + self.images - frac[self.dst]) @ np.asarray(lattice, dtype=float)


def _neighbor_edges(structure: Structure, cutoff: float) -> tuple[EdgeList, NDArray[np.float64]]:
    """All images within ``cutoff`` (Angstrom) except the zero-distance self pair, and their vectors."""
    centre, neighbour, images, _ = structure.get_neighbor_list(cutoff + BOUNDARY_TOL, exclude_self=True)
    edges = EdgeList(neighbour.astype(np.int64), centre.astype(np.int64), np.rint(images).astype(np.int64))
    return edges, edges.vectors(structure.frac_coords, structure.lattice.matrix)


def _concatenate(first: EdgeList, second: EdgeList) -> EdgeList:
    """The edges of ``first`` followed by those of ``second``."""
    return EdgeList(
        np.concatenate([first.src, second.src]),
        np.concatenate([first.dst, second.dst]),
        np.concatenate([first.images, second.images]),
    )


def _unfold(edges: EdgeList, num_atoms: int) -> tuple[NDArray[np.int64], NDArray[np.int64], NDArray[np.int64]]:
    """Connected groups of atoms and each atom's lattice image in its unfolded group.

    Returns:
        group: (N,) group label of each atom.
        position: (N, 3) lattice image of each atom reached from its group's first atom along a spanning tree.
        loops: (E, 3), the lattice translation ``position[dst] + images - position[src]`` closed by each edge;
            the loops of a group span the lattice directions it repeats along.
    """
    graph = coo_matrix((np.ones(len(edges)), (edges.dst, edges.src)), shape=(num_atoms, num_atoms)).tocsr()
    num_groups, group = connected_components(graph, directed=False)
    keys = edges.dst * num_atoms + edges.src
    unique_keys, first_edge = np.unique(keys, return_index=True)
    position = np.zeros((num_atoms, 3), dtype=np.int64)
    for root in (int(np.flatnonzero(group == g)[0]) for g in range(num_groups)):
        order, parent = breadth_first_order(graph, root, directed=False, return_predecessors=True)
        for atom in order[1:]:
            edge = first_edge[np.searchsorted(unique_keys, parent[atom] * num_atoms + atom)]  # centre parent -> atom
            position[atom] = position[parent[atom]] + edges.images[edge]
    loops = position[edges.dst] + edges.images - position[edges.src]
    return group.astype(np.int64), position, loops


def periodic_dimensions(edges: EdgeList, num_atoms: int) -> int:
    """Along how many independent lattice directions the least connected group of atoms repeats through the edges.

    3 for a bulk crystal, 2 for a slab or layer, 1 for a chain, 0 for a molecule or cluster: the rank of the lattice
    translations closing loops of edges in a connected group (Larsen et al., Phys. Rev. Mater. 3, 034003, 2019).

    Args:
        edges: directed periodic edges, every edge present in both directions.
        num_atoms: atoms of the cell (an atom without edges is a group of dimension 0).
    """
    group, _, loops = _unfold(edges, num_atoms)
    edge_group = group[edges.dst]
    return min(int(np.linalg.matrix_rank(loops[edge_group == g].astype(float))) for g in range(int(group.max()) + 1))


def _joins_unconnected(edges: EdgeList, candidates: EdgeList, num_atoms: int) -> NDArray[np.bool_]:
    """(E_candidates,) whether each candidate edge joins atom images that ``edges`` leave unconnected: atoms of
    different groups, or a lattice translation outside the span of its group's loops."""
    group, position, loops = _unfold(edges, num_atoms)
    edge_group = group[edges.dst]
    joins = group[candidates.src] != group[candidates.dst]
    loop = (position[candidates.dst] + candidates.images - position[candidates.src]).astype(float)
    for g in np.unique(group[candidates.dst][~joins]):
        mine = ~joins & (group[candidates.dst] == g)
        group_loops = loops[edge_group == g].astype(float)
        basis = np.zeros((0, 3))
        if len(group_loops):
            _, singular, rows = np.linalg.svd(group_loops, full_matrices=False)
            basis = rows[singular > 1e-6]  # orthonormal basis of the span (loops are integer vectors)
        residual = loop[mine] - (loop[mine] @ basis.T) @ basis
        joins[mine] = np.linalg.norm(residual, axis=1) > 1e-6
    return joins


class EdgeStrategy(abc.ABC):
    """Interface of an edge strategy: a frozen dataclass of settings with a name and a ``__call__``."""

    name: ClassVar[str]
    frame_dependent: ClassVar[bool]
    """Whether the edge set changes when the cell is rotated or re-celled (then it is chosen on the conventional
    cell in the canonical frame; otherwise on its primitive cell, :mod:`stn_plugin.graph.material`)."""

    @abc.abstractmethod
    def __call__(self, structure: Structure) -> EdgeList:
        """Edges of the (unstrained) structure in its own frame."""

    def longest_edge(self) -> float | None:
        """Upper bound on the unstrained edge length over all cells (Angstrom); None when there is none."""
        return None

    def settings(self) -> dict[str, Any]:
        """Name and parameters, e.g. ``{'name': 'radius', 'cutoff': 5.0}`` (used in cache keys and reports)."""
        return {"name": self.name, **dataclasses.asdict(self)}  # type: ignore[call-overload]


@dataclass(frozen=True)
class CellRadiusEdges(EdgeStrategy):
    """The paper's cell-radius edges (Sec. III A as written): every image inside the box |dr_b| <= h_b.

    The box half-widths are h_b = min(sum_k |L_kb|, s) + delta per Cartesian axis b, so an edge can be
    up to ``|h|`` (at most sqrt(3) (s + delta)) long.

    Args:
        s: cap on the summed lattice-vector components per axis (Angstrom), the paper's s = 12.
        delta: margin added after the cap (Angstrom), the paper's delta = 0.5.
    """

    name: ClassVar[str] = "cell_radius"
    frame_dependent: ClassVar[bool] = True
    s: float = 12.0
    delta: float = 0.5

    def __post_init__(self) -> None:
        if not (self.s > 0 and self.delta >= 0):
            raise ValueError(f"{self.name} needs s > 0 and delta >= 0 (Angstrom), got s={self.s}, delta={self.delta}.")

    def half_widths(self, lattice: NDArray[np.floating]) -> NDArray[np.float64]:
        """Box half-widths h_b = min(sum_k |L_kb|, s) + delta, shape (3,), Angstrom."""
        return np.minimum(np.abs(np.asarray(lattice, dtype=float)).sum(axis=0), self.s) + self.delta

    def search_radius(self, half_widths: NDArray[np.floating]) -> float:
        """Radius (Angstrom) of the sphere the candidates are searched in: the box's circumscribed sphere."""
        return float(np.linalg.norm(half_widths))

    def longest_edge(self) -> float:
        """Upper bound on the unstrained edge length over all cells (Angstrom)."""
        return float(np.sqrt(3.0) * (self.s + self.delta))

    def __call__(self, structure: Structure) -> EdgeList:
        h = self.half_widths(structure.lattice.matrix)
        edges, vec = _neighbor_edges(structure, self.search_radius(h))
        return edges.subset(np.all(np.abs(vec) <= h + BOUNDARY_TOL, axis=1))


@dataclass(frozen=True)
class CellRadiusSphereEdges(CellRadiusEdges):
    """The authors' released code's cell-radius edges: the box of :class:`CellRadiusEdges` intersected with
    the sphere of radius max_b h_b (what ``cell_radius`` meant before stn-plugin offered both rules). delta is
    added after the cap as the paper writes; the released code caps min(sum_k |L_kb| + delta, s).

    Args:
        s: cap on the summed lattice-vector components per axis (Angstrom), the paper's s = 12.
        delta: margin added after the cap (Angstrom), the paper's delta = 0.5.
    """

    name: ClassVar[str] = "cell_radius_sphere"

    def search_radius(self, half_widths: NDArray[np.floating]) -> float:
        """Radius (Angstrom) of the sphere intersected with the box: the largest half-width."""
        return float(np.max(half_widths))

    def longest_edge(self) -> float:
        """Upper bound on the unstrained edge length over all cells (Angstrom): s + delta."""
        return self.s + self.delta


@dataclass(frozen=True)
class RadiusEdges(EdgeStrategy):
    """Every neighbour image within a sphere, optionally bridging gaps up to ``bridge_cutoff``.

    With ``bridge_cutoff`` set, a structure whose edges within ``cutoff`` do not connect its atoms along all
    three lattice directions (:func:`periodic_dimensions` < 3, e.g. a layered crystal with a van der Waals gap
    wider than ``cutoff``) also gets the gap-bridging images: those joining atoms that the ``cutoff`` edges leave
    unconnected (different groups of atoms, or a lattice translation outside the directions a group already
    repeats along), all of them up to the shortest length L <= ``bridge_cutoff`` at which the edge graph becomes
    3-periodic. Only these edges are longer than ``cutoff``; in-layer images between ``cutoff`` and L are not
    added. A structure that stays less than 3-periodic up to ``bridge_cutoff`` keeps its ``cutoff`` edges: a layered
    crystal with a wider gap is then predicted with its layers uncoupled in the graph, and a slab or molecule in
    vacuum is refused by the input checks (:func:`stn_plugin.graph.checks.check_edges`, which judge bulk or not
    without the model's edges); a 3-periodic one keeps exactly its ``cutoff`` edges in the same order.

    Args:
        cutoff: radius (Angstrom).
        bridge_cutoff: longest gap-bridging edge (Angstrom, > ``cutoff``); None = no bridging.
    """

    name: ClassVar[str] = "radius"
    frame_dependent: ClassVar[bool] = False
    cutoff: float = 5.0
    bridge_cutoff: float | None = None

    def __post_init__(self) -> None:
        if not self.cutoff > 0:
            raise ValueError(f"radius needs cutoff > 0 (Angstrom), got {self.cutoff}.")
        if self.bridge_cutoff is not None and not self.bridge_cutoff > self.cutoff:
            raise ValueError(
                f"radius bridge_cutoff ({self.bridge_cutoff}) must exceed cutoff ({self.cutoff}) Angstrom, or be None."
            )

    def longest_edge(self) -> float:
        """Upper bound on the unstrained edge length (Angstrom): ``bridge_cutoff`` when set, else ``cutoff``."""
        return self.cutoff if self.bridge_cutoff is None else self.bridge_cutoff

    def __call__(self, structure: Structure) -> EdgeList:
        edges = _neighbor_edges(structure, self.cutoff)[0]
        num_atoms = len(structure)
        if self.bridge_cutoff is None or periodic_dimensions(edges, num_atoms) == 3:
            return edges
        candidates, vec = _neighbor_edges(structure, self.bridge_cutoff)
        length = np.linalg.norm(vec, axis=1)
        bridging = (length > self.cutoff + BOUNDARY_TOL) & _joins_unconnected(edges, candidates, num_atoms)
        order = np.flatnonzero(bridging)[np.argsort(length[bridging], kind="stable")]

        def bridged(k: int) -> EdgeList:
            """The ``cutoff`` edges plus the bridging candidates up to the k-th shortest one's length."""
            return _concatenate(edges, candidates.subset(bridging & (length <= length[order[k]] + BOUNDARY_TOL)))

        if not len(order) or periodic_dimensions(bridged(len(order) - 1), num_atoms) < 3:
            return edges
        low, high = 0, len(order) - 1  # the first shell length at which the graph is 3-periodic (monotone)
        while low < high:
            middle = (low + high) // 2
            low, high = (low, middle) if periodic_dimensions(bridged(middle), num_atoms) == 3 else (middle + 1, high)
        return bridged(low)


EDGE_STRATEGIES: dict[str, type[EdgeStrategy]] = {
    cls.name: cls for cls in (CellRadiusEdges, CellRadiusSphereEdges, RadiusEdges)
}
"""Edge strategies by name."""


def get_edge_strategy(name: str, **params: Any) -> EdgeStrategy:
    """Build the edge strategy ``name`` ('cell_radius', 'cell_radius_sphere', 'radius') with its parameters.

    Example:
        ``get_edge_strategy('radius', cutoff=6.0)``.
    """
    try:
        cls = EDGE_STRATEGIES[name]
    except KeyError:
        raise ValueError(f"Unknown edge strategy {name!r}; choose one of {sorted(EDGE_STRATEGIES)}.") from None
    return cls(**params)
