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

import numpy as np
from pymatgen.core import Structure

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


def _read_cif(path: Path) -> list[Structure]:
    from pymatgen.io.cif import CifParser

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return CifParser(path).parse_structures(primitive=False)


def _read_poscar(path: Path) -> list[Structure]:
    from pymatgen.io.vasp import Poscar

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return [Poscar.from_file(path, check_for_potcar=False).structure]


def _read_json(path: Path) -> list[Structure]:
    content = json.loads(path.read_text(encoding="utf-8"))
    if isinstance(content, list):
        return [Structure.from_dict(item) for item in content]
    if not isinstance(content, dict) or "lattice" not in content or "sites" not in content:
        raise ValueError("the JSON object is not a pymatgen Structure (no 'lattice' and 'sites' keys)")
    return [Structure.from_dict(content)]


def _read_ase(path: Path) -> list[Structure]:
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
    if not structure.is_ordered:
        raise InvalidStructureError(
            path,
            "the structure has partially occupied or mixed sites (disordered)",
            "Give an ordered cell, e.g. a supercell from pymatgen's OrderDisorderedStructureTransformation.",
        )


def read_structure(path: str | os.PathLike[str]) -> Structure:
    """Read one ordered periodic crystal from ``path`` (format chosen by the file name, see the module docstring).

    Raises:
        StructureFileNotFoundError: no such file.
        EmptyStructureFileError: the file is empty.
        UnknownStructureFormatError: no reader recognises the format.
        StructureParseError: the reader failed on the content.
        MultipleStructuresError: the file holds several structures.
        InvalidStructureError: no atoms, a NaN or collapsed cell, no periodic cell, disordered sites.
    """
    path = Path(path)
    if not path.is_file():
        raise StructureFileNotFoundError(path, "no such file", "Check the path.")
    with open(path, "rb") as stream:
        if not stream.read(1 << 16).strip():
            raise EmptyStructureFileError(path, "the file is empty", f"Give a structure in {STRUCTURE_FORMATS}.")
    fmt = _format_of(path)
    try:
        structures = _READERS[fmt](path)
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
