"""A material ready for graph building: its canonical cell, the rotation to the user's frame, and its edge list.

Frame contract (``docs/conventions.md``, "Frames"): the cell, its edges and every strain are in the
*canonical* frame (pymatgen's conventional standard cell, :mod:`stn_plugin.structure.canonical`), the frame
every training record is brought into, so the network always sees a crystal strained along its own
standard axes; ``rotation`` R takes results back to the user's frame (``r_user = R @ r_canonical``).

Edges are selected once, on the unstrained cell; every strained graph reuses them (paper Sec. III A):
the strained edge vectors are ``(frac[src] + n - frac[dst]) @ (L F^T) = F @ v`` for each unstrained
vector v, so building the 21 strained graphs costs one neighbour search plus 21 small matrix products.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray
from pymatgen.core import Lattice, Structure

from stn_plugin.graph.edges import EdgeList, EdgeStrategy
from stn_plugin.physics.symmetry import DEFAULT_ANGLE_TOLERANCE, DEFAULT_SYMPREC
from stn_plugin.structure.canonical import canonicalize, primitive_cell


@dataclass(frozen=True)
class PreparedMaterial:
    """Canonical cell and edge list of one material, and the rotation back to the user's frame.

    Attributes:
        lattice: (3, 3) unstrained lattice, rows are lattice vectors, Angstrom, canonical frame.
        atomic_numbers: (N,) int64.
        frac_coords: (N, 3) fractional coordinates.
        edges: the edge list (indices and images are frame-free).
        rotation: (3, 3) orthogonal R with ``r_user = R @ r_canonical``.
        point_group: (n, 3, 3) the crystal's point-group operations, Cartesian in the canonical frame (found once,
            by the standardisation's spglib run; the projection of C onto the point group uses them).
    """

    lattice: NDArray[np.float64]
    atomic_numbers: NDArray[np.int64]
    frac_coords: NDArray[np.float64]
    edges: EdgeList
    rotation: NDArray[np.float64]
    point_group: NDArray[np.float64]

    @property
    def num_atoms(self) -> int:
        return len(self.atomic_numbers)

    @property
    def num_edges(self) -> int:
        return len(self.edges)

    @property
    def volume_per_atom(self) -> float:
        """Unstrained volume per atom, Angstrom^3/atom."""
        return abs(float(np.linalg.det(self.lattice))) / self.num_atoms

    def structure(self) -> Structure:
        """The canonical cell as a pymatgen ``Structure`` (canonical frame)."""
        return Structure(Lattice(self.lattice), self.atomic_numbers.tolist(), self.frac_coords)

    def edge_vectors(self, deformation: NDArray[np.floating] | None = None) -> NDArray[np.float64]:
        """Edge vectors (neighbour image minus centre) of the cell strained by F, shape (E, 3), Angstrom.

        Args:
            deformation: F = I + eps, shape (3, 3), in the canonical frame; None for the unstrained cell.
        """
        lattice = self.lattice if deformation is None else self.lattice @ np.asarray(deformation, dtype=float).T
        return self.edges.vectors(self.frac_coords, lattice)


def prepare_material(
    structure: Structure,
    strategy: EdgeStrategy,
    symprec: float = DEFAULT_SYMPREC,
    angle_tolerance: float = DEFAULT_ANGLE_TOLERANCE,
) -> PreparedMaterial:
    """Standardise a structure and select its edges; the cell stays in the canonical frame.

    Edges are chosen on pymatgen's conventional standard cell (canonical frame, see
    :mod:`stn_plugin.structure.canonical`) when the edge strategy depends on the cell (``frame_dependent``:
    ``cell_radius``), otherwise on its primitive cell in the same frame (fewer atoms, the same U).

    Args:
        structure: ordered, unstrained crystal, any orientation and cell.
        strategy: edge strategy (see :mod:`stn_plugin.graph.edges`).
        symprec: spglib distance tolerance (Angstrom).
        angle_tolerance: spglib angle tolerance (degrees).
    """
    cell = canonicalize(structure, symprec, angle_tolerance)
    canonical = cell.structure
    if not strategy.frame_dependent and not cell.primitive:
        canonical = primitive_cell(canonical)
    return PreparedMaterial(
        lattice=np.array(canonical.lattice.matrix),
        atomic_numbers=np.asarray(canonical.atomic_numbers, dtype=np.int64),
        frac_coords=np.array(canonical.frac_coords),
        edges=strategy(canonical),
        rotation=cell.rotation,
        point_group=cell.point_group,
    )
