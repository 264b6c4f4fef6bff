"""Reading crystal structures from files, and writing output files atomically.

:func:`read_structure` reads one crystal from

* CIF (``*.cif``, pymatgen's ``CifParser``);
* VASP POSCAR / CONTCAR (a name containing ``POSCAR`` or ``CONTCAR``, or ending in ``.vasp`` /
  ``.poscar``; pymatgen's ``Poscar``);
* pymatgen JSON (``*.json``, the output of ``Structure.as_dict()``);
* any other format ASE reads (extxyz, xsf, cube, ...; ``ase.io.read``);

each optionally compressed (``.gz``, ``.bz2``, ``.xz`` after the name: ``POSCAR.gz``, ``Si.cif.bz2``). Before any
parser runs, the file must be a regular file (not a FIFO or a device, whose reading may never end) of at most
:data:`MAX_FILE_BYTES` bytes after decompression (read as a stream, stopped at the limit: a compressed file cannot
expand without bound), and the atom counts a file declares up front (POSCAR counts, xyz and cfg headers, the sites
of a JSON structure, a CIF's atoms after its symmetry operations) are checked against the atom limit.

Every failure is a :class:`StructureReadError` subclass whose message names the file, the problem and
the fix. The checks here are about the file's content describing one ordered periodic crystal; the
physical checks of a structure against a model (overlapping atoms, neighbours within the cutoff, ...)
belong to the model.

:func:`atomic_path` and :func:`atomic_write_text` write through a temporary file in the target's folder
and ``os.replace`` it onto the target, so a reader never sees a half-written file; they only ever create or replace
regular files (:func:`check_output_path` refuses a symbolic link, a device, a FIFO, a socket or a folder at the
target). :func:`check_writable` checks a target before the work that produces it.
"""

from __future__ import annotations

import bz2
import gzip
import io
import json
import lzma
import os
import re
import stat
import tempfile
import warnings
import zlib
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any

import numpy as np
from pymatgen.core import Structure

from stn_plugin.limits import MAX_ATOMS, MAX_FILE_BYTES

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

COMPRESSIONS: dict[str, Callable[[Path], IO[bytes]]] = {".gz": gzip.open, ".bz2": bz2.open, ".xz": lzma.open}
"""Name endings of compressed files and their openers (binary mode)."""

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


class UnreadableFileError(StructureReadError):
    """The file exists but cannot be opened or read (permissions, a symbolic link loop, a name too long for the file
    system, a compressed file that does not decompress)."""


class InputTooLargeError(StructureReadError):
    """A file holds, or expands to when decompressed, more bytes than its limit."""


class EmptyStructureFileError(StructureReadError):
    """The file is empty or holds only whitespace."""


class UnknownStructureFormatError(StructureReadError):
    """No reader recognises the file's format."""


class StructureParseError(StructureReadError):
    """The reader for the file's format failed on its content."""


class MissingElementsError(StructureParseError):
    """A POSCAR without the element line (VASP 4 format): its atoms' elements are unknown."""


class MultipleStructuresError(StructureReadError):
    """The file holds several structures (multi-block CIF, trajectory); one per file is expected."""


class InvalidStructureError(StructureReadError):
    """The file parses but does not describe an ordered periodic crystal."""


class TooManyAtomsError(StructureReadError):
    """The file describes more atoms than the limit (checked before parsing where the file declares its atom count,
    on a CIF before its symmetry expansion)."""


class UnsafeOutputError(OSError):
    """An output path names an existing symbolic link, device, FIFO, socket or folder, which writing would replace
    with a regular file."""


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


def file_kind(mode: int) -> str:
    """What the ``st_mode`` of ``os.stat``/``os.lstat`` describes, e.g. ``"FIFO (named pipe)"``."""
    kinds = (
        (stat.S_ISREG, "regular file"),
        (stat.S_ISDIR, "directory"),
        (stat.S_ISLNK, "symbolic link"),
        (stat.S_ISFIFO, "FIFO (named pipe)"),
        (stat.S_ISCHR, "character device"),
        (stat.S_ISBLK, "block device"),
        (stat.S_ISSOCK, "socket"),
    )
    return next((name for test, name in kinds if test(mode)), "special file")


