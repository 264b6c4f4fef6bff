"""Checks a crystal must pass before a model predicts its elastic tensor, and their typed errors.

Every failure is a :class:`StructureInputError` subclass whose message says what is wrong and how to
fix it; callers that handle many structures (the CLI) add the file name and go on with the others.
This module checks the crystal alone; the checks against a model's graphs (node features of its elements, its
edge list) are in :mod:`stn_plugin.graph.checks`.
Valid crystals in unusual settings (left-handed lattice vectors, non-reduced cells, supercells) pass.

Size limits. The model builds its graphs on the crystal's conventional standard cell
(:mod:`stn_plugin.structure.canonical`), so a supercell is reduced automatically whenever spglib finds the
smaller cell at the converter's tolerance (0.01 Angstrom) and predicts exactly like that cell. The limits
apply, in this order and before any graph is built, to

1. the input: more than ``SUPERCELL_FACTOR * max_atoms`` atoms is refused before the symmetry search
   (spglib's search for a smaller cell grows as N^2: about 10 s for a 4096-atom cell without symmetry);
2. the standard cell: more than ``max_atoms`` (default :data:`stn_plugin.limits.MAX_ATOMS`, 500) atoms;
3. the edge list of the standard cell: more than ``max_edges`` (default :data:`stn_plugin.limits.MAX_EDGES`,
   60,000) directed edges, counted exactly after edge selection, before the 21 strained graphs and the forward pass
   (:func:`stn_plugin.graph.checks.check_edges`).
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray
from pymatgen.core import Structure
from pymatgen.optimization.neighbors import find_points_in_spheres
from pymatgen.symmetry.analyzer import SpacegroupAnalyzer

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


class InvalidSitePropertyError(StructureInputError):
    """A site property that the symmetry search reads (``magmom``) is not a finite number or three-vector."""


class OverlappingAtomsError(StructureInputError):
    """Two atoms closer than ``MIN_INTERATOMIC_DISTANCE``."""


class UnsupportedElementError(StructureInputError):
    """An element without node features, or beyond the model's embedding."""


class IsolatedAtomsError(StructureInputError):
    """Atoms without any neighbour in the graph (a molecule or a slab with vacuum)."""


class NotBulkCrystalError(StructureInputError):
    """A molecule, chain or slab: some group of atoms connected through atoms less than
    :data:`stn_plugin.graph.checks.VACUUM_GAP` apart does not repeat along all three lattice directions."""


class StructureTooLargeError(StructureInputError):
    """More atoms or edges than the prediction limits (``max_atoms``, ``max_edges``)."""


class NotACrystalError(StructureInputError):
    """An input that is neither a pymatgen ``Structure`` nor a periodic ASE ``Atoms`` (a ``Molecule``, a path...)."""


def as_structure(value: object) -> Structure:
    """The pymatgen ``Structure`` of a crystal given as a pymatgen ``Structure`` or an ASE ``Atoms`` (converted by
    pymatgen's ``AseAtomsAdaptor``: the same cell, positions and Cartesian frame).

    Raises:
        NotACrystalError: anything else, or an ``Atoms`` that is not periodic in all three directions.
    """
    if isinstance(value, Structure):
        return value
    from ase import Atoms

    if isinstance(value, Atoms):
        if not all(value.pbc):
            raise NotACrystalError(
                f"The ASE Atoms is not periodic in all three directions (pbc={value.pbc.tolist()}).",
                "give it the crystal's cell and set atoms.pbc = True; molecules and slabs are outside this model's "
                "scope.",
            )
        from pymatgen.io.ase import AseAtomsAdaptor

        return AseAtomsAdaptor.get_structure(value)
    raise NotACrystalError(
        f"Expected a crystal as a pymatgen Structure or an ASE Atoms, got {type(value).__name__}.",
        "read the file with pymatgen (Structure.from_file) or ASE (ase.io.read); molecules are outside this model's "
        "scope.",
    )


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


def _check_magnetic_moments(structure: Structure) -> None:
    """Raise :class:`InvalidSitePropertyError` unless the ``magmom`` site property (which pymatgen's symmetry search
    passes to spglib) is absent or a finite number on every site, or a finite three-vector on every site."""
    magmoms = structure.site_properties.get("magmom")
    if magmoms is None:
        return
    fix = (
        "give magnetic moments as numbers (Bohr magnetons) or three-vectors on every site, or remove them "
        "(structure.remove_site_property('magmom'))."
    )
    shapes = set()
    for index, value in enumerate(magmoms):
        try:
            moment = np.asarray(value, dtype=float)
        except (TypeError, ValueError):
            moment = np.array(np.nan)
        if moment.shape not in ((), (3,)) or not np.all(np.isfinite(moment)):
            raise InvalidSitePropertyError(
                f"Site {index} has the magnetic moment (site property 'magmom') {value!r:.60}, not a finite number "
                "or three-vector.",
                fix,
            )
        shapes.add(moment.shape)
    if len(shapes) > 1:
        raise InvalidSitePropertyError("The magnetic moments mix numbers and three-vectors.", fix)


def check_geometry(structure: Structure, max_atoms: int | None = None, edge_cutoff: float | None = None) -> Structure:
    """Check that ``structure`` is a finite, ordered, bounded periodic cell without overlapping atoms, cheapest
    and bounded checks first, and return it wrapped into its cell (:func:`wrapped_into_cell`).

    Order: atoms present and ordered; magnetic moments (if any) finite numbers or three-vectors; finite lattice entries below ``MAX_LATTICE_ENTRY``; a non-collapsed cell;
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
    _check_magnetic_moments(structure)
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
        structure: the crystal as the user gave it, already through
            :func:`stn_plugin.graph.checks.check_structure` with the same ``max_atoms`` (which bounds the input
            atoms before this symmetry search).
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
