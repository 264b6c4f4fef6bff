"""The bundled Materials Project 2026 source: its loader, the bundled file against its README, and the checks added
for it (frame_inconsistent, voigt_below_reuss, stiffness_out_of_range, counts per source)."""

from __future__ import annotations

import gzip
import json
import warnings
from collections import Counter
from importlib.resources import files
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from stn_plugin.data.filters import STIFFNESS_LIMIT_GPA, check_record, filter_records
from stn_plugin.data.frame_consistency import projection_residual
from stn_plugin.data.loaders import load_jsonl, read_bundled, read_mp2026_jsonl, write_jsonl
from stn_plugin.data.records import FilterReason
from stn_plugin.physics.moduli import elastic_moduli

from .fixtures.factories import cscl_structure, cubic_tensor, make_moduli_record, make_record

F = FilterReason
LINE_SOURCE = "Materials Project materials.elasticity, fetched 2026-07-04, via equiparity"


def _line(material_id: str = "mp-1", **fields: Any) -> dict[str, Any]:
    """A line of the MP 2026 file: a CsCl cell, a cubic tensor in its frame, status verified, the right min_eig."""
    C = fields.pop("elastic_tensor", cubic_tensor())
    tensor = None if C is None else np.asarray(C, dtype=float)
    line: dict[str, Any] = {
        "material_id": material_id,
        "formula": "CsCl",
        "structure": cscl_structure().as_dict(),
        "elastic_tensor": None if tensor is None else tensor.tolist(),
        "source": LINE_SOURCE,
        "crystal_system": "cubic",
        "frame_method": "ieee_rotation",
        "frame_sym_err": 1e-7,
        "frame_status": "verified",
        "min_eig": float(np.linalg.eigvalsh(tensor).min()) if tensor is not None and np.isfinite(tensor).all() else 0.0,
        "also_in": [],
    }
    line.update(fields)
    return {key: value for key, value in line.items() if value is not None}


def _write(path: Path, lines: list[Any]) -> Path:
    path.write_text("".join((line if isinstance(line, str) else json.dumps(line)) + "\n" for line in lines))
    return path


def test_mp2026_loader_good_and_bad_lines(tmp_path: Path) -> None:
    C = cubic_tensor()
    nan = C.tolist()
    nan[3][3] = float("nan")
    lines = [
        _line(),
        _line("mp-2", frame_status="inconsistent", frame_method="ieee_rotation+search"),
        "{not json",
        _line("mp-3", frame_status=None),  # key missing
        _line("mp-4", frame_status="unsure"),
        _line("mp-5", min_eig=12.0),  # contradicts the tensor (smallest eigenvalue 50 GPa)
        _line("mp-6", min_eig="50"),
        _line("mp-7", elastic_tensor=None),
        _line("mp-8", elastic_tensor=nan),
        _line("mp-9", elastic_tensor=C * 1e9),
        _line("mp-10", formula="NaCl"),
        _line("mp-11", structure=None),
    ]
    path = _write(tmp_path / "mp2026.jsonl", lines)
    loaded = read_mp2026_jsonl(path)
    good, inconsistent = loaded.records
    assert (good.material_id, good.source, good.frame_status) == ("mp-1", "mp2026", "verified")
    np.testing.assert_array_equal(good.elastic_tensor, C)  # taken as given: the structure's frame
    assert good.provenance.source == LINE_SOURCE
    assert "frame_status verified, frame_method ieee_rotation" in good.provenance.frame_note
    assert "10.5281/zenodo.22003285" in good.provenance.citation and "de Jong" in good.provenance.citation
    assert "CC BY 4.0" in good.provenance.licence and "MIT" in good.provenance.licence
    assert inconsistent.frame_status == "inconsistent" and "ieee_rotation+search" in inconsistent.provenance.frame_note
    assert [(r.material_id, r.reasons, r.source) for r in loaded.rejected] == [
        ("<line 3>", (F.MALFORMED,), "mp2026"),
        ("mp-3", (F.MALFORMED,), "mp2026"),
        ("mp-4", (F.MALFORMED,), "mp2026"),
        ("mp-5", (F.MALFORMED,), "mp2026"),
        ("mp-6", (F.MALFORMED,), "mp2026"),
        ("mp-7", (F.MALFORMED,), "mp2026"),
        ("mp-8", (F.TENSOR_NOT_FINITE,), "mp2026"),
        ("mp-9", (F.TENSOR_IN_PA,), "mp2026"),
        ("mp-10", (F.FORMULA_MISMATCH,), "mp2026"),
        ("mp-11", (F.MALFORMED,), "mp2026"),
    ]
    details = {r.material_id: r.detail for r in loaded.rejected}
    assert details["mp-3"].endswith("frame_status is missing (verified, convention or inconsistent).")
    assert "min_eig = 12.0 GPa but the tensor's smallest eigenvalue is 50 GPa" in details["mp-5"]
    assert "line 8: material 'mp-7': elastic_tensor is missing." in details["mp-7"]


