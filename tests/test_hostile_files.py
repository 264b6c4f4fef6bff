"""Hostile and careless files: structure files that lie about their elements or atom counts, compression bombs,
special files given as inputs, and outputs that name something other than a regular file.

The cases that hung or exhausted memory before their checks existed run in one subprocess under an address-space
limit and a time limit (``tests.test_hostile_inputs._run_limited``), so a regression fails instead of hanging.
"""

from __future__ import annotations

import bz2
import gzip
import json
import lzma
import os
import re
from pathlib import Path

import pytest
from ase.build import bulk
from ase.io import write as ase_write
from pymatgen.core import Lattice, Structure

import stn_plugin.io
from stn_plugin.data.loaders import read_jsonl
from stn_plugin.data.records import FilterReason
from stn_plugin.io import (
    InputTooLargeError,
    MissingElementsError,
    StructureFileNotFoundError,
    StructureParseError,
    TooManyAtomsError,
    UnreadableFileError,
    UnsafeOutputError,
    atomic_path,
    atomic_write_text,
    check_output_path,
    check_writable,
    read_structure,
)
from tests.test_hostile_inputs import _jsonl, _line, _run_limited

COMPRESSORS = {".gz": gzip.compress, ".bz2": bz2.compress, ".xz": lzma.compress}


def _nacl() -> Structure:
    return Structure.from_spacegroup("Fm-3m", Lattice.cubic(5.64), ["Na", "Cl"], [[0, 0, 0], [0.5, 0.5, 0.5]])


def _vasp4(structure: Structure, selective: bool = False, flags: bool = False, symbols: bool = False) -> str:
    """``structure`` as a VASP 4 POSCAR: no element line; optionally selective dynamics (with or without its
    ``Selective dynamics`` line) and element symbols after the coordinates."""
    species = [site.specie.symbol for site in structure]
    counts = [species.count(symbol) for symbol in dict.fromkeys(species)]
    lines = ["no elements here", "1.0", *(" ".join(f"{x:.6f}" for x in row) for row in structure.lattice.matrix)]
    lines += [" ".join(map(str, counts)), *(["Selective dynamics"] if selective else []), "Direct"]
    for symbol, frac in zip(species, structure.frac_coords, strict=True):
        tail = (" T T T" if flags else "") + (f" {symbol}" if symbols else "")
        lines.append(" ".join(f"{x:.6f}" for x in frac) + tail)
    return "\n".join(lines) + "\n"


@pytest.mark.parametrize(
    ("name", "selective", "flags"),
    [
        ("POSCAR", False, False),
        ("CONTCAR", True, True),  # selective dynamics, flags, no symbols after them
        ("relaxed.vasp", False, True),  # flags without the Selective dynamics line: T would be read as tritium
        ("POSCAR.gz", False, False),
    ],
)
@pytest.mark.parametrize(
    "structure", [_nacl(), Structure.from_spacegroup("Fd-3m", Lattice.cubic(5.43), ["Si"], [[0] * 3])]
)
def test_vasp4_poscar_without_elements_is_refused_not_read_as_hydrogen(tmp_path, name, selective, flags, structure):
    text = _vasp4(structure.get_primitive_structure(), selective, flags).encode()
    path = tmp_path / name
    path.write_bytes(gzip.compress(text) if name.endswith(".gz") else text)
    with pytest.raises(MissingElementsError) as info:
        read_structure(path)
    assert str(info.value).startswith(f"{path}: the POSCAR has no element line (VASP 4 format)")
    assert "Add the line of element symbols" in info.value.fix
    assert isinstance(info.value, StructureParseError)


@pytest.mark.parametrize("selective", [False, True])
def test_vasp4_poscar_with_symbols_after_the_coordinates_keeps_its_elements(tmp_path, selective):
    nacl = _nacl().get_primitive_structure()
    path = tmp_path / "POSCAR"
    path.write_text(_vasp4(nacl, selective, flags=selective, symbols=True))
    assert read_structure(path).composition.reduced_formula == "NaCl"


def _si_files(folder: Path) -> dict[str, bytes]:
    si = Structure.from_spacegroup("Fd-3m", Lattice.cubic(5.43), ["Si"], [[0, 0, 0]]).get_primitive_structure()
    si.to(filename=str(folder / "POSCAR"))
    si.to(filename=str(folder / "si.cif"))
    ase_write(folder / "si.extxyz", bulk("Si", "diamond", a=5.43))
    (folder / "si.json").write_text(json.dumps(si.as_dict()))
    return {name: (folder / name).read_bytes() for name in ("POSCAR", "si.cif", "si.extxyz", "si.json")}


