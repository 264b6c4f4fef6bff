"""Checks a crystal must pass before a model predicts its elastic tensor.

Every failure is a :class:`StructureInputError` subclass whose message says what is wrong and how to
fix it; callers that handle many structures (the CLI) add the file name and go on with the others.
Valid crystals in unusual settings (left-handed lattice vectors, non-reduced cells, supercells) pass.

Size limits. The model builds its graphs on the crystal's conventional standard cell
(:mod:`stn_plugin.graph.standardize`), so a supercell is reduced automatically whenever spglib finds the
smaller cell at the converter's tolerance (0.01 Angstrom) and predicts exactly like that cell. The limits
apply, in this order and before any graph is built, to

1. the input: more than ``SUPERCELL_FACTOR * max_atoms`` atoms is refused before the symmetry search
   (spglib's search for a smaller cell grows as N^2: about 10 s for a 4096-atom cell without symmetry);
2. the standard cell: more than ``max_atoms`` (default :data:`stn_plugin.limits.MAX_ATOMS`, 500) atoms;
3. the edge list of the standard cell: more than ``max_edges`` (default :data:`stn_plugin.limits.MAX_EDGES`,
   60,000) directed edges, counted exactly after edge selection, before the 21 strained graphs and the forward pass.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray
from pymatgen.core import Structure
from pymatgen.optimization.neighbors import find_points_in_spheres
from pymatgen.symmetry.analyzer import SpacegroupAnalyzer

from stn_plugin.graph.edges import periodic_dimensions
from stn_plugin.graph.features import ElementDataError, atom_scalars
from stn_plugin.graph.material import PreparedMaterial

MIN_INTERATOMIC_DISTANCE: float = 0.5
"""Angstrom; closer atoms are treated as a broken structure (duplicated or overlapping sites)."""

SUPERCELL_FACTOR: int = 4
"""Inputs of more than ``SUPERCELL_FACTOR * max_atoms`` atoms are refused before the symmetry search."""


_RAISE_LIMIT = (
    "or raise the limit (predict_structure(..., {name}=N), stn models predict --{option} N) if time and memory allow"
)


class StructureInputError(ValueError):
    """A structure the model cannot predict; the message names the problem and the fix."""

    def __init__(self, problem: str, fix: str) -> None:
        super().__init__(f"{problem} Fix: {fix}")
        self.problem, self.fix = problem, fix


class DisorderedStructureError(StructureInputError):
    """Partial occupancies or mixed sites."""


class InvalidLatticeError(StructureInputError):
    """NaN/inf lattice entries or a (nearly) collapsed cell."""


class InvalidCoordinatesError(StructureInputError):
    """NaN/inf atomic coordinates, or coordinates so far outside the cell that the position is lost."""


class OverlappingAtomsError(StructureInputError):
    """Two atoms closer than ``MIN_INTERATOMIC_DISTANCE``."""


class UnsupportedElementError(StructureInputError):
    """An element without node features, or beyond the model's embedding."""


class IsolatedAtomsError(StructureInputError):
    """Atoms without any neighbour in the graph (a molecule or a slab with vacuum)."""


class NotBulkCrystalError(StructureInputError):
    """A molecule, chain or slab: some connected group of atoms does not repeat along all three lattice directions."""


class StructureTooLargeError(StructureInputError):
    """More atoms or edges than the prediction limits (``max_atoms``, ``max_edges``)."""


MAX_LATTICE_ENTRY: float = 1e4
"""Angstrom; a lattice vector component beyond this is refused before any geometry is computed (wrong units, or a
cell whose volume overflows)."""

MAX_FRACTIONAL_COORDINATE: float = 1e6
"""A fractional coordinate beyond this (in absolute value) is refused: its position within the cell is lost to
floating-point round-off. Smaller coordinates outside [0, 1) are periodic images and are wrapped into the cell."""

SEARCH_CELLS_PER_ATOM: float = 8.0
"""Cells per atom of the overlap search's cell list (bounds its memory by the atoms, not by the cell's volume)."""


def _not_finite_sites(structure: Structure) -> list[int]:
    """Indices of the sites whose Cartesian or fractional coordinates hold NaN or inf."""
    cart = np.array([site.coords for site in structure], dtype=float).reshape(-1, 3)
    frac = np.array([site.frac_coords for site in structure], dtype=float).reshape(-1, 3)
    return np.flatnonzero(~(np.isfinite(cart).all(axis=1) & np.isfinite(frac).all(axis=1))).tolist()


def wrapped_into_cell(structure: Structure) -> Structure:
    """A copy of ``structure`` with every fractional coordinate in [0, 1) (periodic images moved into the cell);
    the lattice, species, site properties and hence the crystal and its Cartesian frame are unchanged."""
    return Structure(
        structure.lattice,
        [site.species for site in structure],
        np.mod(structure.frac_coords, 1.0),
        site_properties=structure.site_properties,
    )


