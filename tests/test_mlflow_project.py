"""The MLflow project mlflow_projects/train: its parameters, their resolution, and a real `mlflow run` beside
`stn models train` (slow)."""

from __future__ import annotations

import importlib.util
import inspect
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from mlflow import MlflowClient
from typer.testing import CliRunner

from stn_plugin.cli.main import app
from stn_plugin.cli.mlflow_experiment import runs_training_project
from stn_plugin.training import train
from stn_plugin.training.tracking import DEFAULT_EXPERIMENT, RUN_ARGUMENTS
from tests.test_cli_helpers import REPOSITORY
from tests.test_training_helpers import tiny_config, write_small_dataset

PROJECT = REPOSITORY / "mlflow_projects" / "train"
_spec = importlib.util.spec_from_file_location("stn_mlflow_project_main", PROJECT / "main.py")
_entry = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_entry)
train_arguments = _entry.train_arguments


def test_mlproject_parameters_are_the_params_every_training_run_logs():
    spec = yaml.safe_load((PROJECT / "MLproject").read_text())
    params = spec["entry_points"]["main"]["parameters"]
    assert tuple(params) == RUN_ARGUMENTS
    assert all("type" in p for p in params.values())
    assert (PROJECT / spec["python_env"]).is_file()


def test_relative_paths_resolve_against_the_repository_and_names_stay_names(monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("MLFLOW_RUN_ID", "abc")
    given = ["--architecture", "fig6a", "--data", "prepared/train.jsonl", "--config", "my.yaml", "--seed", "2.0"]
    arguments = train_arguments([*given, "--init-from", "tests/fixtures"])
    inspect.signature(train).bind(**arguments)
    assert arguments["data"] == REPOSITORY / "prepared" / "train.jsonl"
    assert arguments["config"] == REPOSITORY / "my.yaml"
    assert arguments["init_from"] == str(REPOSITORY / "tests" / "fixtures")
    assert arguments["output_dir"] == REPOSITORY / "runs" / "mlflow-abc"
    assert arguments["seed"] == 2 and arguments["max_epochs"] is None
    named = train_arguments(["--architecture", "fig6a", "--config", "paper", "--init-from", "stn-mp-2023-fast"])
    assert named["config"] == "paper" and named["init_from"] == "stn-mp-2023-fast"


def test_empty_parameters_are_the_defaults_of_train():
    arguments = train_arguments(
        ["--architecture", "strain-tensor-net", "--config", "", "--data", "", "--on-invalid", ""]
    )
    defaults = inspect.signature(train).parameters
    for name in ("config", "data", "on_invalid", "init_from", "register_as"):
        assert arguments[name] is None and defaults[name].default is None, name
    with pytest.raises(SystemExit):
        train_arguments(["--architecture", "strain-tensor-net", "--max-epochs", "1.5"])


def test_default_experiment_provider_answers_only_for_this_project(tmp_path):
    other = tmp_path / "other"
    other.mkdir()
    (other / "MLproject").write_text("name: someone-else\n")
    assert runs_training_project(["/usr/bin/mlflow", "run", str(PROJECT), "-P", "max_epochs=1"])
    assert runs_training_project(["mlflow", "run", "--env-manager", "local", str(PROJECT)])
    assert not runs_training_project(["mlflow", "run", str(other)])
    assert not runs_training_project(["mlflow", "ui", str(PROJECT)])
    assert not runs_training_project(["python", "run", str(PROJECT)])
    assert not runs_training_project(["mlflow", "run", "https://github.com/mlflow/mlflow-example"])


@pytest.mark.slow
def test_mlflow_run_trains_logs_and_registers_with_the_params_of_the_cli(tmp_path, monkeypatch):
    """A real `mlflow run` of the project, and `stn models train` with the same inputs: the same params."""
    config = tmp_path / "tiny.yaml"
    tiny_config().to_yaml(config)
    data = write_small_dataset(tmp_path / "small.jsonl")
    uri = f"sqlite:///{tmp_path}/mlflow.db"
    command = [sys.executable, "-m", "mlflow", "run", str(PROJECT), "--env-manager", "local"]  # lands in stn-plugin
    params = {"data": data, "config": config, "max_epochs": 1, "output": tmp_path / "run", "register_as": "tiny-mlp"}
    for key, value in params.items():
        command += ["-P", f"{key}={value}"]
    # the project's command `python main.py` runs with this interpreter (and its installed stn_plugin)
    env = {
        **os.environ,
        "MLFLOW_TRACKING_URI": uri,
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
    }
    env.pop("MLFLOW_RUN_ID", None)
    done = subprocess.run(command, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=240)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    run_id = re.search(r"^run id: ([0-9a-f]{32})$", done.stdout, re.M).group(1)
    client = MlflowClient(uri)
    run = client.get_run(run_id)
    assert run.info.status == "FINISHED"
    experiment = client.get_experiment(run.info.experiment_id)
    assert experiment.name == DEFAULT_EXPERIMENT
    assert experiment.tags["mlflow.experimentKind"] == "custom_model_development"  # MLflow 3's model-training view
    assert run.data.params["max_epochs"] == "1" and "config.training.lr" in run.data.params
    assert "best/test/cij_mae_gpa" in run.data.metrics
    assert (Path(tmp_path) / "run" / "model" / "model.json").is_file()
    versions = client.search_model_versions("name='tiny-mlp'")
    assert [v.run_id for v in versions] == [run_id]

    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("MLFLOW_RUN_ID", raising=False)
    cli = ["models", "train", "strain-tensor-net", "--data", str(data), "--config", str(config), "--max-epochs", "1"]
    cli += ["--tracking-uri", uri, "--output", str(tmp_path / "cli-run")]
    trained = CliRunner().invoke(app, cli)
    assert trained.exit_code == 0, trained.output
    cli_params = client.get_run(re.search(r"^run id: ([0-9a-f]{32})$", trained.stdout, re.M).group(1)).data.params
    assert set(cli_params) == set(run.data.params)
    resolved = {key: value for key, value in run.data.params.items() if "." in key}  # config.*, data.*, trainer.*
    assert resolved == {key: value for key, value in cli_params.items() if "." in key}
