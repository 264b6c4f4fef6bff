"""`stn models train` through Typer's CliRunner: a tiny tracked, registered run; option errors."""

from __future__ import annotations

import json
import re

import matgl
import pytest
import torch
from mlflow import MlflowClient
from typer.testing import CliRunner

from stn_plugin.cli.main import app
from tests.test_training_helpers import tiny_config, write_small_dataset

torch.set_num_threads(1)

runner = CliRunner(env={"COLUMNS": "200"})


@pytest.fixture()
def tiny_inputs(tmp_path, monkeypatch):
    """Small dataset, tiny config YAML and a sqlite store, with the working folder in tmp_path (MLflow artifacts)."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("MLFLOW_RUN_ID", raising=False)
    config = tmp_path / "tiny.yaml"
    tiny_config().to_yaml(config)
    return write_small_dataset(tmp_path / "small.jsonl"), config, f"sqlite:///{tmp_path}/mlflow.db"


def test_train_prints_run_id_and_model_dir(tiny_inputs, tmp_path):
    data, config, uri = tiny_inputs
    args = ["models", "train", "strain-tensor-net", "--data", str(data), "--config", str(config), "--max-epochs", "1"]
    args += ["--tracking-uri", uri, "--experiment", "cli", "--run-name", "tiny", "--register-as", "tiny-stn"]
    args += ["--output", str(tmp_path / "run")]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    run_id = re.search(r"^run id: ([0-9a-f]{32})$", result.stdout, re.M).group(1)
    assert f"model: {tmp_path / 'run' / 'model'}" in result.stdout
    assert "registered model: tiny-stn/1" in result.stdout and "cij_mae_gpa" in result.stdout
    run = MlflowClient(uri).get_run(run_id)
    assert run.info.status == "FINISHED" and run.info.run_name == "tiny"
    assert "best/test/cij_mae_gpa" in run.data.metrics
    loaded = matgl.load_model(tmp_path / "run" / "model")
    saved = torch.load(tmp_path / "run" / "model" / "state.pt", weights_only=True)
    assert type(loaded).__name__ == "ElasticPredictor" and loaded.state_dict().keys() == saved.keys()
    for key, value in loaded.state_dict().items():
        torch.testing.assert_close(value, saved[key], rtol=0, atol=0, msg=key)


def test_evaluate_reproduces_the_training_test_report(tiny_inputs, tmp_path):
    """`stn data prepare` + `stn models evaluate` on its test part give the numbers of the run's test report
    (training reports with the scoring of `stn models evaluate`, on the prediction users get)."""
    data, config, _ = tiny_inputs
    args = ["models", "train", "strain-tensor-net", "--data", str(data), "--config", str(config), "--max-epochs", "1"]
    trained = runner.invoke(app, [*args, "--tracking-uri", "sqlite:///mlflow.db", "--output", str(tmp_path / "run")])
    assert trained.exit_code == 0, trained.output
    prepared = runner.invoke(app, ["data", "prepare", "--data", str(data), "--output", str(tmp_path / "prepared")])
    assert prepared.exit_code == 0, prepared.output
    evaluate = [
        "models",
        "evaluate",
        str(tmp_path / "run" / "model"),
        "--data",
        str(tmp_path / "prepared" / "test.jsonl"),
    ]
    evaluated = runner.invoke(app, [*evaluate, "--report", str(tmp_path / "report")])
    assert evaluated.exit_code == 0, evaluated.output
    expected = json.loads((tmp_path / "run" / "reports" / "test" / "metrics.json").read_text())
    actual = json.loads((tmp_path / "report" / "metrics.json").read_text())
    assert actual["overall"]["n_materials"] == expected["overall"]["n_materials"]
    assert actual["overall"] == pytest.approx(expected["overall"], rel=1e-5)
    assert actual["dcv"] == pytest.approx(expected["dcv"], rel=1e-5)


def test_train_option_errors(tiny_inputs):
    data, config, _ = tiny_inputs
    both = runner.invoke(app, ["models", "train", "strain-tensor-net", "--config", str(config), "--preset", "cpu"])
    assert both.exit_code == 2 and "either --config or --preset" in both.stderr
    missing = runner.invoke(app, ["models", "train", "strain-tensor-net", "--data", "nope.jsonl"])
    assert missing.exit_code == 2 and "no such file" in missing.stderr
    unknown = runner.invoke(app, ["models", "train", "strain-tensor-nett", "--data", str(data), "--max-epochs", "1"])
    assert unknown.exit_code == 1
    assert "Unknown architecture 'strain-tensor-nett'" in unknown.stderr and "fig6a" in unknown.stderr
    preset = runner.invoke(app, ["models", "train", "fig6a", "--data", str(data), "--preset", "gpu"])
    assert preset.exit_code == 1 and "Unknown preset 'gpu'" in preset.stderr
