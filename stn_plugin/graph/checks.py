"""Checks that a crystal fits the graphs of a model: node features for its elements, an edge list of bounded
size, and a bulk crystal rather than a slab, chain or molecule in vacuum.

Bulk or not is a property of the crystal, not of the model's edges: a crystal is bulk when its atoms connect along
all three lattice directions through atoms less than :data:`VACUUM_GAP` apart. A layered crystal whose gap is
wider than the model's edges reach is therefore predicted, with its layers uncoupled in the graph.

The checks of the crystal alone (geometry, size of the standard cell) and the typed errors raised here are in
:mod:`stn_plugin.structure.checks`.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from pymatgen.core import Structure

from stn_plugin.graph.edges import BOUNDARY_TOL, EdgeList, periodic_dimensions
from stn_plugin.graph.features import ElementDataError, atom_scalars
from stn_plugin.graph.material import PreparedMaterial
from stn_plugin.structure.checks import (
    _RAISE_LIMIT,
    IsolatedAtomsError,
    NotBulkCrystalError,
    StructureTooLargeError,
    UnsupportedElementError,
    check_geometry,
)


def check_structure(
    structure: Structure,
    max_atomic_number: int,
    max_atoms: int | None = None,
    edge_cutoff: float | None = None,
    element_types: Sequence[str] | None = None,
) -> Structure:
    """Raise a :class:`StructureInputError` if ``structure`` is not a crystal the model can handle; return it
    wrapped into its cell.

    Args:
        structure: the crystal as the user gave it.
        max_atomic_number: largest Z the model's embedding knows.
        max_atoms: the model's limit on the atoms of its graph cell, to bound the input's atoms and volume
            before any neighbour search (:func:`~stn_plugin.structure.checks.check_geometry`; None: no such bound).
        edge_cutoff: the model's edge cutoff, Angstrom, for the bound on the volume.
        element_types: the elements the graph converter has node types for (None: not checked).
    """
    wrapped = check_geometry(structure, max_atoms, edge_cutoff)
    numbers = [site.specie.Z for site in structure]
    too_heavy = sorted({site.specie.symbol for site in structure if site.specie.Z > max_atomic_number})
    if too_heavy:
        raise UnsupportedElementError(
            f"Elements {too_heavy} are beyond the model's embedding (Z <= {max_atomic_number}).",
            "use a model trained with these elements.",
        )
    missing = sorted({site.specie.symbol for site in structure} - set(element_types or ()))
    if element_types is not None and missing:
        raise UnsupportedElementError(
            f"Elements {missing} are not in the model's element list (the node types of its graphs).",
            "use a model whose element list has them; this one cannot predict them.",
        )
    try:
        atom_scalars(numbers)
    except ElementDataError as exc:
        raise UnsupportedElementError(str(exc), "this element has no node features; it cannot be predicted.") from exc
    return wrapped


VACUUM_GAP: float = 10.0
"""Angstrom: a gap across which no two atoms are closer than this is vacuum (:func:`check_edges`). Slab and
molecule calculations leave at least 10 Angstrom of vacuum; across the gaps of the layered crystals of the bundled
data (PBE-relaxed, some with their layers far apart) the closest atoms are at most 9.5 Angstrom apart."""

_DIMENSION_NAMES = {0: "a molecule or cluster", 1: "a chain", 2: "a slab or isolated layer"}


def vacuum_dimensions(structure: Structure, gap: float = VACUUM_GAP) -> int:
    """Along how many lattice directions the atoms of ``structure`` connect through atoms less than ``gap`` apart:
    :func:`~stn_plugin.graph.edges.periodic_dimensions` of the graph of every image closer than ``gap``
    (3 for a bulk crystal, 2 for a slab, 1 for a chain, 0 for a molecule; independent of the cell chosen).

    Args:
        structure: the crystal (Angstrom).
        gap: the shortest distance (Angstrom) between atoms that counts as vacuum.
    """
    centre, neighbour, images, _ = structure.get_neighbor_list(gap - BOUNDARY_TOL, exclude_self=True)
    edges = EdgeList(neighbour.astype(np.int64), centre.astype(np.int64), np.rint(images).astype(np.int64))
    return periodic_dimensions(edges, len(structure))


def check_edges(material: PreparedMaterial, max_edges: int, cutoff_note: str) -> None:
    """Raise a :class:`StructureInputError` when the edge list is too large, leaves an atom without neighbours, or
    the crystal is not bulk.

    The crystal is refused as not bulk (:class:`NotBulkCrystalError`) when its atoms do not connect along all three
    lattice directions through atoms less than :data:`VACUUM_GAP` apart (:func:`vacuum_dimensions`), whatever the
    model's edges: a layered crystal whose gap the edges do not bridge passes, and is predicted with its layers
    uncoupled in the graph. The neighbour search up to :data:`VACUUM_GAP` runs only when the model's edges connect
    along fewer than three directions.

    Args:
        material: the standardised cell and its edge list (before the strained graphs are built).
        max_edges: limit on the directed edges of one strained graph.
        cutoff_note: the edge settings, for the message (e.g. ``"radius 5.0 Angstrom"``).
    """
    if material.num_edges > max_edges:
        raise StructureTooLargeError(
            f"The graph would have {material.num_edges} edges ({material.num_edges / material.num_atoms:.0f} per atom "
            f"over {material.num_atoms} atoms, {cutoff_note}), more than the limit of {max_edges}.",
            "check the lattice (lengths in Angstrom, not Bohr or nm?), "
            + _RAISE_LIMIT.format(name="max_edges", option="max-edges")
            + ".",
        )
    out_of_scope = (
        "pass a bulk periodic crystal; molecules, chains and slabs with vacuum are outside this model's scope."
    )
    received = np.zeros(material.num_atoms, dtype=bool)
    received[material.edges.dst] = True
    if not received.all():
        raise IsolatedAtomsError(
            f"{int((~received).sum())} of {material.num_atoms} atoms have no neighbour within the model's edges "
            f"({cutoff_note}).",
            out_of_scope,
        )
    if periodic_dimensions(material.edges, material.num_atoms) == 3:
        return
    dimensions = vacuum_dimensions(material.structure())
    if dimensions < 3:
        raise NotBulkCrystalError(
            f"The structure is {_DIMENSION_NAMES[dimensions]} surrounded by vacuum: through atoms less than "
            f"{VACUUM_GAP:g} Angstrom apart its atoms connect along only {dimensions} of the 3 lattice directions.",
            out_of_scope,
        )
