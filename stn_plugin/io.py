"""Reading crystal structures from files, and writing output files atomically.

:func:`read_structure` reads one crystal from

* CIF (``*.cif``, pymatgen's ``CifParser``);
* VASP POSCAR / CONTCAR (a name containing ``POSCAR`` or ``CONTCAR``, or ending in ``.vasp`` /
  ``.poscar``; pymatgen's ``Poscar``);
* pymatgen JSON (``*.json``, the output of ``Structure.as_dict()``);
* any other format ASE reads (extxyz, xsf, cube, ...; ``ase.io.read``).

Every failure is a :class:`StructureReadError` subclass whose message names the file, the problem and
the fix. The checks here are about the file's content describing one ordered periodic crystal; the
physical checks of a structure against a model (overlapping atoms, neighbours within the cutoff, ...)
belong to the model.

:func:`atomic_path` and :func:`atomic_write_text` write through a temporary file in the target's folder
and ``os.replace`` it onto the target, so a reader never sees a half-written file.
"""

from __future__ import annotations

import json
import os
import tempfile
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np
from pymatgen.core import Structure

from stn_plugin.limits import MAX_ATOMS

MAX_FILE_ATOMS: int = 4 * MAX_ATOMS
"""Default limit on the atoms a structure file may describe (after a CIF's symmetry operations are applied): the
input limit of a prediction with the default ``max_atoms`` (:mod:`stn_plugin.structure.checks`)."""

TRUSTED_JSON_MODULES: tuple[str, ...] = ("pymatgen", "numpy")
"""Top-level packages whose classes an ``@module`` key of untrusted JSON may name (anything else is refused
before decoding, which would import it)."""

STRUCTURE_FORMATS = (
    "CIF (.cif), POSCAR/CONTCAR (.vasp), pymatgen JSON (.json) or a format ASE reads (e.g. .extxyz, .xsf)"
)
"""The formats :func:`read_structure` understands, as printed in error messages."""

_UMASK = os.umask(0)
os.umask(_UMASK)


class StructureReadError(ValueError):
    """A structure file could not be turned into one ordered periodic crystal.

    Attributes:
        path: the file.
        problem: what is wrong.
        fix: what the user can do about it.
    """

    def __init__(self, path: str | os.PathLike[str], problem: str, fix: str) -> None:
        self.path = Path(path)
        self.problem = problem
        self.fix = fix
        super().__init__(f"{self.path}: {problem}. {fix}")


class StructureFileNotFoundError(StructureReadError):
    """The file does not exist or is not a regular file."""


class EmptyStructureFileError(StructureReadError):
    """The file is empty or holds only whitespace."""


class UnknownStructureFormatError(StructureReadError):
    """No reader recognises the file's format."""


class StructureParseError(StructureReadError):
    """The reader for the file's format failed on its content."""


class MultipleStructuresError(StructureReadError):
    """The file holds several structures (multi-block CIF, trajectory); one per file is expected."""


class InvalidStructureError(StructureReadError):
    """The file parses but does not describe an ordered periodic crystal."""


class TooManyAtomsError(StructureReadError):
    """The file describes more atoms than the limit (checked on a CIF before its symmetry expansion)."""


class UntrustedJsonError(ValueError):
    """JSON names a Python module outside :data:`TRUSTED_JSON_MODULES` in an ``@module`` key."""


def check_json_modules(content: Any, where: str = "the JSON") -> None:
    """Raise :class:`UntrustedJsonError` if any ``@module`` key in ``content`` (decoded JSON, searched recursively)
    names a module outside :data:`TRUSTED_JSON_MODULES`: pymatgen's ``from_dict`` would import it, running its
    code. Call before ``Structure.from_dict`` on data from a file.

    Args:
        content: the decoded JSON (dicts, lists and scalars).
        where: what the content is, for the message (e.g. a file name).
    """
    stack = [content]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            module = item.get("@module")
            if module is not None and str(module).split(".")[0] not in TRUSTED_JSON_MODULES:
                raise UntrustedJsonError(
                    f"{where} names the Python module {str(module)[:80]!r} in an @module key; only classes of "
                    f"{', '.join(TRUSTED_JSON_MODULES)} are decoded (decoding would import and run that module). "
                    "Remove the entry (e.g. a site property) or write the structure with pymatgen's Structure.to()"
                )
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)


def _format_of(path: Path) -> str:
    """'cif', 'poscar', 'json' or 'ase' from the file name."""
    name = path.name.lower()
    if name.endswith(".cif"):
        return "cif"
    if name.endswith(".json"):
        return "json"
    if "poscar" in name or "contcar" in name or name.endswith(".vasp"):
        return "poscar"
    return "ase"


