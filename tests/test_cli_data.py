"""`stn data prepare` and `stn data fetch-mp` through Typer's CliRunner."""

from __future__ import annotations

import json
import sys

import pytest
from typer.testing import CliRunner

from stn_plugin.cli.main import app
from stn_plugin.data import combined_split, load_jsonl, load_split, stratified_split, write_jsonl
from tests.fixtures.factories import cubic_tensor, make_record
from tests.test_training_helpers import write_small_dataset

runner = CliRunner(env={"COLUMNS": "200"})


@pytest.fixture(scope="module")
def small_data(tmp_path_factory):
    return write_small_dataset(tmp_path_factory.mktemp("data") / "small.jsonl")


def test_prepare_writes_report_filtered_split_and_parts(small_data, tmp_path):
    out = tmp_path / "prepared"
    result = runner.invoke(app, ["data", "prepare", "--data", str(small_data), "--output", str(out), "--seed", "3"])
    assert result.exit_code == 0, result.output
    assert "kept 20 of 20 records" in result.stderr
    assert "cubic" in result.stdout and "total" in result.stdout
    report = json.loads((out / "validation_report.json").read_text())
    assert report["n_input"] == report["n_kept"] == 20
    split = load_split(out / "split.json")
    filtered = load_jsonl(out / "filtered.jsonl")
    assert split == combined_split(filtered, seed=3)
    for part in ("train", "val", "test"):
        assert tuple(r.material_id for r in load_jsonl(out / f"{part}.jsonl")) == split.part(part)
    assert not [p.name for p in out.iterdir() if p.name.startswith(".tmp-")]


def test_prepare_invalid_records_raise_by_default_or_drop(small_data, tmp_path):
    records = load_jsonl(small_data) + [make_record("bad-1", cubic_tensor(c11=100.0, c12=200.0))]
    data = write_jsonl(records, tmp_path / "with_bad.jsonl")
    raised = runner.invoke(app, ["data", "prepare", "--data", str(data), "--output", str(tmp_path / "raise")])
    assert raised.exit_code == 1
    assert "bad-1 (not_positive_definite" in raised.stderr and "--on-invalid drop" in raised.stderr
    assert (tmp_path / "raise" / "validation_report.json").is_file()
    assert not (tmp_path / "raise" / "train.jsonl").exists()
    args = ["data", "prepare", "--data", str(data), "--output", str(tmp_path / "drop"), "--on-invalid", "drop"]
    dropped = runner.invoke(app, args)
    assert dropped.exit_code == 0, dropped.output
    assert "kept 20 of 21 records" in dropped.stderr and "not_positive_definite            1" in dropped.stderr
    rejected = json.loads((tmp_path / "drop" / "validation_report.json").read_text())["rejected"]
    assert [r["material_id"] for r in rejected] == ["bad-1"]


def test_prepare_bad_dataset_line_names_file_and_line(tmp_path):
    data = tmp_path / "broken.jsonl"
    data.write_text('{"material_id": "x"}\n')
    result = runner.invoke(app, ["data", "prepare", "--data", str(data), "--output", str(tmp_path / "out")])
    assert result.exit_code == 1
    assert f"{data}, line 1" in result.stderr


def test_fetch_mp_offline_is_a_clear_error(tmp_path):
    out = tmp_path / "mp.jsonl"
    args = ["data", "fetch-mp", "--api-key", "x" * 32, "--endpoint", "http://127.0.0.1:9", "--output", str(out)]
    result = runner.invoke(app, args)
    assert result.exit_code == 1
    assert "could not fetch elasticity documents from the Materials Project" in result.stderr
    assert "bundled" in result.stderr
    assert not out.exists()


def test_fetch_mp_without_key(monkeypatch):
    monkeypatch.delenv("MP_API_KEY", raising=False)
    result = runner.invoke(app, ["data", "fetch-mp"])
    assert result.exit_code == 2
    assert "MP_API_KEY" in result.stderr and "--api-key" in result.stderr