def close_atom_distances(structure: Structure, radius: float = MIN_INTERATOMIC_DISTANCE) -> NDArray[np.float64]:
    """Distances (Angstrom) shorter than ``radius`` between an atom and another atom or a periodic image.

    The cell list of the search has about ``SEARCH_CELLS_PER_ATOM`` cells per atom whatever the cell's volume
    (pymatgen's default of 1 Angstrom cells needs 3.4 GB for a 500 Angstrom cube), so memory grows with the atoms.

    Args:
        structure: a crystal with finite coordinates inside its cell (:func:`wrapped_into_cell`).
        radius: search radius, Angstrom.
    """
    cart = np.ascontiguousarray(structure.cart_coords, dtype=float)
    cell_size = max(1.0, (structure.volume / (SEARCH_CELLS_PER_ATOM * len(structure))) ** (1.0 / 3.0))
    centre, neighbour, _, distance = find_points_in_spheres(
        cart,
        cart,
        r=radius,
        pbc=np.ones(3, dtype=np.int64),
        lattice=np.ascontiguousarray(structure.lattice.matrix, dtype=float),
        tol=1e-8,
        min_r=cell_size,
    )
    return distance[~((centre == neighbour) & (distance <= 1e-8))]


def check_geometry(structure: Structure, max_atoms: int | None = None, edge_cutoff: float | None = None) -> Structure:
    """Check that ``structure`` is a finite, ordered, bounded periodic cell without overlapping atoms, cheapest
    and bounded checks first, and return it wrapped into its cell (:func:`wrapped_into_cell`).

    Order: atoms present and ordered; finite lattice entries below ``MAX_LATTICE_ENTRY``; a non-collapsed cell;
    finite coordinates below ``MAX_FRACTIONAL_COORDINATE`` (a NaN coordinate crashes spglib, exit 139); with
    ``max_atoms``: at most ``SUPERCELL_FACTOR * max_atoms`` atoms and, with ``edge_cutoff`` too, a volume of at
    most ``SUPERCELL_FACTOR * max_atoms`` cutoff cubes; then the wrap and the overlap search, whose memory is
    bounded by the atoms (:func:`close_atom_distances`). Nothing here calls spglib.

    Args:
        structure: the crystal as the user gave it.
        max_atoms: the model's limit on the atoms of its graph cell (None: no bound on atoms and volume).
        edge_cutoff: the model's edge cutoff, Angstrom (None: no bound on the volume).
    """
    if len(structure) == 0:
        raise InvalidLatticeError("The structure has no atoms.", "pass a crystal with at least one site.")
    if not structure.is_ordered:
        raise DisorderedStructureError(
            "The structure has partial occupancies (a disordered or alloy site).",
            "pass an ordered supercell, e.g. from pymatgen's OrderDisorderedStructureTransformation.",
        )
    matrix = np.asarray(structure.lattice.matrix, dtype=float)
    if not np.all(np.isfinite(matrix)):
        raise InvalidLatticeError(
            "The lattice has NaN/inf entries.", "check the three lattice vectors of the input file."
        )
    largest = float(np.abs(matrix).max())
    if largest > MAX_LATTICE_ENTRY:
        raise InvalidLatticeError(
            f"A lattice vector component is {largest:.3g} Angstrom (more than {MAX_LATTICE_ENTRY:g} Angstrom).",
            "check the lattice vectors and their units (Angstrom, not Bohr, nm or m?).",
        )
    if abs(np.linalg.det(matrix)) < 1e-3 * max(1.0, largest) ** 3:
        raise InvalidLatticeError(
            "The lattice has a (nearly) zero volume.", "check the three lattice vectors of the input file."
        )
    bad = _not_finite_sites(structure)
    if bad:
        raise InvalidCoordinatesError(
            f"The coordinates of {len(bad)} of {len(structure)} atoms (sites {bad[:5]}) contain NaN or infinity.",
            "fix the atomic positions of the input file.",
        )
    frac = structure.frac_coords
    if np.abs(frac).max() > MAX_FRACTIONAL_COORDINATE:
        site = int(np.argmax(np.abs(frac).max(axis=1)))
        raise InvalidCoordinatesError(
            f"Site {site} has the fractional coordinates {frac[site].tolist()}, more than "
            f"{MAX_FRACTIONAL_COORDINATE:g} cells away: its position within the cell is lost to round-off.",
            "give positions inside the cell (fractional coordinates in [0, 1), or Cartesian in Angstrom).",
        )
    if max_atoms is not None:
        raise_limit = _RAISE_LIMIT.format(name="max_atoms", option="max-atoms")
        if len(structure) > SUPERCELL_FACTOR * max_atoms:
            raise StructureTooLargeError(
                f"The structure has {len(structure)} atoms; inputs of more than {SUPERCELL_FACTOR * max_atoms} atoms "
                f"are refused before the search for a smaller cell (the model's limit is {max_atoms} atoms).",
                f"pass the primitive cell (structure.get_primitive_structure()), {raise_limit}.",
            )
        if edge_cutoff is not None and structure.volume > SUPERCELL_FACTOR * max_atoms * edge_cutoff**3:
            raise StructureTooLargeError(
                f"The cell's volume is {structure.volume:.4g} Angstrom^3, more than {SUPERCELL_FACTOR * max_atoms} "
                f"cubes of the model's edge cutoff ({edge_cutoff:g} Angstrom): the graphs of this cell would be mostly "
                "vacuum.",
                f"check the lattice (lengths in Angstrom, not Bohr or nm?) and pass a bulk cell, {raise_limit}.",
            )
    wrapped = wrapped_into_cell(structure)
    close = close_atom_distances(wrapped)
    if len(close):
        shortest = float(close.min())
        distance = f"{shortest:.3f}" if shortest >= 1e-3 else f"{shortest:.1e}"
        raise OverlappingAtomsError(
            f"Atoms are {distance} Angstrom apart (< {MIN_INTERATOMIC_DISTANCE} Angstrom).",
            "remove duplicated sites or fix the coordinates (fractional vs Cartesian?).",
        )
    return wrapped


