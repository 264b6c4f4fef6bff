"""stn_plugin.io: structures from CIF, POSCAR, pymatgen JSON and ASE formats; typed read errors; atomic writes."""

from __future__ import annotations

import json
import os
import stat

import pytest
from ase.build import bulk
from ase.io import write as ase_write
from pymatgen.core import Lattice, Structure

from stn_plugin.io import (
    EmptyStructureFileError,
    InvalidStructureError,
    MultipleStructuresError,
    StructureFileNotFoundError,
    StructureParseError,
    StructureReadError,
    UnknownStructureFormatError,
    atomic_path,
    atomic_write_text,
    read_structure,
)
from tests.test_cli_helpers import EXAMPLE_FILES, EXAMPLE_FORMULAS


@pytest.mark.parametrize(("path", "formula"), zip(EXAMPLE_FILES, EXAMPLE_FORMULAS, strict=True))
def test_example_structures_read(path, formula):
    structure = read_structure(path)
    assert structure.composition.reduced_formula == formula
    assert structure.is_ordered


def test_ase_formats_and_pymatgen_round_trip(tmp_path):
    ase_write(tmp_path / "cu.extxyz", bulk("Cu", "fcc", a=3.6))
    ase_write(tmp_path / "cu.xsf", bulk("Cu", "fcc", a=3.6))
    si = read_structure(EXAMPLE_FILES[0])
    si.to(filename=str(tmp_path / "CONTCAR"))
    for name in ("cu.extxyz", "cu.xsf"):
        assert read_structure(tmp_path / name).composition.reduced_formula == "Cu"
    assert read_structure(tmp_path / "CONTCAR").matches(si)


def _write(tmp_path, name, text):
    path = tmp_path / name
    path.write_text(text)
    return path


def _disordered_json(tmp_path):
    s = Structure(Lattice.cubic(4.0), [{"Fe": 0.5, "Ni": 0.5}], [[0, 0, 0]])
    return _write(tmp_path, "alloy.json", json.dumps(s.as_dict()))


def _nan_lattice_json(tmp_path):
    d = Structure(Lattice.cubic(4.0), ["Cu"], [[0, 0, 0]]).as_dict()
    d["lattice"]["matrix"][0][0] = float("nan")
    return _write(tmp_path, "nan.json", json.dumps(d))


def _two_frames(tmp_path):
    path = tmp_path / "traj.extxyz"
    ase_write(path, [bulk("Cu", "fcc", a=3.6), bulk("Cu", "fcc", a=3.7)])
    return path


def _molecule(tmp_path):
    return _write(tmp_path, "water.xyz", "3\nwater\nO 0 0 0\nH 0.76 0.59 0\nH -0.76 0.59 0\n")


def _collapsed_poscar(tmp_path):
    return _write(tmp_path, "flat.vasp", "flat\n1.0\n3 0 0\n0 3 0\n3 3 0\nCu\n1\ndirect\n0 0 0\n")


BAD_FILES = {
    "missing": (lambda t: t / "nope.cif", StructureFileNotFoundError, "no such file"),
    "empty": (lambda t: _write(t, "empty.cif", "  \n"), EmptyStructureFileError, "empty"),
    "unknown format": (lambda t: _write(t, "notes.foo", "hi\n"), UnknownStructureFormatError, "unknown structure"),
    "garbage cif": (lambda t: _write(t, "bad.cif", "data_x\n_cell_length_a 3\n"), StructureParseError, "read as CIF"),
    "garbage json": (lambda t: _write(t, "bad.json", "{not json"), StructureParseError, "pymatgen JSON"),
    "not a structure": (lambda t: _write(t, "other.json", '{"a": 1}'), StructureParseError, "not a pymatgen Structure"),
    "disordered": (_disordered_json, InvalidStructureError, "partially occupied"),
    "nan lattice": (_nan_lattice_json, InvalidStructureError, "NaN"),
    "collapsed cell": (_collapsed_poscar, InvalidStructureError, "collapsed"),
    "molecule": (_molecule, InvalidStructureError, "no periodic cell"),
    "two structures": (_two_frames, MultipleStructuresError, "2 structures"),
}


@pytest.mark.parametrize("case", BAD_FILES)
def test_bad_files_raise_typed_errors_naming_file_problem_and_fix(tmp_path, case):
    make, error_type, problem = BAD_FILES[case]
    path = make(tmp_path)
    with pytest.raises(error_type) as info:
        read_structure(path)
    message = str(info.value)
    assert isinstance(info.value, StructureReadError) and isinstance(info.value, ValueError)
    assert message.startswith(f"{path}: ")
    assert problem in info.value.problem
    assert info.value.fix and info.value.fix in message


def test_atomic_write_replaces_whole_file_and_keeps_nothing_on_failure(tmp_path):
    target = tmp_path / "sub" / "out.json"
    atomic_write_text("first\n", target)
    atomic_write_text("second\n", target)
    assert target.read_text() == "second\n"
    umask = os.umask(0)
    os.umask(umask)
    assert stat.S_IMODE(os.stat(target).st_mode) == 0o666 & ~umask  # not the 0600 of a bare temporary file
    with pytest.raises(RuntimeError), atomic_path(target) as tmp:
        tmp.write_text("partial")
        raise RuntimeError("writer failed")
    assert target.read_text() == "second\n"
    assert sorted(p.name for p in target.parent.iterdir()) == ["out.json"]


def test_atomic_path_keeps_the_suffix(tmp_path):
    with atomic_path(tmp_path / "train.jsonl.gz") as tmp:
        assert tmp.name.endswith("train.jsonl.gz") and tmp.parent == tmp_path
        tmp.write_bytes(b"x")
    assert (tmp_path / "train.jsonl.gz").read_bytes() == b"x"