def test_fetch_mp_reads_the_key_from_the_environment_and_needs_mp_api(monkeypatch):
    monkeypatch.setenv("MP_API_KEY", "y" * 32)
    monkeypatch.setitem(sys.modules, "mp_api.client", None)  # as if mp-api were not installed
    result = runner.invoke(app, ["data", "fetch-mp"])
    assert result.exit_code == 1
    assert "mp-api" in result.stderr and "pip install" in result.stderr


def _with_source(record, source: str, material_id: str | None = None):
    """A copy of a record under another source (and id), validated again."""
    return type(record).model_validate(
        record.model_dump() | {"source": source, "material_id": material_id or record.material_id}
    )


def test_prepare_counts_per_source_and_round_trips_moduli_only(small_data, tmp_path):
    """Three sources: the ElaTBot copy of a de Jong material and a moduli-only copy of another are removed as
    duplicates; every part file reads back with its sources, moduli-only records included."""
    from pymatgen.core import Lattice, Structure

    from stn_plugin.data.records import ElasticRecord

    dejong = [_with_source(r, "dejong2015") for r in load_jsonl(small_data)]
    elatbot = [_with_source(dejong[0], "mp2023_elatbot", "mp-elat-copy")]
    elatbot += [_with_source(make_record(f"elat-{k}", cubic_tensor(c11=150.0 + k)), "mp2023_elatbot") for k in range(3)]
    binaries = [
        ElasticRecord(
            material_id=f"bin-{a}{b}",
            formula=f"{a}{b}",
            structure=Structure(Lattice.cubic(3.5), [a, b], [[0, 0, 0], [0.5, 0.5, 0.5]]),
            provenance=dejong[0].provenance,
            source="mp2025_binary",
            k_vrh=40.0,
            g_vrh=20.0,
        )
        for a, b in (("Tl", "Br"), ("Rb", "Au"), ("Ag", "Mg"), ("Be", "Pd"), ("Cu", "Zr"))
    ]
    copy = dejong[1].structure.copy()
    binaries.append(
        ElasticRecord(
            material_id="bin-copy",
            formula=dejong[1].formula,
            structure=copy,
            provenance=dejong[0].provenance,
            source="mp2025_binary",
            k_vrh=10.0,
            g_vrh=5.0,
        )
    )
    data = write_jsonl([*dejong, *elatbot, *binaries], tmp_path / "mixed.jsonl")
    out = tmp_path / "prepared"
    result = runner.invoke(app, ["data", "prepare", "--data", str(data), "--output", str(out)])
    assert result.exit_code == 0, result.output
    cells = [[c.strip() for c in line.strip(" │┃").split("│")] for line in result.stdout.splitlines()]
    rows = {row[0]: row[1:] for row in cells if row[0] in ("dejong2015", "mp2023_elatbot", "mp2025_binary")}
    # source: read, checked, unique, train, val, test
    assert rows["dejong2015"] == ["20", "20", "20", *map(str, _parts(out, "dejong2015"))]
    assert rows["mp2023_elatbot"][:3] == ["4", "4", "3"] and rows["mp2025_binary"][:3] == ["6", "6", "5"]
    assert sum(_parts(out, "mp2025_binary")) == 5
    removed = json.loads((out / "deduplication_report.json").read_text())["removed"]
    assert {(e["removed_id"], e["kept_id"]) for e in removed} == {
        ("mp-elat-copy", dejong[0].material_id),
        ("bin-copy", dejong[1].material_id),
    }
    assert "removed bin-copy (mp2025_binary): same structure as" in result.stderr
    split = load_split(out / "split.json")
    assert set(split.counts_by_source) == {"dejong2015", "mp2023_elatbot", "mp2025_binary"}
    dejong_alone = stratified_split({r.material_id: r.crystal_system for r in dejong}, seed=0)
    assert [i for i in split.test if i in {r.material_id for r in dejong}] == list(dejong_alone.test)
    filtered = load_jsonl(out / "filtered.jsonl")
    assert len(filtered) == 28 and sum(not r.has_tensor for r in filtered) == 5


