"""JSON-lines loaders and the bundled dataset."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import numpy as np
import pytest

from stn_plugin.data.loaders import (
    DatasetFormatError,
    load_bundled_dataset,
    load_jsonl,
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