def _cif_atoms(parser: Any) -> int:
    """Atoms of the largest block of a CIF after its symmetry operations (distinct images of each listed site at
    1e-3 fractional resolution): a cheap count before pymatgen's expansion, whose cost grows as the atoms squared."""
    from pymatgen.io.cif import str2float

    largest = 0
    for block in parser._cif.data.values():
        if "_atom_site_fract_x" not in block.data:
            continue
        sites = np.array([[str2float(v) for v in block[f"_atom_site_fract_{c}"]] for c in "xyz"], dtype=float).T
        affine = np.array([op.affine_matrix for op in parser.get_symops(block)])
        images = np.einsum("oij,sj->soi", affine[:, :3, :3], sites) + affine[None, :, :3, 3]
        keys = np.round(np.mod(images, 1.0) * 1000).astype(np.int64) % 1000
        largest = max(largest, sum(len(np.unique(site, axis=0)) for site in keys))
    return largest


def _read_cif(path: Path, max_atoms: int | None) -> list[Structure]:
    from pymatgen.io.cif import CifParser

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        parser = CifParser(path, occupancy_tolerance=1.05)  # 1.001 (rounding) is occupancy 1
        if max_atoms is not None and (atoms := _cif_atoms(parser)) > max_atoms:
            raise TooManyAtomsError(
                path,
                f"the CIF describes about {atoms} atoms after its symmetry operations, more than the limit of "
                f"{max_atoms} (refused before pymatgen expands it)",
                "Give the primitive cell, or raise the limit (read_structure(..., max_atoms=N); stn models predict "
                "--max-atoms N allows 4 N) if time and memory allow.",
            )
        return parser.parse_structures(primitive=False)


def _check_poscar_counts(path: Path) -> None:
    """Raise :class:`StructureParseError` unless the coordinate lines of a POSCAR match its atom counts.

    The coordinate block is the lines after ``Direct``/``Cartesian`` up to the first blank line (what follows,
    e.g. velocities, is another block); pymatgen drops extra lines silently and fails with IndexError on too few.
    """
    lines = path.read_text(encoding="utf-8", errors="replace").splitlines()
    i = 5
    if len(lines) <= i:
        return
    if not lines[i].split() or not lines[i].split()[0].lstrip("+-").isdigit():
        i += 1  # the species line (VASP 5)
    try:
        counts = [int(v) for v in lines[i].split()]
    except (IndexError, ValueError):
        return  # pymatgen reports a malformed header itself
    i += 1
    if i < len(lines) and lines[i].strip()[:1] in ("s", "S"):
        i += 1  # Selective dynamics
    i += 1  # Direct / Cartesian
    coords = 0
    while i < len(lines) and lines[i].strip():
        coords, i = coords + 1, i + 1
    if coords != sum(counts):
        raise StructureParseError(
            path,
            f"the POSCAR's atom counts {counts} add up to {sum(counts)} atoms, but it has {coords} coordinate lines",
            "Make the counts line match the coordinate lines (one per atom), or remove the extra lines; "
            "a blank line ends the coordinates.",
        )


def _read_poscar(path: Path, max_atoms: int | None) -> list[Structure]:
    from pymatgen.io.vasp import Poscar

    _check_poscar_counts(path)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return [Poscar.from_file(path, check_for_potcar=False).structure]


def _read_json(path: Path, max_atoms: int | None) -> list[Structure]:
    content = json.loads(path.read_text(encoding="utf-8"))
    try:
        check_json_modules(content, "the file")
    except UntrustedJsonError as exc:
        raise StructureParseError(path, str(exc), "Or give the structure as CIF or POSCAR.") from None
    if isinstance(content, list):
        return [Structure.from_dict(item) for item in content]
    if not isinstance(content, dict) or "lattice" not in content or "sites" not in content:
        raise ValueError("the JSON object is not a pymatgen Structure (no 'lattice' and 'sites' keys)")
    return [Structure.from_dict(content)]


def _read_ase(path: Path, max_atoms: int | None) -> list[Structure]:
    import ase.io
    from ase.io.formats import UnknownFileTypeError
    from pymatgen.io.ase import AseAtomsAdaptor

    try:
        frames = ase.io.read(path, index=":")
    except UnknownFileTypeError as exc:
        raise UnknownStructureFormatError(
            path,
            f"unknown structure format (ASE: {exc})",
            f"Give a file in {STRUCTURE_FORMATS}, named with its extension.",
        ) from exc
    structures = []
    for atoms in frames if isinstance(frames, list) else [frames]:
        if not np.all(atoms.pbc) or abs(atoms.cell.volume) < 1e-8:
            raise InvalidStructureError(
                path,
                "no periodic cell (a molecule, or periodic along fewer than three directions)",
                "Give a bulk crystal with three lattice vectors and periodic boundaries in all directions.",
            )
        structures.append(AseAtomsAdaptor.get_structure(atoms))
    return structures


_READERS = {"cif": _read_cif, "poscar": _read_poscar, "json": _read_json, "ase": _read_ase}
_FORMAT_NAMES = {"cif": "CIF", "poscar": "POSCAR", "json": "pymatgen JSON", "ase": "ASE"}


