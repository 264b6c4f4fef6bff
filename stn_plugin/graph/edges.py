"""Edge strategies of the strained crystal multigraph (paper Sec. III A, Fig. 2; Table III).

Every strategy maps an unstrained, ordered ``Structure`` to an :class:`EdgeList` of directed edges
(neighbour image -> centre) in the structure's own Cartesian frame, and is chosen by name through
:func:`get_edge_strategy`:

* ``cell_radius`` (the paper's): per Cartesian axis b the half-width
  ``h_b = min(|a_b| + |b_b| + |c_b|, s) + delta`` (a, b, c the lattice vectors); a neighbour image is
  kept when every component satisfies ``|dr_b| <= h_b``, searched in the sphere of radius ``max_b h_b``
  (so the kept set is sphere intersected with box). The box is axis-aligned, so the result depends on
  the orientation of the cell: the converter applies it in the canonical frame
  (:mod:`stn_plugin.graph.standardize`).
* ``radius``: every image within ``cutoff`` (rotation invariant).
* ``crystalnn``: pymatgen ``CrystalNN`` bonds, symmetrised (a Voronoi-like, chemistry-aware choice
  that keeps roughly the first coordination shell).

All strategies keep multi-edges (several images of one pair) and edges to an atom's own periodic
images, drop only the zero-distance self pair, and return every edge in both directions
(``(j -> i, n)`` together with ``(i -> j, -n)``). Neighbour search is pymatgen's
``Structure.get_neighbor_list`` (``find_points_in_spheres``), as in matgl's ``Structure2Graph``.
"""

from __future__ import annotations

import abc
import dataclasses
import warnings
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np
from numpy.typing import NDArray
from pymatgen.analysis.local_env import CrystalNN
from pymatgen.core import Structure

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


class EdgeStrategy(abc.ABC):
    """Interface of an edge strategy: a frozen dataclass of settings with a name and a ``__call__``."""

    name: ClassVar[str]
    frame_dependent: ClassVar[bool]
    """Whether the edge set changes when the cell is rotated (then it must be chosen in a canonical frame)."""
    distance_based: ClassVar[bool]
    """Whether every pair of atoms closer than some distance is an edge (so missing edges mean empty space)."""

    @abc.abstractmethod
    def __call__(self, structure: Structure) -> EdgeList:
        """Edges of the (unstrained) structure in its own frame."""

    def settings(self) -> dict[str, Any]:
        """Name and parameters, e.g. ``{'name': 'radius', 'cutoff': 5.0}`` (used in cache keys and reports)."""
        return {"name": self.name, **dataclasses.asdict(self)}  # type: ignore[call-overload]


@dataclass(frozen=True)
class CellRadiusEdges(EdgeStrategy):
    """The paper's cell-radius edges: sphere of radius max_b h_b intersected with the box |dr_b| <= h_b.

    Args:
        s: cap on the summed lattice-vector components per axis (Angstrom), the paper's s = 12.
        delta: margin added after the cap (Angstrom), the paper's delta = 0.5.
    """

    name: ClassVar[str] = "cell_radius"
    frame_dependent: ClassVar[bool] = True
    distance_based: ClassVar[bool] = True
    s: float = 12.0
    delta: float = 0.5

    def half_widths(self, lattice: NDArray[np.floating]) -> NDArray[np.float64]:
        """Box half-widths h_b = min(sum_k |L_kb|, s) + delta, shape (3,), Angstrom."""
        return np.minimum(np.abs(np.asarray(lattice, dtype=float)).sum(axis=0), self.s) + self.delta

    def __call__(self, structure: Structure) -> EdgeList:
        h = self.half_widths(structure.lattice.matrix)
        edges, vec = _neighbor_edges(structure, float(h.max()))
        keep = np.all(np.abs(vec) <= h + BOUNDARY_TOL, axis=1)
        return EdgeList(edges.src[keep], edges.dst[keep], edges.images[keep])


@dataclass(frozen=True)
class RadiusEdges(EdgeStrategy):
    """Every neighbour image within a sphere.

    Args:
        cutoff: radius (Angstrom).
    """

    name: ClassVar[str] = "radius"
    frame_dependent: ClassVar[bool] = False
    distance_based: ClassVar[bool] = True
    cutoff: float = 5.0

    def __call__(self, structure: Structure) -> EdgeList:
        return _neighbor_edges(structure, self.cutoff)[0]


@dataclass(frozen=True)
class CrystalNNEdges(EdgeStrategy):
    """pymatgen ``CrystalNN`` bonds, each added in both directions (duplicates removed).

    Args:
        distance_cutoffs: CrystalNN's (min, max) distance cutoffs, relative to the closest neighbour
            distance; (0.5, 1.0) as in the authors' code.
        search_cutoff: CrystalNN's initial neighbour search radius (Angstrom).
    """

    name: ClassVar[str] = "crystalnn"
    frame_dependent: ClassVar[bool] = False
    distance_based: ClassVar[bool] = False
    distance_cutoffs: tuple[float, float] = (0.5, 1.0)
    search_cutoff: float = 7.0

    def __call__(self, structure: Structure) -> EdgeList:
        cnn = CrystalNN(distance_cutoffs=self.distance_cutoffs, search_cutoff=self.search_cutoff)
        with warnings.catch_warnings():  # CrystalNN warns when it falls back to atomic radii (no oxidation states)
            warnings.simplefilter("ignore", UserWarning)
            all_info = cnn.get_all_nn_info(structure)
        rows = [
            (info["site_index"], centre, *np.rint(info["image"]).astype(int))
            for centre, infos in enumerate(all_info)
            for info in infos
        ]
        if not rows:
            return EdgeList(np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros((0, 3), np.int64))
        forward = np.asarray(rows, dtype=np.int64)
        backward = np.column_stack([forward[:, 1], forward[:, 0], -forward[:, 2:]])
        both = np.unique(np.concatenate([forward, backward]), axis=0)
        return EdgeList(both[:, 0], both[:, 1], both[:, 2:])


EDGE_STRATEGIES: dict[str, type[EdgeStrategy]] = {
    cls.name: cls for cls in (CellRadiusEdges, RadiusEdges, CrystalNNEdges)
}
"""Edge strategies by name."""


def get_edge_strategy(name: str, **params: Any) -> EdgeStrategy:
    """Build the edge strategy ``name`` ('cell_radius', 'radius', 'crystalnn') with its parameters.

    Example:
        ``get_edge_strategy('radius', cutoff=6.0)``.
    """
    try:
        cls = EDGE_STRATEGIES[name]
    except KeyError:
        raise ValueError(f"Unknown edge strategy {name!r}; choose one of {sorted(EDGE_STRATEGIES)}.") from None
    return cls(**params)
