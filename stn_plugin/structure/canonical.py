"""The canonical cell in which edges are chosen, and its rotation back to the user's frame.

The ``cell_radius`` edge box is axis-aligned, so the edge set depends on how the cell is oriented
and which cell (primitive, conventional, supercell) is given. As in the authors' code, edges are
chosen on pymatgen's *conventional standard structure* (``SpacegroupAnalyzer.
get_conventional_standard_structure``: spglib-refined atoms, Setyawan-Curtarolo cell and
orientation). That cell depends only on the crystal, not on the input orientation or cell choice,
so every input gives the same edges and the same multiset of edge lengths.

Frame contract: ``CanonicalCell.rotation`` (R, orthogonal 3x3) maps canonical Cartesian vectors to
the user's Cartesian frame, ``r_user = R @ r_canonical`` (up to a translation, which no edge vector
sees). Graphs are built in the canonical frame (:mod:`stn_plugin.graph.material`); their positions are
the symmetry-refined ones (they differ from the input by at most ``symprec``). For an edge strategy that
does not depend on the cell (``radius``), the graphs are built on :func:`primitive_cell`
of the conventional cell, in the same Cartesian frame: the same crystal strained along the same axes,
with the same edges around every atom, so the same max-pooled features and U, at a fraction of the
atoms of a centred cell (a quarter for fcc).

R combines spglib's ``std_rotation_matrix`` (user frame -> spglib's standardised frame) with the
rigid map from spglib's refined cell to pymatgen's re-oriented conventional cell, which is found by
matching lattices (``Lattice.find_all_mappings``) and then atoms. R is unique only up to the crystal's
point-group operations g (R and R g map the canonical cell onto the same crystal), but the
axis-aligned box is not invariant under all of them, so the choice matters for the edge *vectors*:
R is the candidate closest to the identity (largest trace), so a structure that already is in the
conventional standard orientation gets R = I and exactly the authors' edges. For a rotated input
Q s the edge vectors are Q times those of s up to such a g; the edge lengths are identical, and as
U is invariant under the crystal's own symmetry operations, so are the physical targets.
R can be improper when pymatgen's conventional cell is the mirror image of the refined one; elastic
tensors and strains (even rank) transform the same under R and -R.

One more choice is left to the input: when the crystal's symmetry is lower than its lattice's (quartz,
point group 32, in a hexagonal lattice, 6/mmm), spglib may return the crystal in its standard cell in
either of several orientations related by a lattice rotation h that is not a crystal operation (for
quartz, a 60 degree turn about c), depending on the input cell. The network strains the cell along
fixed axes, so these are different inputs to it. :func:`_unique_orientation` picks one of them by a
rotation-covariant fingerprint of the atoms (a generic quartic form of the interatomic directions), so
that every input cell of the crystal gives the same canonical cell; the quartic form tells apart every
pair of orientations in which a rank-4 tensor (the elastic tensor) can differ.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import numpy as np
import spglib
from numpy.typing import ArrayLike, NDArray
from pymatgen.core import Structure
from pymatgen.symmetry.analyzer import SpacegroupAnalyzer

from stn_plugin.physics.frames import rotate_elastic_tensor
from stn_plugin.physics.symmetry import (
    DEFAULT_ANGLE_TOLERANCE,
    DEFAULT_SYMPREC,
    cartesian_operations,
    cartesian_rotations,
    distinct_matrices,
)

_MATCH_TOL: float = 1e-3
"""Angstrom; refined and conventional positions agree to round-off, so this is a loose bound."""
PRIMITIVE_TOLERANCE: float = 0.01
"""Angstrom; translation-equivalent atoms of a symmetry-refined cell agree to round-off, so this is a tight bound
that no distinct atom meets."""
_PROBE_ATOMS: int = 8
"""Atoms checked for a candidate translation before all of them."""


class StandardizationError(ValueError):
    """The conventional standard cell of a structure could not be found or mapped back."""


@dataclass(frozen=True)
class CanonicalCell:
    """A structure in the canonical frame plus the rotation to the user's frame.

    Attributes:
        structure: the cell in the canonical orientation (Angstrom).
        rotation: R, shape (3, 3), orthogonal; ``r_user = R @ r_canonical``.
        point_group: the crystal's point-group operations, Cartesian in the canonical frame, shape (n, 3, 3),
            exactly orthogonal, identity and improper operations included.
        primitive: whether ``structure`` is known to be a primitive cell (the conventional cell of a lattice
            without centring, space-group symbol P...); False when it is centred or not known.
    """

    structure: Structure
    rotation: NDArray[np.float64]
    point_group: NDArray[np.float64]
    primitive: bool = False

    def to_canonical_frame(self, elastic_tensor: ArrayLike) -> NDArray[np.float64]:
        """A Voigt C (6, 6) GPa given in the user's frame, expressed in the canonical frame (``R^T . C``; for a
        uniaxial crystal the unique axis is z, so C33 is its stiffness along c)."""
        return rotate_elastic_tensor(elastic_tensor, self.rotation.T)


class _DatasetRefinement(SpacegroupAnalyzer):
    """``SpacegroupAnalyzer`` whose refined structure is the standardised cell of the dataset it already has.

    spglib's ``refine_cell`` recomputes the symmetry dataset and returns its ``std_lattice``, ``std_positions``
    and ``std_types``; pymatgen's ``get_refined_structure`` calls it, and ``get_conventional_standard_structure``
    calls that again. Reading the dataset gives the same structure (bit-identical for all 1004 bundled
    materials) without the two extra spglib runs: 10 ms less per material, a fifth of a prediction.
    """

    def __init__(self, structure: Structure, symprec: float, angle_tolerance: float) -> None:
        super().__init__(structure, symprec=symprec, angle_tolerance=angle_tolerance)
        self._input_structure = structure
        self._refined: Structure | None = None

    def get_refined_structure(self, keep_site_properties: bool = False) -> Structure:
        """The standardised cell of the dataset (built once; ``get_conventional_standard_structure`` asks again and
        only reads it)."""
        if keep_site_properties:
            return super().get_refined_structure(keep_site_properties=True)
        if self._refined is None:
            dataset = self.get_symmetry_dataset()
            species = {
                int(p): site.specie for site, p in zip(self._input_structure, dataset.mapping_to_primitive, strict=True)
            }
            std_species = [species[int(p)] for p in dataset.std_mapping_to_primitive]
            self._refined = Structure(dataset.std_lattice, std_species, dataset.std_positions).get_sorted_structure()
        return self._refined


def _all_matched(b: Structure, frac: NDArray[np.float64], different: NDArray[np.bool_]) -> bool:
    """Whether every position ``frac`` (b's lattice) lies within ``_MATCH_TOL`` of an atom of b of its element."""
    dist = b.lattice.get_all_distances(frac, b.frac_coords)
    dist[different] = np.inf
    return bool(np.all(dist.min(axis=1) < _MATCH_TOL))


def _same_atoms(a: Structure, b: Structure, frac_b_of_a: NDArray[np.float64]) -> bool:
    """Whether the atoms of ``a`` (given as fractional coords in b's lattice) coincide with b's, up to a translation.

    Every candidate translation is first tried on a few atoms (a necessary condition, N instead of N^2
    distances) and only then on all of them: same answer, and large low-symmetry cells, whose candidates
    are many and mostly wrong, no longer cost N^3 (a rattled 768-atom cell: 40 s -> 2 s).
    """
    species_a, species_b = np.array(a.atomic_numbers), np.array(b.atomic_numbers)
    if len(a) != len(b) or sorted(species_a) != sorted(species_b):
        return False
    values, counts = np.unique(species_a, return_counts=True)
    anchor = int(np.flatnonzero(species_a == values[np.argmin(counts)])[0])  # rarest element: fewest trials
    different = species_a[:, None] != species_b[None, :]
    probe = slice(0, _PROBE_ATOMS)
    for j in np.flatnonzero(species_b == species_a[anchor]):
        shifted = frac_b_of_a + (b.frac_coords[j] - frac_b_of_a[anchor])
        if _all_matched(b, shifted[probe], different[probe]) and _all_matched(b, shifted, different):
            return True
    return False


def _conventional_to_refined(refined: Structure, conventional: Structure) -> NDArray[np.float64]:
    """One orthogonal M with ``r_refined = M @ r_conventional`` (same crystal, two cells and orientations).

    A proper M is preferred; an improper one is returned only when no proper one maps the atoms
    (pymatgen's conventional cell is then the mirror image of the refined one).
    """
    inv_ref = np.linalg.inv(refined.lattice.matrix)
    improper = None
    for _, rotation, _ in refined.lattice.find_all_mappings(conventional.lattice):
        if improper is not None and np.linalg.det(rotation) < 0:
            continue
        frac = conventional.cart_coords @ rotation.T @ inv_ref
        if _same_atoms(conventional, refined, frac):
            if np.linalg.det(rotation) > 0:
                return np.asarray(rotation, dtype=float)
            improper = np.asarray(rotation, dtype=float)
    if improper is None:
        raise StandardizationError(f"Could not map the conventional cell of {refined.formula} onto its refined cell.")
    return improper


def _closest_to_identity(rotation: NDArray[np.float64], user_operations: NDArray[np.float64]) -> NDArray[np.float64]:
    """Among ``g @ rotation`` for the proper point-group operations g of the user's structure, the one with the
    largest trace.

    Args:
        rotation: a valid canonical-to-user rotation R.
        user_operations: point-group operations of the crystal that map the user's cell onto itself, Cartesian in
            the user's frame, (n, 3, 3) (spglib's dataset of the user's structure).
    """
    ops = user_operations
    candidates = ops[np.linalg.det(ops) > 0] @ rotation
    return candidates[int(np.argmax(np.trace(candidates, axis1=1, axis2=2)))]


_FINGERPRINT_CUTOFF: float = 4.0
"""Angstrom; pairs of atoms within it enter the orientation fingerprint."""
_FINGERPRINT_FORM: NDArray[np.float64] = np.random.default_rng(20261201).normal(size=(3, 3, 3, 3))
"""Fixed generic coefficients of the quartic form of the orientation fingerprint."""


LATTICE_SYMPREC: float = 1e-5
"""Angstrom; spglib tolerance of the operations of the refined conventional lattice, which hold to round-off. A
loose tolerance would also return operations that only nearly map the lattice onto itself (a monoclinic lattice
whose c + a/2 is within 5 degrees of normal to a, as in Bi2O3 mp-23262): atoms turned by one of those inside the
same lattice are no longer the crystal."""


def _proper_lattice_operations(structure: Structure) -> NDArray[np.float64]:
    """Proper rotations (Cartesian, (n, 3, 3)) that map the lattice of ``structure`` onto itself (its holohedry),
    to ``LATTICE_SYMPREC`` (spglib on the lattice with one atom)."""
    lattice = structure.lattice.matrix
    symmetry = spglib.get_symmetry((lattice, [[0.0, 0.0, 0.0]], [1]), symprec=LATTICE_SYMPREC, angle_tolerance=-1.0)
    ops = cartesian_rotations(symmetry["rotations"], lattice)
    return ops[np.linalg.det(ops) > 0]


def _proper_parts(operations: NDArray[np.float64]) -> NDArray[np.float64]:
    """The distinct proper rotations ``det(g) g`` of point-group operations (n, 3, 3): the rotation group of their
    Laue class."""
    return distinct_matrices(operations * np.linalg.det(operations)[:, None, None])


def _fingerprint(structure: Structure, rotation: NDArray[np.float64]) -> float:
    """Generic quartic form of the directions r/|r| of the atom pairs of ``structure`` rotated by ``rotation``,
    weighted by Z_i Z_j exp(-|r| / Angstrom) (translation- and permutation-invariant, not rotation-invariant)."""
    centres, neighbours, images, distances = structure.get_neighbor_list(_FINGERPRINT_CUTOFF)
    keep = distances > 1e-8
    if not np.any(keep):
        return 0.0
    frac = structure.frac_coords[neighbours[keep]] + images[keep] - structure.frac_coords[centres[keep]]
    directions = (frac @ structure.lattice.matrix) @ rotation.T / distances[keep, None]
    z = np.asarray(structure.atomic_numbers, dtype=float)
    weights = z[centres[keep]] * z[neighbours[keep]] * np.exp(-distances[keep])
    form = np.einsum("abcd,ea,eb,ec,ed->e", _FINGERPRINT_FORM, directions, directions, directions, directions)
    return float(weights @ form)


def _unique_orientation(conventional: Structure, crystal: NDArray[np.float64]) -> tuple[Structure, NDArray[np.float64]]:
    """Among the conventional cell rotated by the proper operations h of its lattice, the one with the largest
    fingerprint, and that h (identity when the crystal has its lattice's full symmetry up to inversion).

    Args:
        conventional: the conventional standard cell.
        crystal: the crystal's point-group operations, Cartesian in the frame of ``conventional``, (n, 3, 3).
    """
    rotations = _proper_parts(crystal)  # the crystal's Laue group is rotations and -rotations
    lattice = _proper_lattice_operations(conventional)
    if len(lattice) == len(rotations):  # the rotations are lattice operations, so the two groups are equal
        return conventional, np.eye(3)
    candidates: list[NDArray[np.float64]] = []  # one h per coset h G of the crystal's rotation group G
    for h in lattice:
        relative = h.T @ np.asarray(candidates).reshape(-1, 3, 3)  # h^-1 c
        if not (np.abs(relative[:, None] - rotations[None]).max(axis=(-2, -1)) < 1e-6).any():
            candidates.append(h)
    if len(candidates) == 1:
        return conventional, np.eye(3)
    best = max(candidates, key=lambda h: _fingerprint(conventional, h))
    oriented = Structure(
        conventional.lattice,
        conventional.species,
        conventional.cart_coords @ best.T,
        coords_are_cartesian=True,
        to_unit_cell=True,
    )
    return oriented, best


def canonicalize(
    structure: Structure,
    symprec: float = DEFAULT_SYMPREC,
    angle_tolerance: float = DEFAULT_ANGLE_TOLERANCE,
) -> CanonicalCell:
    """pymatgen's conventional standard cell of ``structure`` and the rotation back to its frame.

    Args:
        structure: ordered crystal in any orientation and cell (primitive, conventional, supercell).
        symprec: spglib distance tolerance (Angstrom).
        angle_tolerance: spglib angle tolerance (degrees).

    Returns:
        ``CanonicalCell`` with the conventional standard structure and R (see module docstring).

    Raises:
        StandardizationError: if spglib finds no symmetry dataset or the cells cannot be matched.
    """
    if not structure.is_ordered:
        raise StandardizationError(f"{structure.formula}: disordered structures are not supported.")
    sga = _DatasetRefinement(structure, symprec, angle_tolerance)
    dataset = sga.get_symmetry_dataset()
    if dataset is None:
        raise StandardizationError(f"spglib found no symmetry dataset for {structure.formula} (symprec={symprec}).")
    refined = sga.get_refined_structure()
    conventional = sga.get_conventional_standard_structure()
    to_refined = _conventional_to_refined(refined, conventional)
    rotation = np.asarray(dataset.std_rotation_matrix, dtype=float).T @ to_refined
    # the point group of the standardised cell from spglib's tables (the dataset's rotations of a supercell input
    # miss the operations that do not map its lattice onto itself), in the conventional cell's frame
    standard = spglib.get_symmetry_from_database(dataset.hall_number)["rotations"]
    crystal = to_refined.T @ cartesian_rotations(standard, refined.lattice.matrix) @ to_refined
    conventional, orientation = _unique_orientation(conventional, crystal)
    rotation = _closest_to_identity(rotation @ orientation.T, cartesian_operations(sga, structure))
    return CanonicalCell(
        structure=conventional,
        rotation=rotation,
        point_group=orientation @ crystal @ orientation.T,
        primitive=dataset.international.startswith("P"),
    )


_CENTRING_TRANSLATIONS: int = 4
"""Most pure translations of a conventional cell, the zero included (F: 4, R: 3, I and base centring: 2)."""


def _lattice_translations(structure: Structure, tolerance: float) -> NDArray[np.float64] | None:
    """The pure translations (fractional, each in [-1/2, 1/2), the zero first) that map every atom of ``structure``
    onto an atom of its element within ``tolerance`` Angstrom, or None for more than ``_CENTRING_TRANSLATIONS``
    (a supercell). Candidates are the differences of positions of the rarest element, tried on ``_PROBE_ATOMS``
    atoms at once and then one at a time on all atoms (N^2 distances)."""
    frac, species = structure.frac_coords, np.array(structure.atomic_numbers)
    values, counts = np.unique(species, return_counts=True)
    rarest = np.flatnonzero(species == values[np.argmin(counts)])
    candidates = frac[rarest] - frac[rarest[0]]
    candidates -= np.round(candidates)

    def maps(translations: NDArray[np.float64], atoms: NDArray[np.int64]) -> NDArray[np.bool_]:
        diff = frac[None, atoms, None, :] + translations[:, None, None, :] - frac[None, None, :, :]
        diff -= np.round(diff)  # (k, atoms, N, 3)
        close = np.linalg.norm(diff @ structure.lattice.matrix, axis=-1) < tolerance
        return np.any(close & (species[atoms, None] == species[None, :]), axis=-1).all(axis=-1)

    found: list[NDArray[np.float64]] = []
    for translation in candidates[maps(candidates, np.arange(min(len(frac), _PROBE_ATOMS)))]:
        if maps(translation[None], np.arange(len(frac)))[0]:
            found.append(translation)
            if len(found) > _CENTRING_TRANSLATIONS:
                return None
    return np.array(found)


def _primitive_basis(translations: NDArray[np.float64]) -> NDArray[np.float64] | None:
    """Three of the n pure translations (zero first) and the cell vectors (fractional rows, right-handed) that span a
    cell of 1/n the volume, or None when no three of them do."""
    vectors = np.concatenate([translations[1:], np.eye(3)])
    triples = np.array(list(itertools.combinations(range(len(vectors)), 3)))
    volumes = np.abs(np.linalg.det(vectors[triples]))
    spanning = np.flatnonzero(np.abs(volumes * len(translations) - 1.0) < 1e-6)
    if not len(spanning):
        return None
    basis = vectors[triples[spanning[0]]]
    return basis if np.linalg.det(basis) > 0 else basis[[1, 0, 2]]


def primitive_cell(structure: Structure, tolerance: float = PRIMITIVE_TOLERANCE) -> Structure:
    """The primitive cell of ``structure`` in the same Cartesian frame: its lattice vectors are lattice translations
    of ``structure`` and its sites keep their Cartesian positions (up to lattice vectors).

    The n pure translations of the atoms (:func:`_lattice_translations`) and the three cell vectors offer the new
    basis: the first three of them spanning a cell of 1/n the volume, each atom kept once per translation orbit
    (a fifth of the time of pymatgen's ``get_primitive_structure`` for the centred conventional cells of the bundled
    data). pymatgen's search (which also Niggli-reduces the lattice) is used for a supercell (more translations than
    a centring has) and when no such three exist. The edges of a distance-based strategy do not depend on the
    choice.

    Args:
        structure: an ordered cell, typically the symmetry-refined conventional cell (translation-equivalent
            atoms agree to round-off).
        tolerance: Angstrom; two sites are translation-equivalent when they map within it.

    Raises:
        StandardizationError: the result is not a whole fraction of the cell (number of atoms and volume do
            not shrink by the same integer factor).
    """
    translations = _lattice_translations(structure, tolerance)
    if translations is not None and len(translations) == 1:
        return structure
    basis = None if translations is None else _primitive_basis(translations)
    if basis is None:
        primitive = structure.get_primitive_structure(tolerance=tolerance)
    else:
        lattice = basis @ structure.lattice.matrix
        frac = structure.cart_coords @ np.linalg.inv(lattice)
        frac -= np.floor(frac + 1e-9)
        keep: list[int] = []  # one atom of every translation orbit
        for k in range(len(structure)):
            diff = frac[keep] - frac[k]
            diff -= np.round(diff)
            if not np.any(np.linalg.norm(diff @ lattice, axis=1) < tolerance):
                keep.append(k)
        primitive = Structure(lattice, [structure[k].species for k in keep], frac[keep])
    factor = len(structure) // len(primitive)
    if len(structure) % len(primitive) or abs(primitive.volume * factor - structure.volume) > 1e-6 * structure.volume:
        raise StandardizationError(
            f"{structure.formula}: the primitive cell ({len(primitive)} atoms, {primitive.volume:.4f} A^3) is not a "
            f"whole fraction of the cell ({len(structure)} atoms, {structure.volume:.4f} A^3)."
        )
    return primitive