def _check_crystal(path: Path, structure: Structure) -> None:
    """Raise :class:`InvalidStructureError` unless ``structure`` is an ordered crystal with a finite cell."""
    matrix = structure.lattice.matrix
    if len(structure) == 0:
        raise InvalidStructureError(path, "the structure has no atoms", "Give a structure with at least one site.")
    if not (np.all(np.isfinite(matrix)) and np.all(np.isfinite(structure.frac_coords))):
        raise InvalidStructureError(
            path,
            "the lattice or the coordinates contain NaN or infinity",
            "Fix the lattice vectors and atomic positions.",
        )
    if abs(np.linalg.det(matrix)) < 1e-6 * max(float(np.abs(matrix).max()), 1.0) ** 3:
        raise InvalidStructureError(
            path,
            f"the cell is collapsed (volume {abs(np.linalg.det(matrix)):.3g} Angstrom^3)",
            "Give three linearly independent lattice vectors.",
        )
    from pymatgen.core.periodic_table import DummySpecies

    dummies = sorted({str(sp) for sp in structure.composition if isinstance(sp, DummySpecies)})
    if dummies:
        raise InvalidStructureError(
            path,
            f"the structure has the species {', '.join(dummies)}, which is not a chemical element "
            "(pymatgen reads it as a dummy species)",
            "Replace it with the element symbol of that site (e.g. 'Si'), or remove the site.",
        )
    if not structure.is_ordered:
        raise InvalidStructureError(
            path,
            "the structure has partially occupied or mixed sites (disordered)",
            "Give an ordered cell, e.g. a supercell from pymatgen's OrderDisorderedStructureTransformation.",
        )


def read_structure(path: str | os.PathLike[str], max_atoms: int | None = MAX_FILE_ATOMS) -> Structure:
    """Read one ordered periodic crystal from ``path`` (format chosen by the file name, see the module docstring).

    Args:
        path: the file.
        max_atoms: most atoms the file may describe (None: no limit); a CIF is counted before pymatgen applies
            its symmetry operations (a 4 KB CIF can expand to 19,200 atoms: minutes and gigabytes).

    Raises:
        StructureFileNotFoundError: no such file.
        EmptyStructureFileError: the file is empty.
        UnknownStructureFormatError: no reader recognises the format.
        StructureParseError: the reader failed on the content.
        MultipleStructuresError: the file holds several structures.
        InvalidStructureError: no atoms, a NaN or collapsed cell, no periodic cell, disordered sites.
        TooManyAtomsError: more than ``max_atoms`` atoms.
    """
    path = Path(path)
    if path.is_dir():
        raise StructureFileNotFoundError(path, "is a directory, not a structure file", "Give the files in it instead.")
    if not path.is_file():
        raise StructureFileNotFoundError(path, "no such file", "Check the path.")
    with open(path, "rb") as stream:
        if not stream.read(1 << 16).strip():
            raise EmptyStructureFileError(path, "the file is empty", f"Give a structure in {STRUCTURE_FORMATS}.")
    fmt = _format_of(path)
    try:
        structures = _READERS[fmt](path, max_atoms)
    except StructureReadError:
        raise
    except Exception as exc:  # every reader has its own exception types; all mean "could not parse"
        raise StructureParseError(
            path,
            f"could not be read as {_FORMAT_NAMES[fmt]} ({type(exc).__name__}: {exc})",
            f"Check that the file is a valid {_FORMAT_NAMES[fmt]} file, or rename it with the extension of its "
            f"real format ({STRUCTURE_FORMATS}).",
        ) from exc
    if len(structures) != 1:
        raise MultipleStructuresError(
            path,
            f"the file holds {len(structures)} structures, expected one" if structures else "it holds no structure",
            "Write one structure per file.",
        )
    _check_crystal(path, structures[0])
    if max_atoms is not None and len(structures[0]) > max_atoms:
        raise TooManyAtomsError(
            path,
            f"the structure has {len(structures[0])} atoms, more than the limit of {max_atoms}",
            "Give the primitive cell, or raise the limit (read_structure(..., max_atoms=N); stn models predict "
            "--max-atoms N allows 4 N) if time and memory allow.",
        )
    return structures[0]


@contextmanager
def atomic_path(path: str | os.PathLike[str]) -> Iterator[Path]:
    """A temporary path next to ``path``; on a clean exit it replaces ``path`` (``os.replace``), else it is removed.

    The temporary name ends with ``path``'s name, so writers that choose the format by the suffix
    (e.g. gzip for ``.gz``) behave as for ``path``. The parent folder is created if missing.

    Example::

        with atomic_path("out/train.jsonl.gz") as tmp:
            write_jsonl(records, tmp)
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(dir=path.parent, prefix=".tmp-", suffix=f"-{path.name}")
    os.close(fd)
    tmp = Path(name)
    try:
        yield tmp
        os.chmod(tmp, 0o666 & ~_UMASK)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def atomic_write_text(text: str, path: str | os.PathLike[str]) -> Path:
    """Write UTF-8 ``text`` to ``path`` atomically; returns the path."""
    with atomic_path(path) as tmp:
        tmp.write_text(text, encoding="utf-8")
    return Path(path)
