"""Records with an optional tensor, the loaders of the two newer bundled sources, and the checks of
moduli-only records."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from pydantic import ValidationError
from pymatgen.core import Lattice, Structure

from stn_plugin.data.filters import check_record, filter_records
from stn_plugin.data.loaders import (
    read_binary_moduli_jsonl,
    read_bundled,
    read_elatbot_jsonl,
    read_jsonl,
    write_jsonl,
)
from stn_plugin.data.records import ElasticRecord, FilterReason
from stn_plugin.physics.moduli import elastic_moduli

from .fixtures.factories import cscl_structure, cubic_tensor, make_moduli_record, make_record

F = FilterReason


def _dump(record: ElasticRecord) -> dict[str, Any]:
    """A record as comparable JSON data (records hold arrays, so ``==`` does not compare them)."""
    return record.model_dump(mode="json")


def test_tensor_record_computes_vrh_moduli() -> None:
    record = make_record()
    moduli = elastic_moduli(record.elastic_tensor)
    assert record.has_tensor and record.source == "user"
    assert (record.k_vrh, record.g_vrh) == (moduli.bulk_vrh, moduli.shear_vrh)
    assert _dump(ElasticRecord.model_validate(record.model_dump(mode="json"))) == _dump(record)
    with pytest.raises(ValidationError, match=r"k_vrh = 3.0 GPa is given but the tensor gives 133\.333 GPa"):
        make_record(k_vrh=3.0)


def test_moduli_only_record() -> None:
    record = make_moduli_record(k_vrh=53.4, g_vrh=12.2)
    assert not record.has_tensor and record.elastic_tensor is None
    assert (record.k_vrh, record.g_vrh, record.source) == (53.4, 12.2, "mp2025_binary")
    assert record.crystal_system == "cubic"
    assert ElasticRecord.model_validate(record.model_dump(mode="json")) == record
    with pytest.raises(ValueError, match="'moduli-1' \\(mp2025_binary\\) is moduli-only"):
        record.sed()


@pytest.mark.parametrize(
    ("fields", "reason", "message"),
    [
        ({"g_vrh": None}, F.MALFORMED, "no elastic_tensor and no g_vrh"),
        ({"k_vrh": float("nan")}, F.MODULI_NOT_FINITE, "k_vrh = nan"),
        ({"g_vrh": float("inf")}, F.MODULI_NOT_FINITE, "g_vrh = inf"),
        ({"elastic_tensor_ieee": cubic_tensor()}, F.MALFORMED, "elastic_tensor_ieee is given without elastic_tensor"),
        ({"source": "Materials Project"}, F.MALFORMED, "should match pattern"),
    ],
)
def test_moduli_only_record_errors(fields: dict[str, Any], reason: FilterReason, message: str) -> None:
    from stn_plugin.data.records import reasons_of

    with pytest.raises(ValidationError, match=message) as caught:
        make_moduli_record(**fields)
    assert reasons_of(caught.value) == (reason,)


def test_moduli_only_checks() -> None:
    """K or G <= 0 is Born-unstable for the isotropic solid, the range checks apply, the frame check is skipped."""
    assert check_record(make_moduli_record()) == ()
    twisted = cscl_structure().copy()
    twisted.apply_strain([0.1, 0.0, 0.0])  # no cubic symmetry left: the check would have nothing to compare
    assert check_record(make_moduli_record(structure=twisted), frame_tolerance=1e-9) == ()
    negative = make_moduli_record(k_vrh=-5.0)
    assert check_record(negative) == (F.NOT_POSITIVE_DEFINITE, F.BULK_MODULUS_OUT_OF_RANGE)
    assert check_record(make_moduli_record(g_vrh=0.0)) == (F.NOT_POSITIVE_DEFINITE, F.SHEAR_MODULUS_OUT_OF_RANGE)
    assert check_record(make_moduli_record(g_vrh=600.0)) == (F.SHEAR_MODULUS_OUT_OF_RANGE,)
    assert check_record(negative, modulus_range=(-1e3, 1e3)) == (F.NOT_POSITIVE_DEFINITE,)


def test_duplicate_id_only_within_a_source() -> None:
    records = [make_record("mp-1", source="dejong2015"), make_moduli_record("mp-1"), make_moduli_record("mp-1")]
    kept, report = filter_records(records)
    assert [r.source for r in kept] == ["dejong2015", "mp2025_binary"]
    assert [(r.index, r.reasons) for r in report.rejected] == [(2, (F.DUPLICATE_ID,))]


def test_jsonl_round_trip_keeps_source_and_moduli_only(tmp_path: Path) -> None:
    records = [make_record("t-1", source="mp2023_elatbot"), make_moduli_record("m-1", k_vrh=12.5, g_vrh=4.25)]
    path = write_jsonl(records, tmp_path / "mixed.jsonl")
    lines = [json.loads(line) for line in path.read_text().splitlines()]
    assert [line["source"] for line in lines] == ["mp2023_elatbot", "mp2025_binary"]
    assert "elastic_tensor_original" not in lines[1] and (lines[1]["k_vrh"], lines[1]["g_vrh"]) == (12.5, 4.25)
    loaded = read_jsonl(path)
    assert loaded.rejected == [] and [_dump(r) for r in loaded.records] == [_dump(r) for r in records]
    line = dict(lines[1])
    del line["k_vrh"], line["g_vrh"]
    (tmp_path / "bad.jsonl").write_text(json.dumps(line) + "\n")
    (rejected,) = read_jsonl(tmp_path / "bad.jsonl").rejected
    assert "neither elastic_tensor_original nor elastic_tensor is given, and no k_vrh / g_vrh" in rejected.detail


# --- the loaders of the two newer files ---


def _line(material_id: str = "mp-1", **fields: Any) -> dict[str, Any]:
    """A line of the ElaTBot file (tensor in the structure's frame) or, with K_VRH/G_VRH, of the binary file."""
    line: dict[str, Any] = {"material_id": material_id, "formula": "CsCl", "structure": cscl_structure().as_dict()}
    line.update(fields)
    return {key: value for key, value in line.items() if value is not None}


def _write(path: Path, lines: list[Any]) -> Path:
    path.write_text("".join((line if isinstance(line, str) else json.dumps(line)) + "\n" for line in lines))
    return path


ELATBOT_SOURCE = "Materials Project 2023.11 elasticity, via ElaTBot"
DISORDERED = Structure(Lattice.cubic(3.0), [{"Cs": 0.5, "K": 0.5}, "Cl"], [[0, 0, 0], [0.5, 0.5, 0.5]]).as_dict()


def test_elatbot_loader(tmp_path: Path) -> None:
    C = cubic_tensor()
    asymmetric = C.copy()
    asymmetric[0, 1] += 30.0
    nan = C.tolist()
    nan[3][3] = float("nan")
    good = _line(elastic_tensor=C.tolist(), frame_status="verified", source=ELATBOT_SOURCE, crystal_system="cubic")
    lines = [
        good,
        "{not json",
        [1, 2],
        _line("mp-2", structure=None, elastic_tensor=C.tolist()),
        _line("mp-3"),
        _line("mp-4", elastic_tensor=C[:5].tolist()),
        _line("mp-5", elastic_tensor=nan),
        _line("mp-6", elastic_tensor=(C * 1e9).tolist()),
        _line("mp-7", elastic_tensor=asymmetric.tolist()),
        _line("mp-8", elastic_tensor=C.tolist(), structure=DISORDERED, formula="Cs(KCl)2"),
        _line("mp-9", elastic_tensor=C.tolist(), formula="NaCl"),
    ]
    path = _write(tmp_path / "elatbot.jsonl", lines)
    loaded = read_elatbot_jsonl(path)
    (record,) = loaded.records
    assert record.source == "mp2023_elatbot" and record.has_tensor
    np.testing.assert_array_equal(record.elastic_tensor, C)  # taken as given: the structure's frame
    assert record.provenance.source == ELATBOT_SOURCE and "frame_status verified" in record.provenance.frame_note
    assert "Apache-2.0" in record.provenance.licence and "10.1039/D5DD00061K" in record.provenance.citation
    assert [(r.material_id, r.reasons) for r in loaded.rejected] == [
        ("<line 2>", (F.MALFORMED,)),
        ("<line 3>", (F.MALFORMED,)),
        ("mp-2", (F.MALFORMED,)),
        ("mp-3", (F.MALFORMED,)),
        ("mp-4", (F.MALFORMED,)),
        ("mp-5", (F.TENSOR_NOT_FINITE,)),
        ("mp-6", (F.TENSOR_IN_PA,)),
        ("mp-7", (F.TENSOR_ASYMMETRIC,)),
        ("mp-8", (F.DISORDERED_STRUCTURE,)),
        ("mp-9", (F.FORMULA_MISMATCH,)),
    ]
    details = {r.material_id: r.detail for r in loaded.rejected}
    assert details["<line 3>"].endswith(
        "line 3: the line is a JSON list, not an object; write one JSON object per line."
    )
    assert details["mp-3"] == f"{path}, line 5: material 'mp-3': elastic_tensor is missing."
    assert "line 6: material 'mp-4': elastic_tensor has shape (5, 6)" in details["mp-4"]
    assert "missing key 'structure'" in details["mp-2"]


def test_binary_moduli_loader(tmp_path: Path) -> None:
    lines = [
        _line(K_VRH=53.357, G_VRH=12.164, source="MP 2025.1 binaries via matcalc"),
        _line("mp-2", G_VRH=10.0),
        _line("mp-3", K_VRH=50.0, G_VRH=float("nan")),
        _line("mp-4", K_VRH="soft", G_VRH=10.0),
        _line("mp-5", K_VRH=50.0, G_VRH=10.0, formula="FeB2"),
        _line("mp-6", K_VRH=50.0, G_VRH=10.0, structure=DISORDERED, formula="Cs(KCl)2"),
        "7",
        _line("mp-8", K_VRH=-3.0, G_VRH=10.0),  # read; the checks remove it
    ]
    path = _write(tmp_path / "binary.jsonl", lines)
    loaded = read_binary_moduli_jsonl(path)
    good, negative = loaded.records
    assert (good.k_vrh, good.g_vrh, good.source, good.has_tensor) == (53.357, 12.164, "mp2025_binary", False)
    assert good.provenance.source == "MP 2025.1 binaries via matcalc" and "BSD-3-Clause" in good.provenance.licence
    assert [(r.material_id, r.reasons) for r in loaded.rejected] == [
        ("mp-2", (F.MALFORMED,)),
        ("mp-3", (F.MODULI_NOT_FINITE,)),
        ("mp-4", (F.MALFORMED,)),
        ("mp-5", (F.FORMULA_MISMATCH,)),
        ("mp-6", (F.DISORDERED_STRUCTURE,)),
        ("<line 7>", (F.MALFORMED,)),
    ]
    details = {r.material_id: r.detail for r in loaded.rejected}
    assert details["mp-2"].endswith("line 2: material 'mp-2': K_VRH missing; both moduli (GPa) are required.")
    assert "g_vrh = nan (moduli-only record)" in details["mp-3"]
    _, report = filter_records(loaded.records, rejected_on_load=loaded.rejected)
    assert report.n_input == 8 and report.n_kept == 1
    assert report.counts[F.NOT_POSITIVE_DEFINITE] == report.counts[F.BULK_MODULUS_OUT_OF_RANGE] == 1
    assert [r.index for r in report.rejected] == [1, 2, 3, 4, 5, 6, 7]


@pytest.mark.slow
def test_bundled_sources() -> None:
    """The two new bundled files: 399 tensors, all valid; 2000 binaries, one (mp-22880) with a wrong formula."""
    elatbot = read_bundled("mp2023_elatbot")
    assert len(elatbot.records) == 399 and not elatbot.rejected
    assert {r.source for r in elatbot.records} == {"mp2023_elatbot"} and all(r.has_tensor for r in elatbot.records)
    binary = read_bundled("mp2025_binary")
    assert len(binary.records) == 1999 and not any(r.has_tensor for r in binary.records)
    assert [(r.material_id, r.reasons) for r in binary.rejected] == [("mp-22880", (F.FORMULA_MISMATCH,))]
    with pytest.raises(ValueError, match="unknown bundled source 'mp2030'"):
        read_bundled("mp2030")