@pytest.mark.parametrize("suffix", COMPRESSORS)
def test_compressed_structure_files_read_like_the_plain_ones(tmp_path, suffix):
    for name, data in _si_files(tmp_path).items():
        plain = read_structure(tmp_path / name)
        packed = tmp_path / f"{name}{suffix}"
        packed.write_bytes(COMPRESSORS[suffix](data))
        assert read_structure(packed) == plain, name


@pytest.mark.parametrize("suffix", COMPRESSORS)
@pytest.mark.parametrize("name", ["POSCAR", "si.cif", "si.json", "si.extxyz"])
def test_compression_bomb_is_stopped_at_the_byte_limit(tmp_path, suffix, name):
    path = tmp_path / f"{name}{suffix}"
    path.write_bytes(COMPRESSORS[suffix](_si_files(tmp_path)[name] + b" " * (3 << 20)))
    with pytest.raises(InputTooLargeError, match=r"more than 1,048,576 bytes when decompressed \(the limit\)"):
        read_structure(path, max_bytes=1 << 20)
    assert len(read_structure(path, max_bytes=4 << 20)) == 2  # the same file within a larger limit


def test_corrupt_compressed_file_is_a_typed_error(tmp_path):
    good = gzip.compress(_si_files(tmp_path)["si.cif"])
    (tmp_path / "cut.cif.gz").write_bytes(good[: len(good) // 2])
    (tmp_path / "plain.cif.gz").write_bytes(b"data_x\n")
    for name in ("cut.cif.gz", "plain.cif.gz"):
        with pytest.raises(UnreadableFileError, match="could not be decompressed"):
            read_structure(tmp_path / name)


def _compressed_line_bombs(folder: Path) -> list[Path]:
    """A .jsonl.gz holding one 100 MiB line, a .jsonl.bz2 of 40 MiB blank lines and a .jsonl.xz of 40 MiB spaces:
    each expands past its limit (25 times its size plus one 16 MiB line)."""
    one_line = folder / "one_line.jsonl.gz"
    with gzip.open(one_line, "wb", compresslevel=1) as stream:
        stream.write(b'{"material_id": "')
        for _ in range(100):
            stream.write(b"a" * (1 << 20))
        stream.write(b'"}\n')
    blank = folder / "blank.jsonl.bz2"
    blank.write_bytes(bz2.compress(b"\n" * (40 << 20)))
    spaces = folder / "spaces.jsonl.xz"
    spaces.write_bytes(lzma.compress(b" " * (40 << 20), preset=0))
    return [one_line, blank, spaces]


_BOMBS = """
import json, time, resource
from pathlib import Path
from stn_plugin.io import StructureReadError, read_structure
from stn_plugin.data.loaders import read_jsonl
out = {}
for name in NAMES:
    start = time.perf_counter()
    try:
        (read_jsonl if ".jsonl" in name else read_structure)(Path(FOLDER) / name)
        out[name] = "read"
    except StructureReadError as exc:
        out[name] = f"{type(exc).__name__}: {exc}"
    out[name + " s"] = time.perf_counter() - start
print(json.dumps(out))
"""


def test_declared_atom_counts_and_bombs_end_in_typed_errors_in_bounded_time_and_memory(tmp_path):
    files = {
        "huge.xyz": "1000000000000\n\nSi 0 0 0\n",
        "second_frame.extxyz": '1\nLattice="5 0 0 0 5 0 0 0 5" pbc="T T T"\nSi 0 0 0\n1000000000\n\n',
        "short.xyz": "50\n\nSi 0 0 0\n",
        "negative.xyz": "-3\n\nSi 0 0 0\n",
        "huge.cfg": "Number of particles = 1000000000000\nA = 1.0 Angstrom\n",
        "huge_POSCAR": "x\n1.0\n5 0 0\n0 5 0\n0 0 5\nSi\n1000000000000\nDirect\n0 0 0\n",
    }
    for name, text in files.items():
        (tmp_path / name).write_text(text)
    sites = _nacl().as_dict()
    sites["sites"] = sites["sites"] * 1001
    (tmp_path / "many.json").write_text(json.dumps(sites))
    bomb = tmp_path / "POSCAR.gz"
    with gzip.open(bomb, "wb", compresslevel=1) as stream:
        for _ in range(200):
            stream.write(b"\n" * (1 << 20))
    names = [*files, "many.json", bomb.name, *(path.name for path in _compressed_line_bombs(tmp_path))]
    code = _BOMBS.replace("NAMES", repr(names)).replace("FOLDER", repr(str(tmp_path)))
    out = json.loads(_run_limited(code, timeout=600))
    expected = {
        "huge.xyz": "TooManyAtomsError: .*a frame of the file declares 1000000000000 atoms, more than the limit of 2000",
        "second_frame.extxyz": "TooManyAtomsError: .*declares 1000000000 atoms",
        "short.xyz": "StructureParseError: .*line 1 declares 50 atoms, but 1 lines follow",
        "negative.xyz": "StructureParseError: .*line 1 declares -3 atoms",
        "huge.cfg": "TooManyAtomsError: .*the CFG header declares 1000000000000 atoms",
        "huge_POSCAR": "TooManyAtomsError: .*the POSCAR's counts line declares 1000000000000 atoms",
        "many.json": "TooManyAtomsError: .*the structure lists 8008 atoms",
        "POSCAR.gz": "InputTooLargeError: .*more than 67,108,864 bytes when decompressed",
        "one_line.jsonl.gz": "InputTooLargeError: .*bytes when decompressed.*decompress it first",
        "blank.jsonl.bz2": "InputTooLargeError: ",
        "spaces.jsonl.xz": "InputTooLargeError: ",
    }
    for name, pattern in expected.items():
        assert re.match(pattern, out[name]), (name, out[name])
        assert out[name + " s"] < 60, (name, out[name + " s"])  # seconds; under 1 s on an idle machine


def test_long_dataset_line_is_rejected_with_its_number_and_the_next_line_is_read(tmp_path, monkeypatch):
    import stn_plugin.data.loaders

    monkeypatch.setattr(stn_plugin.data.loaders, "MAX_LINE_CHARS", 20_000)
    si = Structure.from_spacegroup("Fd-3m", Lattice.cubic(5.47), ["Si"], [[0, 0, 0]])
    long = _line(si, "long")
    long["padding"] = os.urandom(25_000).hex()  # 50,000 characters that do not compress much
    for suffix, compress in {"": None, ".gz": gzip.compress, ".xz": lzma.compress}.items():
        path = _jsonl(tmp_path / "data.jsonl", [_line(si, "a"), long, {}, _line(si, "b")])
        path.write_text(path.read_text().replace("\n{}\n", "\n\n   \n"))  # blank lines keep their numbers
        if compress is not None:
            path = path.with_name(f"data.jsonl{suffix}")
            path.write_bytes(compress((tmp_path / "data.jsonl").read_bytes()))
        loaded = read_jsonl(path)
        assert [r.material_id for r in loaded.records] == ["a", "b"], suffix
        (rejected,) = loaded.rejected
        assert rejected.line == 2 and rejected.reasons == (FilterReason.MALFORMED,)
        assert "line 2: the line is longer than 20,000 characters" in rejected.detail


def test_compressed_dataset_reads_like_the_plain_one(tmp_path):
    si = Structure.from_spacegroup("Fd-3m", Lattice.cubic(5.47), ["Si"], [[0, 0, 0]])
    plain = _jsonl(tmp_path / "d.jsonl", [_line(si, f"m{n}") for n in range(3)])
    expected = [r.material_id for r in read_jsonl(plain).records]
    for suffix, compress in COMPRESSORS.items():
        packed = tmp_path / f"d.jsonl{suffix}"
        packed.write_bytes(compress(plain.read_bytes()))
        assert [r.material_id for r in read_jsonl(packed).records] == expected == ["m0", "m1", "m2"]


@pytest.mark.parametrize("kind", ["fifo", "loop", "long name", "through a file", "char device"])
def test_special_and_unreachable_inputs_are_typed_errors_without_blocking(tmp_path, kind):
    if kind == "fifo":
        path = tmp_path / "pipe.cif"
        os.mkfifo(path)  # opening it for reading would wait for a writer forever
        error, words = StructureFileNotFoundError, "is a FIFO (named pipe), not a regular file"
    elif kind == "loop":
        path = tmp_path / "loop.cif"
        path.symlink_to(path)
        error, words = UnreadableFileError, "cannot be opened (OSError: Too many levels of symbolic links)"
    elif kind == "long name":
        path = tmp_path / ("x" * 300 + ".cif")
        error, words = UnreadableFileError, "cannot be opened (OSError: File name too long)"
    elif kind == "through a file":
        (tmp_path / "file").write_text("")
        path = tmp_path / "file" / "si.cif"
        error, words = UnreadableFileError, "cannot be opened (NotADirectoryError: Not a directory)"
    else:
        path = Path("/dev/zero")
        error, words = StructureFileNotFoundError, "is a character device, not a regular file"
    with pytest.raises(error) as info:
        read_structure(path)
    assert info.value.problem.startswith(words)


def test_a_file_that_cannot_be_opened_is_a_typed_error(tmp_path, monkeypatch):
    path = tmp_path / "si.cif"
    path.write_bytes(_si_files(tmp_path)["si.cif"])

    def denied(*args, **kwargs):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(stn_plugin.io, "open", denied, raising=False)
    with pytest.raises(UnreadableFileError, match=r"could not be read \(PermissionError: Permission denied\)"):
        read_structure(path)


def _special_targets(folder: Path) -> dict[Path, str]:
    """Existing things that are not regular files, each with the words naming it."""
    target = folder / "kept.json"
    target.write_text("kept\n")
    link, dangling, fifo, directory = (folder / name for name in ("link.json", "dangling.json", "pipe", "dir.json"))
    link.symlink_to(target)
    dangling.symlink_to(folder / "nowhere.json")
    os.mkfifo(fifo)
    directory.mkdir()
    return {link: "symbolic link", dangling: "symbolic link", fifo: "FIFO (named pipe)", directory: "directory"}


def test_outputs_never_replace_links_pipes_or_folders(tmp_path):
    for path, kind in _special_targets(tmp_path).items():
        before = os.lstat(path)
        for write in (lambda p: atomic_write_text("new\n", p), check_output_path, check_writable):
            with pytest.raises(UnsafeOutputError, match=re.escape(f"{path} is a {kind}, not a regular file")):
                write(path)
        assert os.lstat(path) == before, kind
    assert (tmp_path / "kept.json").read_text() == "kept\n"
    assert not list(tmp_path.glob(".tmp-*"))
    for device in ("/dev/null", "/dev/zero"):  # checked only: nothing is written there
        with pytest.raises(UnsafeOutputError, match="is a character device, not a regular file"):
            check_output_path(device)
    with pytest.raises(UnsafeOutputError, match="is a FIFO"):
        check_writable(tmp_path / "pipe", folder=True)


def test_a_target_that_becomes_a_link_while_writing_is_not_replaced(tmp_path):
    target, other = tmp_path / "out.json", tmp_path / "other.json"
    other.write_text("other\n")
    with pytest.raises(UnsafeOutputError, match="is a symbolic link"), atomic_path(target) as tmp:
        tmp.write_text("results\n")
        target.symlink_to(other)
    assert target.is_symlink() and other.read_text() == "other\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["other.json", "out.json"]


def test_regular_and_new_targets_are_written_atomically_with_long_names(tmp_path):
    existing = tmp_path / "existing.json"
    existing.write_text("old\n")
    long = tmp_path / ("y" * 250 + ".json")  # the temporary name must stay within the file system's limit
    for path in (existing, tmp_path / "new" / "file.json", long):
        check_writable(path)
        atomic_write_text("new\n", path)
        assert path.read_text() == "new\n"
    check_writable(tmp_path / "plots", folder=True)
    assert (tmp_path / "plots").is_dir()


@pytest.mark.parametrize("name", ["cu.extxyz", "cu.xyz", "POSCAR", "cu.json", "cu.cfg"])
def test_declared_atom_counts_follow_the_given_limit(tmp_path, name):
    cu = bulk("Cu", "fcc", a=3.6, cubic=True)  # 4 atoms
    path = tmp_path / name
    if name == "cu.json":
        path.write_text(json.dumps(Structure.from_ase_atoms(cu).as_dict()))
    else:
        ase_write(path, cu, format="vasp" if name == "POSCAR" else None)
    with pytest.raises(TooManyAtomsError, match=r"declares 4 atoms|lists 4 atoms"):
        read_structure(path, max_atoms=3)
    assert len(read_structure(path, max_atoms=4)) == 4