def check_structure(
    structure: Structure, max_atomic_number: int, max_atoms: int | None = None, edge_cutoff: float | None = None
) -> Structure:
    """Raise a :class:`StructureInputError` if ``structure`` is not a crystal the model can handle; return it
    wrapped into its cell.

    Args:
        structure: the crystal as the user gave it.
        max_atomic_number: largest Z the model's embedding knows.
        max_atoms: the model's limit on the atoms of its graph cell, to bound the input's atoms and volume
            before any neighbour search (:func:`check_geometry`; None: no such bound).
        edge_cutoff: the model's edge cutoff, Angstrom, for the bound on the volume.
    """
    wrapped = check_geometry(structure, max_atoms, edge_cutoff)
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
    return wrapped


MAX_CENTRING: int = 4
"""Most lattice points of a conventional standard cell (F centring): it has at most 4x the atoms of the primitive
cell, which has at most those of any cell of the crystal."""


def _standard_cell_atoms(structure: Structure, symprec: float, angle_tolerance: float) -> int:
    """Atoms of spglib's conventional standard cell of ``structure`` (its own size when spglib finds none)."""
    dataset = SpacegroupAnalyzer(structure, symprec=symprec, angle_tolerance=angle_tolerance).get_symmetry_dataset()
    return len(structure) if dataset is None else len(dataset.std_types)


def check_size(structure: Structure, max_atoms: int, symprec: float, angle_tolerance: float) -> None:
    """Raise :class:`StructureTooLargeError` when the graphs' cell would have more than ``max_atoms`` atoms.

    Args:
        structure: the crystal as the user gave it, already through :func:`check_structure` with the same
            ``max_atoms`` (which bounds the input atoms before this symmetry search).
        max_atoms: limit on the atoms of the conventional standard cell.
        symprec: spglib distance tolerance of the standardisation (Angstrom).
        angle_tolerance: spglib angle tolerance of the standardisation (degrees).
    """
    if MAX_CENTRING * len(structure) <= max_atoms:  # no standard cell can exceed the limit: skip the search
        return
    raise_limit = _RAISE_LIMIT.format(name="max_atoms", option="max-atoms")
    graph_atoms = _standard_cell_atoms(structure, symprec, angle_tolerance)
    if graph_atoms <= max_atoms:
        return
    fix = f"pass the primitive cell if this is a supercell (structure.get_primitive_structure()), {raise_limit}."
    raise StructureTooLargeError(
        f"The crystal's smallest standard cell at a tolerance of {symprec} Angstrom has {graph_atoms} atoms (input: "
        f"{len(structure)}), more than the limit of {max_atoms}.",
        fix,
    )


_DIMENSION_NAMES = {0: "a molecule or cluster", 1: "a chain", 2: "a slab or isolated layer"}


def check_edges(material: PreparedMaterial, max_edges: int, cutoff_note: str) -> None:
    """Raise a :class:`StructureInputError` when the edge list is too large or does not describe a bulk crystal.

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
    dimensions = periodic_dimensions(material.edges, material.num_atoms)
    if dimensions < 3:
        raise NotBulkCrystalError(
            f"The structure is {_DIMENSION_NAMES[dimensions]} surrounded by vacuum: within the model's edges "
            f"({cutoff_note}) its atoms connect along only {dimensions} of the 3 lattice directions.",
            out_of_scope,
        )
