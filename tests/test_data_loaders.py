"""JSON-lines and matminer-CSV loaders, and the bundled dataset."""

from __future__ import annotations

import csv
import gzip
import json
from pathlib import Path

import numpy as np
import pytest

from stn_plugin.data.loaders import (
    DEJONG2015_PROVENANCE,
    DatasetFormatError,
    load_bundled_dataset,
    load_jsonl,
    load_matminer_csv,
    record_to_json_line,
    write_jsonl,
)
from stn_plugin.data.records import ReferenceModuli
from stn_plugin.physics.frames import to_ieee_frame

from .fixtures.factories import TEST_PROVENANCE, cubic_tensor, make_record


@pytest.fixture(scope="module")
def bundled_head() -> list:
    """The first 12 bundled records (full file: tests/test_data_frames.py)."""
    return load_bundled_dataset()[:12]


@pytest.mark.parametrize("name", ["data.jsonl", "data.jsonl.gz"])
def test_jsonl_round_trip(tmp_path: Path, name: str, bundled_head: list) -> None:
    records = [*bundled_head, make_record("test-2", reference_moduli=ReferenceModuli(bulk_vrh=133.3))]
    path = write_jsonl(records, tmp_path / name)
    if name.endswith(".gz"):
        with gzip.open(path, "rt") as stream:
            assert len(stream.readlines()) == len(records)
    again = load_jsonl(path)
    assert [r.material_id for r in again] == [r.material_id for r in records]
    for a, b in zip(records, again, strict=True):
        assert np.array_equal(a.elastic_tensor, b.elastic_tensor)
        assert (a.elastic_tensor_ieee is None) == (b.elastic_tensor_ieee is None)
        assert a.structure == b.structure
        assert a.provenance == b.provenance and a.reference_moduli == b.reference_moduli


def test_bundled_dataset(bundled_head: list) -> None:
    first = bundled_head[0]
    assert first.material_id == "mp-3618" and first.formula == "Sc2FeSi2"
    assert first.provenance.licence == "CC BY 4.0" and "de Jong" in first.provenance.citation
    assert "elastic_tensor_original" in first.provenance.frame_note
    assert first.elastic_tensor[0, 0] == pytest.approx(209.26124513327173)  # the structure-frame tensor
    assert first.elastic_tensor_ieee[0, 0] == pytest.approx(209.26635013103476)
    assert first.reference_moduli.bulk_vrh == pytest.approx(119.756927793)


def test_jsonl_without_original_rotates_ieee(tmp_path: Path, bundled_head: list) -> None:
    record = next(r for r in bundled_head if r.crystal_system == "orthorhombic")
    line = record_to_json_line(record)
    line.pop("provenance")
    line.pop("elastic_tensor_original")
    line["elastic_tensor"] = to_ieee_frame(record.elastic_tensor, record.structure).tolist()
    path = tmp_path / "ieee_only.jsonl"
    path.write_text(json.dumps(line) + "\n")
    (again,) = load_jsonl(path, provenance=TEST_PROVENANCE)
    assert np.allclose(again.elastic_tensor, record.elastic_tensor, atol=1e-6)
    assert "rotated into the structure's frame" in again.provenance.frame_note


def test_jsonl_errors_name_line_and_material(tmp_path: Path) -> None:
    good = record_to_json_line(make_record("ok-1"))
    bad = record_to_json_line(make_record("bad-2")) | {"elastic_tensor_original": (cubic_tensor() * 1e9).tolist()}
    path = tmp_path / "bad.jsonl"
    path.write_text(json.dumps(good) + "\n\n" + json.dumps(bad) + "\n")
    with pytest.raises(DatasetFormatError, match=r"line 3: .*'bad-2'.*divide the tensor by 1e9"):
        load_jsonl(path)
    line = record_to_json_line(make_record("noprov"))
    line.pop("provenance")
    path.write_text(json.dumps(line) + "\n")
    with pytest.raises(DatasetFormatError, match="no provenance in the line"):
        load_jsonl(path, require_provenance=True)
    assert load_jsonl(path)[0].provenance.licence == "unknown"  # the labelled default of a user's file


def _write_csv(path: Path, rows: list[dict[str, str]]) -> Path:
    with open(path, "w", newline="") as stream:
        writer = csv.DictWriter(stream, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    return path


def test_matminer_csv(tmp_path: Path, bundled_head: list) -> None:
    json_row, cif_row = bundled_head[0], bundled_head[1]
    rows = [
        {
            "material_id": r.material_id,
            "formula": r.formula,
            "structure": json.dumps(r.structure.as_dict()) if r is json_row else r.structure.to(fmt="cif"),
            "elastic_tensor": json.dumps(r.elastic_tensor_ieee.tolist()),
            "elastic_tensor_original": json.dumps(r.elastic_tensor.tolist()),
            "K_VRH": str(r.reference_moduli.bulk_vrh),
            "G_VRH": "",
            "unused_column": "x",
        }
        for r in (json_row, cif_row)
    ]
    records = load_matminer_csv(_write_csv(tmp_path / "table.csv", rows), provenance=DEJONG2015_PROVENANCE)
    assert [r.material_id for r in records] == [json_row.material_id, cif_row.material_id]
    for original, loaded in zip((json_row, cif_row), records, strict=True):
        assert np.allclose(loaded.elastic_tensor, original.elastic_tensor)
        assert np.allclose(loaded.elastic_tensor_ieee, original.elastic_tensor_ieee)
        assert loaded.reference_moduli == ReferenceModuli(bulk_vrh=original.reference_moduli.bulk_vrh)
        assert loaded.structure.matches(original.structure)
    assert records[0].structure == json_row.structure


def test_matminer_csv_errors(tmp_path: Path) -> None:
    record = make_record("csv-1")
    row = {
        "material_id": "csv-1",
        "structure": json.dumps(record.structure.as_dict()),
        "elastic_tensor_original": json.dumps(np.ones((6, 5)).tolist()),
    }
    with pytest.raises(DatasetFormatError, match=r"row 2 \(material 'csv-1'\).*shape \(6, 5\)"):
        load_matminer_csv(_write_csv(tmp_path / "bad.csv", [row]), provenance=TEST_PROVENANCE)
    with pytest.raises(DatasetFormatError, match="needs a material_id column and a structure"):
        load_matminer_csv(_write_csv(tmp_path / "nocol.csv", [{"material_id": "a", "x": "1"}]), TEST_PROVENANCE)