def os_error(exc: OSError) -> str:
    """``exc`` as ``"PermissionError: Permission denied"`` (without the file name, which the caller gives)."""
    return f"{type(exc).__name__}: {exc.strerror or exc}"


def compression_of(path: Path) -> str | None:
    """The compression suffix of ``path``'s name (a key of :data:`COMPRESSIONS`), None for an uncompressed name."""
    return next((suffix for suffix in COMPRESSIONS if path.name.lower().endswith(suffix)), None)


class _CappedReader(io.RawIOBase):
    """A binary stream that raises :class:`InputTooLargeError` once more than ``limit`` bytes have been read."""

    def __init__(self, stream: IO[bytes], path: Path, limit: int, fix: str) -> None:
        super().__init__()
        self._stream, self._path, self._limit, self._fix, self._read = stream, path, limit, fix, 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        count = self._stream.readinto(buffer)  # type: ignore[attr-defined]
        self._read += count
        if self._read > self._limit:
            expanded = " when decompressed" if compression_of(self._path) else ""
            raise InputTooLargeError(
                self._path, f"the file holds more than {self._limit:,} bytes{expanded} (the limit)", self._fix
            )
        return count

    def close(self) -> None:
        self._stream.close()
        super().close()


def open_input(path: str | os.PathLike[str], max_bytes: int | None, fix: str = "") -> IO[bytes]:
    """``path`` opened for reading (binary), decompressed as a stream when its name ends in a key of
    :data:`COMPRESSIONS`; reading more than ``max_bytes`` bytes (after decompression; None: no limit) raises
    :class:`InputTooLargeError`, whose fix is ``fix``.

    Raises:
        OSError: the file cannot be opened.
    """
    path = Path(path)
    suffix = compression_of(path)
    stream = COMPRESSIONS[suffix](path) if suffix else open(path, "rb")
    if max_bytes is None:
        return stream
    return io.BufferedReader(_CappedReader(stream, path, max_bytes, fix))


def _read_file(path: Path, max_bytes: int | None) -> bytes:
    """The content of the structure file ``path``, decompressed, after the checks of the module docstring."""
    try:
        mode = path.stat().st_mode
    except FileNotFoundError:
        raise StructureFileNotFoundError(path, "no such file", "Check the path.") from None
    except OSError as exc:  # a symbolic link loop, a name too long, a folder without permission
        raise UnreadableFileError(path, f"cannot be opened ({os_error(exc)})", _CHECK_PATH) from None
    if stat.S_ISDIR(mode):
        raise StructureFileNotFoundError(path, "is a directory, not a structure file", "Give the files in it instead.")
    if not stat.S_ISREG(mode):
        raise StructureFileNotFoundError(
            path,
            f"is a {file_kind(mode)}, not a regular file (reading it might never end)",
            "Give a structure file.",
        )
    fix = (
        "A structure file of a crystal within the atom limit is far smaller: check that this is the right file, "
        "or raise the limit (read_structure(..., max_bytes=N))."
    )
    try:
        stream = open_input(path, max_bytes, fix)
    except OSError as exc:
        raise UnreadableFileError(path, f"could not be read ({os_error(exc)})", _CHECK_PATH) from None
    suffix = compression_of(path)
    with stream:
        try:
            return stream.read()
        except (EOFError, zlib.error, lzma.LZMAError, OSError) as exc:  # gzip and bz2 report damage as OSError
            detail = os_error(exc) if isinstance(exc, OSError) else f"{type(exc).__name__}: {exc}"
            if suffix is None:
                raise UnreadableFileError(path, f"could not be read ({detail})", _CHECK_PATH) from None
            raise UnreadableFileError(
                path,
                f"could not be decompressed ({detail})",
                f"Give an intact {suffix} file, or the uncompressed file under a name without {suffix}.",
            ) from None


_CHECK_PATH = "Check the path (a symbolic link loop? a name too long?) and the file's permissions."


def _text(data: bytes) -> str:
    """A text file's content (UTF-8; undecodable bytes replaced, as pymatgen reads CIF files)."""
    return data.decode("utf-8", errors="replace")


