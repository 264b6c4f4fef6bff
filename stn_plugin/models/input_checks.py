"""Checks a crystal must pass before a model predicts its elastic tensor.

Every failure is a :class:`StructureInputError` subclass whose message says what is wrong and how to
fix it; callers that handle many structures (the CLI) add the file name and go on with the others.
Valid crystals in unusual settings (left-handed lattice vectors, non-reduced cells, supercells) pass.
"""

from __future__ import annotations

import numpy as np
from pymatgen.core import Structure
from torch_geometric.data import Data

from stn_plugin.graph.features import ElementDataError, atom_scalars

MIN_INTERATOMIC_DISTANCE: float = 0.5
"""Angstrom; closer atoms are treated as a broken structure (duplicated or overlapping sites)."""


class StructureInputError(ValueError):
    """A structure the model cannot predict; the message names the problem and the fix."""

    def __init__(self, problem: str, fix: str) -> None:
        super().__init__(f"{problem} Fix: {fix}")
        self.problem, self.fix = problem, fix


class DisorderedStructureError(StructureInputError):
    """Partial occupancies or mixed sites."""


class InvalidLatticeError(StructureInputError):
    """NaN/inf lattice entries or a (nearly) collapsed cell."""


class OverlappingAtomsError(StructureInputError):
    """Two atoms closer than ``MIN_INTERATOMIC_DISTANCE``."""


class UnsupportedElementError(StructureInputError):
    """An element without node features, or beyond the model's embedding."""


class IsolatedAtomsError(StructureInputError):
    """Atoms without any neighbour in the graph (a molecule or a slab with vacuum)."""


def check_structure(structure: Structure, max_atomic_number: int) -> None:
    """Raise a :class:`StructureInputError` if ``structure`` is not a crystal the model can handle.

    Args:
        structure: the crystal as the user gave it.
        max_atomic_number: largest Z the model's embedding knows.
    """
    if len(structure) == 0:
        raise InvalidLatticeError("The structure has no atoms.", "pass a crystal with at least one site.")
    if not structure.is_ordered:
        raise DisorderedStructureError(
            "The structure has partial occupancies (a disordered or alloy site).",
            "pass an ordered supercell, e.g. from pymatgen's OrderDisorderedStructureTransformation.",
        )
    matrix = structure.lattice.matrix
    if not np.all(np.isfinite(matrix)) or abs(np.linalg.det(matrix)) < 1e-3 * max(1.0, float(np.abs(matrix).max())) ** 3:
        raise InvalidLatticeError(
            "The lattice has NaN/inf entries or a (nearly) zero volume.",
            "check the three lattice vectors of the input file.",
        )
    close = structure.get_neighbor_list(MIN_INTERATOMIC_DISTANCE)[3]
    if len(close):
        raise OverlappingAtomsError(
            f"Atoms are {float(close.min()):.3f} Angstrom apart (< {MIN_INTERATOMIC_DISTANCE} Angstrom).",
            "remove duplicated sites or fix the coordinates (fractional vs Cartesian?).",
        )
    numbers = [site.specie.Z for site in structure]
    too_heavy = sorted({site.specie.symbol for site in structure if site.specie.Z > max_atomic_number})
    if too_heavy:
        raise UnsupportedElementError(
            f"Elements {too_heavy} are beyond the model's embedding (Z <= {max_atomic_number}).",
            "use a model trained with these elements.",
        )
    try:
        atom_scalars(numbers)
    except ElementDataError as exc:
        raise UnsupportedElementError(str(exc), "this element has no node features; it cannot be predicted.") from exc


def check_graph_connectivity(graph: Data, cutoff_note: str) -> None:
    """Raise :class:`IsolatedAtomsError` when some atom of a strained graph receives no edge.

    Args:
        graph: one strained graph (contract fields ``edge_index``, ``num_nodes``).
        cutoff_note: the edge settings, for the message (e.g. ``"radius 5.0 Angstrom"``).
    """
    received = np.zeros(graph.num_nodes, dtype=bool)
    received[graph.edge_index[1].numpy()] = True
    if not received.all():
        raise IsolatedAtomsError(
            f"{int((~received).sum())} of {graph.num_nodes} atoms have no neighbour within the model's edges ({cutoff_note}).",
            "pass a bulk periodic crystal; molecules and slabs with vacuum are outside this model's scope.",
        )