def test_frame_status_is_written_and_read_back(tmp_path: Path) -> None:
    records = read_mp2026_jsonl(_write(tmp_path / "in.jsonl", [_line(frame_status="convention")])).records
    (record,) = load_jsonl(write_jsonl(records, tmp_path / "out.jsonl"))
    assert (record.frame_status, record.source) == ("convention", "mp2026")
    assert make_record().frame_status is None


def test_zero_tensor_is_a_record_the_checks_remove() -> None:
    """Some sources publish an all-zero tensor (a failed fit): it must load (NaN moduli) and fail the checks."""
    record = make_record("zero", np.zeros((6, 6)))
    assert np.isnan(record.k_vrh) and np.isnan(elastic_moduli(record.elastic_tensor).young)
    assert {F.NOT_POSITIVE_DEFINITE, F.BULK_MODULUS_OUT_OF_RANGE} <= set(check_record(record, frame_tolerance=None))
    with warnings.catch_warnings():  # the frame check of a zero tensor: no scale, no division warning
        warnings.simplefilter("error")
        assert np.isnan(projection_residual(record.elastic_tensor, record.structure))
        assert F.FRAME_MISMATCH not in check_record(record)


def test_frame_inconsistent_filter() -> None:
    for status, expected in (
        ("inconsistent", (F.FRAME_INCONSISTENT,)),
        ("verified", ()),
        ("convention", ()),
        (None, ()),
    ):
        assert check_record(make_record(frame_status=status), frame_tolerance=None) == expected


def test_voigt_below_reuss_filter() -> None:
    """Cubic: G_V = (C11 - C12 + 3 C44) / 5 and 5 / G_R = 4 / (C11 - C12) + 3 / C44; with C11 - C12 = 1 GPa and
    C44 = -10 GPa, G_V = -5.8 GPa < G_R = 1.35 GPa (Born-unstable, so not_positive_definite fails too)."""
    unstable = make_record("unstable", cubic_tensor(c11=101.0, c12=100.0, c44=-10.0))
    moduli = elastic_moduli(unstable.elastic_tensor)
    assert moduli.shear_voigt == pytest.approx(-5.8) and moduli.shear_reuss == pytest.approx(5 / 3.7)
    reasons = check_record(unstable, frame_tolerance=None)
    assert F.VOIGT_BELOW_REUSS in reasons and F.NOT_POSITIVE_DEFINITE in reasons
    rng = np.random.default_rng(0)
    for _ in range(20):  # Hill (1952): never for a positive-definite tensor
        A = rng.normal(size=(6, 6)) * 30.0
        stable = make_record("stable", A @ A.T + 20.0 * np.eye(6))
        assert F.VOIGT_BELOW_REUSS not in check_record(stable, frame_tolerance=None)
    singular = make_record("singular", np.diag([100.0, 100.0, 100.0, 50.0, 50.0, 0.0]))
    assert F.VOIGT_BELOW_REUSS not in check_record(singular, frame_tolerance=None)