def _format_of(path: Path) -> str:
    """'cif', 'poscar', 'json' or 'ase' from the file name (without its compression suffix)."""
    name = path.name.lower()
    suffix = compression_of(path)
    name = name[: -len(suffix)] if suffix else name
    if name.endswith(".cif"):
        return "cif"
    if name.endswith(".json"):
        return "json"
    if "poscar" in name or "contcar" in name or name.endswith(".vasp"):
        return "poscar"
    return "ase"


def _check_atom_count(path: Path, atoms: int, max_atoms: int | None, what: str, detail: str = "") -> None:
    """Raise :class:`TooManyAtomsError` if ``atoms`` exceeds ``max_atoms`` (message: ``what`` N atoms ``detail``)."""
    if max_atoms is not None and atoms > max_atoms:
        raise TooManyAtomsError(
            path,
            f"{what} {atoms} atoms{detail}, more than the limit of {max_atoms}",
            "Give the primitive cell, or raise the limit (read_structure(..., max_atoms=N); stn models predict "
            "--max-atoms N allows 4 N) if time and memory allow.",
        )


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


def _read_cif(path: Path, data: bytes, max_atoms: int | None) -> list[Structure]:
    from pymatgen.io.cif import CifParser

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        parser = CifParser.from_str(_text(data), occupancy_tolerance=1.05)  # 1.001 (rounding) is occupancy 1
        if max_atoms is not None:
            detail = " after its symmetry operations (refused before pymatgen expands it)"
            _check_atom_count(path, _cif_atoms(parser), max_atoms, "the CIF describes about", detail)
        return parser.parse_structures(primitive=False)


def _missing_elements(path: Path) -> MissingElementsError:
    return MissingElementsError(
        path,
        "the POSCAR has no element line (VASP 4 format) and no element symbols after the coordinates, so the "
        "elements of its atoms are unknown (pymatgen would name them H, He, Li, ... in order)",
        "Add the line of element symbols (e.g. 'Si' or 'Na Cl', one per count, as VASP 5 writes it) between the "
        "lattice vectors and the counts line.",
    )


def _check_poscar_counts(path: Path, text: str, max_atoms: int | None) -> None:
    """Raise :class:`TooManyAtomsError` if the atom counts of a POSCAR exceed ``max_atoms``,
    :class:`StructureParseError` unless its coordinate lines match the counts, and :class:`MissingElementsError`
    for a VASP 4 file whose coordinate lines end in selective-dynamics flags without the ``Selective dynamics`` line
    (pymatgen would read the flag T as tritium).

    The coordinate block is the lines after ``Direct``/``Cartesian`` up to the first blank line (what follows,
    e.g. velocities, is another block); pymatgen drops extra lines silently and fails with IndexError on too few.
    """
    lines = text.splitlines()
    i = 5
    if len(lines) <= i:
        return
    vasp4 = bool(lines[i].split()) and lines[i].split()[0].lstrip("+-").isdigit()
    i += 0 if vasp4 else 1  # the element line (VASP 5)
    try:
        counts = [int(v) for v in lines[i].split()]
    except (IndexError, ValueError):
        return  # pymatgen reports a malformed header itself
    _check_atom_count(path, sum(counts), max_atoms, "the POSCAR's counts line declares")
    i += 1
    selective = i < len(lines) and lines[i].strip()[:1] in ("s", "S")
    i += 2 if selective else 1  # Selective dynamics, Direct / Cartesian
    first = lines[i].split() if i < len(lines) else []
    if vasp4 and not selective and len(first) >= 6 and all(flag in ("T", "F") for flag in first[3:6]):
        raise _missing_elements(path)
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


def _read_poscar(path: Path, data: bytes, max_atoms: int | None) -> list[Structure]:
    from pymatgen.io.vasp import Poscar
    from pymatgen.io.vasp.inputs import BadPoscarWarning

    text = _text(data)
    _check_poscar_counts(path, text, max_atoms)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        warnings.filterwarnings("error", "Elements in POSCAR cannot be determined", BadPoscarWarning)
        try:
            return [Poscar.from_str(text).structure]
        except BadPoscarWarning:
            raise _missing_elements(path) from None


