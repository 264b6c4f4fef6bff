"""`stn data prepare` and `stn data fetch-mp` through Typer's CliRunner."""

from __future__ import annotations

import json
import sys

import pytest
from typer.testing import CliRunner

from cli.main import app
from stn_plugin.data import combined_split, load_jsonl, load_split, write_jsonl
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