def test_stiffness_limit_filter() -> None:
    """C11 = 1300 GPa with K and G inside (0, 500] GPa: only the stiffness limit sees it, and only when given."""
    stiff = make_record("stiff", cubic_tensor(c11=1300.0, c12=50.0, c44=100.0))
    assert 0 < stiff.k_vrh <= 500 and 0 < stiff.g_vrh <= 500
    assert check_record(stiff, frame_tolerance=None) == ()
    assert check_record(stiff, frame_tolerance=None, stiffness_limit=STIFFNESS_LIMIT_GPA) == (F.STIFFNESS_OUT_OF_RANGE,)
    at_limit = make_record("at-limit", cubic_tensor(c11=STIFFNESS_LIMIT_GPA, c12=50.0, c44=100.0))
    assert check_record(at_limit, frame_tolerance=None, stiffness_limit=STIFFNESS_LIMIT_GPA) == ()
    moduli_only = make_moduli_record()
    assert check_record(moduli_only, stiffness_limit=STIFFNESS_LIMIT_GPA) == ()


def test_report_counts_each_check_per_source(tmp_path: Path) -> None:
    loaded = read_mp2026_jsonl(_write(tmp_path / "mp.jsonl", [_line(), "{not json"]))
    records = [
        *loaded.records,
        make_record("a", source="mp2026", frame_status="inconsistent"),
        make_record("b", cubic_tensor(c11=1300.0, c12=50.0, c44=100.0), source="mp2026"),
        make_record("c", cubic_tensor(c11=100.0, c12=200.0), source="dejong2015"),
        make_record("d", source="dejong2015"),
    ]
    rejected = [r.model_copy(update={"index": len(records)}) for r in loaded.rejected]
    kept, report = filter_records(
        records, frame_tolerance=None, stiffness_limit=STIFFNESS_LIMIT_GPA, rejected_on_load=rejected
    )
    assert [r.material_id for r in kept] == ["mp-1", "d"]
    assert report.input_by_source == {"mp2026": 4, "dejong2015": 2}
    assert {s: {r: n for r, n in c.items() if n} for s, c in report.counts_by_source.items()} == {
        "mp2026": {F.MALFORMED: 1, F.FRAME_INCONSISTENT: 1, F.STIFFNESS_OUT_OF_RANGE: 1},
        "dejong2015": {F.NOT_POSITIVE_DEFINITE: 1, F.VOIGT_BELOW_REUSS: 1},  # G_V = 10 < G_R = 250 GPa
    }
    lines = report.summary().splitlines()
    assert lines[0] == "kept 2 of 6 records; removed 4"
    assert lines[1].split() == ["reason", "total", "mp2026", "dejong2015"]
    assert "  frame_inconsistent               1              1              0" in lines
    assert lines[-2].split() == ["given", "6", "4", "2"] and lines[-1].split() == ["kept", "2", "1", "1"]
    assert "reason" not in filter_records([make_record("e")])[1].summary()  # one source: one column


def test_bundled_mp2026_file_matches_its_readme() -> None:
    """The shipped file read through the loader (about 13 s): counts of the data README, section mp2026."""
    loaded = read_bundled("mp2026")
    assert len(loaded.records) == 10866 and loaded.rejected == []
    with gzip.open(str(files("stn_plugin.data").joinpath("files", "mp2026_elastic.jsonl.gz")), "rt") as stream:
        lines = [json.loads(line) for line in stream if line.strip()]
    assert len(lines) == 10866 and sum(line["min_eig"] <= 0.0 for line in lines) == 1833
    assert Counter(r.frame_status for r in loaded.records) == {
        "verified": 8537,
        "convention": 2180,
        "inconsistent": 149,
    }
    assert {r.source for r in loaded.records} == {"mp2026"}
    ids = {r.material_id for r in loaded.records}
    assert len(ids) == 10866
    assert len(ids & {r.material_id for r in read_bundled("dejong2015").records}) == 970
    assert len(ids & {r.material_id for r in read_bundled("mp2023_elatbot").records}) == 398