def _read_json(path: Path, data: bytes, max_atoms: int | None) -> list[Structure]:
    content = json.loads(data)
    try:
        check_json_modules(content, "the file")
    except UntrustedJsonError as exc:
        raise StructureParseError(path, str(exc), "Or give the structure as CIF or POSCAR.") from None
    items = content if isinstance(content, list) else [content]
    for item in items:
        if isinstance(item, dict) and isinstance(item.get("sites"), list):
            _check_atom_count(path, len(item["sites"]), max_atoms, "the structure lists")
    if isinstance(content, list):
        return [Structure.from_dict(item) for item in content]
    if not isinstance(content, dict) or "lattice" not in content or "sites" not in content:
        raise ValueError("the JSON object is not a pymatgen Structure (no 'lattice' and 'sites' keys)")
    return [Structure.from_dict(content)]


def _check_xyz_counts(path: Path, text: str, max_atoms: int | None) -> None:
    """Check the atom count of every frame of an (ext)xyz file before ASE reads it: ASE reads as many lines as a
    frame declares, past the end of the file (a 100-byte file declaring 10^12 atoms would never finish)."""
    lines = text.splitlines()
    i = 0
    while i < len(lines) and lines[i].strip():
        try:
            declared = int(lines[i])
        except ValueError:
            return  # not a count line: ASE reports the malformed frame
        _check_atom_count(path, declared, max_atoms, "a frame of the file declares")
        if declared < 0 or i + 2 + declared > len(lines):
            found = max(len(lines) - i - 2, 0)
            raise StructureParseError(
                path,
                f"line {i + 1} declares {declared} atoms, but {found} lines follow the frame's comment line",
                "Make the count on the first line of each frame match its atom lines.",
            )
        i += 2 + declared


_CFG_COUNT = re.compile(r"^\s*Number of particles\s*=\s*(\d+)", re.MULTILINE)


def _check_declared_atoms(path: Path, fmt: str, text: str, max_atoms: int | None) -> None:
    """Check the atom counts an ASE format declares before its atoms (xyz, extxyz, cfg) against ``max_atoms`` and
    the lines of the file, before ASE reads or allocates that many."""
    if fmt in ("xyz", "extxyz"):
        _check_xyz_counts(path, text, max_atoms)
    elif fmt == "cfg" and (match := _CFG_COUNT.search(text)):
        declared = int(match.group(1))
        _check_atom_count(path, declared, max_atoms, "the CFG header declares")
        if declared > text.count("\n"):
            raise StructureParseError(
                path,
                f"the CFG header declares {declared} atoms, more than the file has lines",
                "Make 'Number of particles' match the atom lines.",
            )


def _read_ase(path: Path, data: bytes, max_atoms: int | None) -> list[Structure]:
    import ase.io
    from ase.io.formats import UnknownFileTypeError, filetype, get_ioformat
    from pymatgen.io.ase import AseAtomsAdaptor

    peek = io.BytesIO(data)
    peek.name = str(path)  # type: ignore[attr-defined]  # filetype matches the name, then the content
    try:
        fmt = filetype(peek)
        ioformat = get_ioformat(fmt)
    except UnknownFileTypeError as exc:
        raise UnknownStructureFormatError(
            path,
            f"unknown structure format (ASE: {exc})",
            f"Give a file in {STRUCTURE_FORMATS}, named with its extension.",
        ) from exc
    text = None if ioformat.isbinary else _text(data)
    if text is not None:
        _check_declared_atoms(path, fmt, text, max_atoms)
    if ioformat.acceptsfd:
        source: Any = io.BytesIO(data) if text is None else io.StringIO(text)
    elif compression_of(path):
        raise StructureParseError(
            path, f"ASE reads the {fmt} format only from an uncompressed file", "Decompress the file first."
        )
    else:
        source = path
    frames = ase.io.read(source, format=fmt, index=":")
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


_READERS: dict[str, Callable[[Path, bytes, int | None], list[Structure]]] = {
    "cif": _read_cif,
    "poscar": _read_poscar,
    "json": _read_json,
    "ase": _read_ase,
}
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


