"""The MLflow project mlflow_projects/train: parameter resolution, and a real `mlflow run` (slow)."""

from __future__ import annotations

import importlib.util
import os
import re
import subprocess
from pathlib import Path

import pytest
from mlflow import MlflowClient

from stn_plugin.cli.mlflow_experiment import runs_training_project
from stn_plugin.training.tracking import DEFAULT_EXPERIMENT
from tests.test_cli_helpers import REPOSITORY
from tests.test_training_helpers import tiny_config, write_small_dataset

PROJECT = REPOSITORY / "mlflow_projects" / "train"
_spec = importlib.util.spec_from_file_location("stn_mlflow_project_main", PROJECT / "main.py")
_entry = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_entry)
stn_arguments = _entry.stn_arguments


def test_relative_paths_resolve_against_the_repository(monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("MLFLOW_RUN_ID", "abc")
    args = stn_arguments(["--architecture", "fig6a", "--data", "prepared/train.jsonl", "--config", "my.yaml"])
    assert args[:3] == ["models", "train", "fig6a"]
    assert args[args.index("--data") + 1] == str(REPOSITORY / "prepared" / "train.jsonl")
    assert args[args.index("--config") + 1] == str(REPOSITORY / "my.yaml")
    assert args[args.index("--output") + 1] == str(REPOSITORY / "runs" / "mlflow-abc")
    assert "--preset" not in args and "--max-epochs" not in args and "--seed" not in args


def test_defaults_use_the_bundled_data_and_the_preset():
    args = stn_arguments(["--architecture", "strain-tensor-net", "--max-epochs", "1.0", "--seed", "2"])
    assert "--data" not in args
    assert args[args.index("--preset") + 1] == "cpu"
    assert args[args.index("--max-epochs") + 1] == "1" and args[args.index("--seed") + 1] == "2"


def test_init_from_is_a_repository_folder_or_a_registry_name(monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    folder = stn_arguments(["--architecture", "strain-tensor-net", "--init-from", "tests/fixtures/stn-mp-2023-v1"])
    assert folder[folder.index("--init-from") + 1] == str(REPOSITORY / "tests" / "fixtures" / "stn-mp-2023-v1")
    name = stn_arguments(["--architecture", "strain-tensor-net", "--init-from", "stn-mp-2023-fast"])
    assert name[name.index("--init-from") + 1] == "stn-mp-2023-fast"
    assert "--init-from" not in stn_arguments(["--architecture", "strain-tensor-net"])


def test_mlproject_declares_typed_parameters():
    import yaml

    spec = yaml.safe_load((PROJECT / "MLproject").read_text())
    params = spec["entry_points"]["main"]["parameters"]
    assert {
        "architecture",
        "data",
        "preset",
        "config",
        "max_epochs",
        "seed",
        "init_from",
        "register_as",
        "output",
    } <= set(params)
    assert all("type" in p for p in params.values())
    assert (PROJECT / spec["python_env"]).is_file()


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


def test_default_experiment_provider_is_registered_with_mlflow():
    from mlflow.tracking.default_experiment import registry

    from stn_plugin.cli.mlflow_experiment import StnProjectExperimentProvider

    providers = list(registry._default_experiment_provider_registry)
    assert any(isinstance(provider, StnProjectExperimentProvider) for provider in providers)


@pytest.mark.slow
def test_mlflow_run_trains_logs_and_registers(tmp_path):
    config = tmp_path / "tiny.yaml"
    tiny_config().to_yaml(config)
    data = write_small_dataset(tmp_path / "small.jsonl")
    uri = f"sqlite:///{tmp_path}/mlflow.db"
    command = ["mlflow", "run", str(PROJECT), "--env-manager", "local"]  # no experiment: lands in stn-plugin
    params = {"data": data, "config": config, "max_epochs": 1, "output": tmp_path / "run", "register_as": "tiny-mlp"}
    for key, value in params.items():
        command += ["-P", f"{key}={value}"]
    env = {**os.environ, "MLFLOW_TRACKING_URI": uri}
    env.pop("MLFLOW_RUN_ID", None)
    done = subprocess.run(command, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    run_id = re.search(r"^run id: ([0-9a-f]{32})$", done.stdout, re.M).group(1)
    run = MlflowClient(uri).get_run(run_id)
    assert run.info.status == "FINISHED"
    experiment = MlflowClient(uri).get_experiment(run.info.experiment_id)
    assert experiment.name == DEFAULT_EXPERIMENT
    assert experiment.tags["mlflow.experimentKind"] == "custom_model_development"  # MLflow 3's model-training view
    assert run.data.params["max_epochs"] == "1" and "config.training.lr" in run.data.params
    assert "best/test/cij_mae_gpa" in run.data.metrics
    assert (Path(tmp_path) / "run" / "model" / "model.json").is_file()
    versions = MlflowClient(uri).search_model_versions("name='tiny-mlp'")
    assert [v.run_id for v in versions] == [run_id]