def _parts(out, source: str) -> list[int]:
    """Records of ``source`` in train/val/test.jsonl of a prepared folder (read back through the loader)."""
    return [sum(r.source == source for r in load_jsonl(out / f"{part}.jsonl")) for part in ("train", "val", "test")]


def test_prepare_source_option_errors(small_data, tmp_path):
    both = runner.invoke(app, ["data", "prepare", "--data", str(small_data), "--source", "dejong2015"])
    assert both.exit_code == 2 and "--source selects bundled data" in both.stderr
    unknown = runner.invoke(app, ["data", "prepare", "--source", "mp2030", "--output", str(tmp_path / "x")])
    assert unknown.exit_code == 2 and "unknown or no bundled sources ['mp2030']" in unknown.stderr


@pytest.mark.slow
def test_prepare_bundled_source(tmp_path):
    """`--source mp2023_elatbot`: the 399 bundled ElaTBot tensors, 80/10/10 per crystal system."""
    out = tmp_path / "elatbot"
    result = runner.invoke(app, ["data", "prepare", "--source", "mp2023_elatbot", "--output", str(out)])
    assert result.exit_code == 0, result.output
    assert "mp2023_elatbot" in result.stdout and "kept 399 of 399 records" in result.stderr
    assert _parts(out, "mp2023_elatbot") == [319, 40, 40]


def test_distill_labels_the_training_binaries_with_the_teacher(small_data, tmp_path) -> None:
    from stn_plugin.data.loaders import read_bundled
    from stn_plugin.data.records import MP2025_BINARY

    binaries = sorted(read_bundled(MP2025_BINARY).records, key=lambda r: (len(r.structure), r.material_id))[:12]
    data = write_jsonl([*load_jsonl(small_data), *binaries], tmp_path / "mixed.jsonl")
    out = tmp_path / "distilled.jsonl"
    result = runner.invoke(app, ["data", "distill", "--data", str(data), "--output", str(out), "--seed", "1"])
    assert result.exit_code == 0, result.output
    prepared = runner.invoke(
        app, ["data", "prepare", "--data", str(data), "--output", str(tmp_path / "p"), "--seed", "1"]
    )
    assert prepared.exit_code == 0, prepared.output
    split = load_split(tmp_path / "p" / "split.json")
    records = {r.material_id: r for r in load_jsonl(out)}
    report = json.loads((tmp_path / "distillation_report.json").read_text())
    assert report["teacher"] == "stn-mp-2023" and report["labelled"]
    assert f"labelled {len(report['labelled'])} moduli-only records of train" in result.stderr
    for material_id in report["labelled"]:
        assert material_id in split.train and records[material_id].elastic_tensor is not None
    held_out = [records[i] for i in (*split.val, *split.test) if records[i].source == MP2025_BINARY]
    assert held_out and all(record.elastic_tensor is None for record in held_out)
    assert combined_split(list(records.values()), seed=1) == split


def test_distill_refuses_a_missing_or_invalid_data_file(small_data, tmp_path) -> None:
    result = runner.invoke(app, ["data", "distill", "--data", str(tmp_path / "none.jsonl")])
    assert result.exit_code == 2
    assert "no such file" in result.stderr
    records = load_jsonl(small_data) + [make_record("bad-1", cubic_tensor(c11=100.0, c12=200.0))]
    data = write_jsonl(records, tmp_path / "with_bad.jsonl")
    result = runner.invoke(app, ["data", "distill", "--data", str(data), "--output", str(tmp_path / "d.jsonl")])
    assert result.exit_code == 1
    assert "bad-1 (not_positive_definite" in result.stderr and "--on-invalid drop" in result.stderr
    assert not (tmp_path / "d.jsonl").exists()