def read_structure(
    path: str | os.PathLike[str], max_atoms: int | None = MAX_FILE_ATOMS, max_bytes: int | None = MAX_FILE_BYTES
) -> Structure:
    """Read one ordered periodic crystal from ``path`` (format chosen by the file name, see the module docstring).

    Args:
        path: the file.
        max_atoms: most atoms the file may describe (None: no limit); checked before parsing where the file declares
            its atom count, and on a CIF before pymatgen applies its symmetry operations (a 4 KB CIF can expand to
            19,200 atoms: minutes and gigabytes).
        max_bytes: most bytes the file may hold after decompression (None: no limit).

    Raises:
        StructureFileNotFoundError: no such file, or a directory, FIFO or device instead of a file.
        UnreadableFileError: the file cannot be opened, read or decompressed.
        InputTooLargeError: more than ``max_bytes`` bytes.
        EmptyStructureFileError: the file is empty.
        UnknownStructureFormatError: no reader recognises the format.
        StructureParseError: the reader failed on the content (:class:`MissingElementsError`: a POSCAR without
            its element line).
        MultipleStructuresError: the file holds several structures.
        InvalidStructureError: no atoms, a NaN or collapsed cell, no periodic cell, disordered sites.
        TooManyAtomsError: more than ``max_atoms`` atoms.
    """
    path = Path(path)
    data = _read_file(path, max_bytes)
    if not data.strip():
        raise EmptyStructureFileError(path, "the file is empty", f"Give a structure in {STRUCTURE_FORMATS}.")
    fmt = _format_of(path)
    try:
        structures = _READERS[fmt](path, data, max_atoms)
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
    _check_atom_count(path, len(structures[0]), max_atoms, "the structure has")
    return structures[0]


def check_output_path(path: str | os.PathLike[str]) -> None:
    """Raise :class:`UnsafeOutputError` if ``path`` names an existing symbolic link, device, FIFO, socket or folder:
    an output only ever creates or replaces a regular file (``os.replace`` onto ``/dev/null`` would replace the
    device; writing into a FIFO would wait for a reader). Nothing there, or a regular file, passes."""
    try:
        mode = os.lstat(path).st_mode
    except OSError:
        return  # nothing there, or the folder cannot be reached: creating the file reports why
    if not stat.S_ISREG(mode):
        raise UnsafeOutputError(
            f"{path} is a {file_kind(mode)}, not a regular file; outputs only create or replace regular files"
        )


def check_writable(path: str | os.PathLike[str], folder: bool = False) -> None:
    """Raise OSError unless an output can be written at ``path`` (``folder``: into the folder ``path``), before the
    work that produces it: the target passes :func:`check_output_path` (a folder must be a folder or a symbolic link
    to one), and a file can be created in its folder (missing folders are created).

    Raises:
        UnsafeOutputError: the target is not a regular file (or not a folder).
        OSError: the folder cannot be created or written.
    """
    path = Path(path)
    if folder:
        if path.exists() and not path.is_dir():
            raise UnsafeOutputError(f"{path} is a {file_kind(path.stat().st_mode)}, not a folder")
    else:
        check_output_path(path)
    directory = path if folder else path.parent
    directory.mkdir(parents=True, exist_ok=True)
    with tempfile.NamedTemporaryFile(dir=directory, prefix=".stn-write-check-"):
        pass


@contextmanager
def atomic_path(path: str | os.PathLike[str]) -> Iterator[Path]:
    """A temporary path next to ``path``; on a clean exit it replaces ``path`` (``os.replace``), else it is removed.

    The temporary name ends with (the last 100 characters of) ``path``'s name, so writers that choose the format by
    the suffix (e.g. gzip for ``.gz``) behave as for ``path``. The parent folder is created if missing.

    Raises:
        UnsafeOutputError: ``path`` is not a regular file (:func:`check_output_path`), checked before the temporary
            file is made and again before it replaces ``path``.

    Example::

        with atomic_path("out/train.jsonl.gz") as tmp:
            write_jsonl(records, tmp)
    """
    path = Path(path)
    check_output_path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(dir=path.parent, prefix=".tmp-", suffix=f"-{path.name[-100:]}")
    os.close(fd)
    tmp = Path(name)
    try:
        yield tmp
        os.chmod(tmp, 0o666 & ~_UMASK)
        check_output_path(path)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def atomic_write_text(text: str, path: str | os.PathLike[str]) -> Path:
    """Write UTF-8 ``text`` to ``path`` atomically; returns the path."""
    with atomic_path(path) as tmp:
        tmp.write_text(text, encoding="utf-8")
    return Path(path)
