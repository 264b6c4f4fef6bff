"""Issue 15, item 6: `stn --version`, help texts, training output in a pipe, `stn_plugin.pretrained_path`."""

from __future__ import annotations

import os
import subprocess
import sys

import matgl
import torch
from typer.testing import CliRunner

import stn_plugin
from stn_plugin.cli.main import app
from tests.test_training_helpers import tiny_config, write_small_dataset

torch.set_num_threads(1)

runner = CliRunner(env={"COLUMNS": "200"})


def test_version():
    result = runner.invoke(app, ["--version"])
    assert result.exit_code == 0 and result.stdout.strip() == f"stn-plugin {stn_plugin.__version__}"


def test_train_help_shows_the_default_names_in_full():
    result = runner.invoke(app, ["models", "train", "--help"])
    assert result.exit_code == 0, result.output
    text = " ".join(result.stdout.split())
    assert "default CONFIG-seedSEED" in text and "default runs/RUN-NAME" in text
    assert "default -seed" not in text and "default runs/ " not in text


def test_pretrained_path_loads_with_matgl_from_any_folder(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    path = stn_plugin.pretrained_path("stn-mp-2023")
    assert path.is_absolute() and (path / "model.json").is_file()
    model = matgl.load_model(path)
    assert type(model).__name__ == "ElasticPredictor" and len(model.networks) == 2


def test_training_output_in_a_pipe_has_no_advert_no_control_codes_and_one_filter_table(tmp_path):
    data = write_small_dataset(tmp_path / "small.jsonl")
    lines = data.read_text().splitlines()
    data.write_text("\n".join([*lines, lines[0]]) + "\n")  # one duplicate id, dropped
    config = tmp_path / "tiny.yaml"
    tiny_config().to_yaml(config)
    args = ["models", "train", "strain-tensor-net", "--data", str(data), "--config", str(config), "--max-epochs", "1"]
    args += [
        "--on-invalid",
        "drop",
        "--tracking-uri",
        f"sqlite:///{tmp_path}/mlflow.db",
        "--output",
        str(tmp_path / "r"),
    ]
    env = {**os.environ, "OMP_NUM_THREADS": "1", "COLUMNS": "200"}
    env.pop("MLFLOW_RUN_ID", None)
    done = subprocess.run(
        [sys.executable, "-m", "stn_plugin.cli.main", *args],
        capture_output=True,
        text=True,
        timeout=240,
        cwd=tmp_path,
        env=env,
    )
    output = done.stdout + done.stderr
    assert done.returncode == 0, output
    assert "💡" not in output and "litlogger" not in output and "litmodels" not in output
    assert "\x1b[" not in output
    assert output.count("duplicate_id") == 1 and output.count("kept 20 of 21 records") == 1
