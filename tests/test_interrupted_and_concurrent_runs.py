"""Training killed with SIGKILL and restarted, concurrent runs on one sqlite store, parallel and batched predictions.

The killed and concurrent runs are real processes (``python -c`` with the repository on ``PYTHONPATH``, started in
a temporary folder so MLflow's ``./mlruns`` artifacts stay there). Each process pays about 10 s of imports on the
2-core machine, so these tests are marked slow (CI runs them too).
"""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import torch
from mlflow import MlflowClient

import stn_plugin
from stn_plugin.io import read_structure
from stn_plugin.training import train
from stn_plugin.training.tracking import RUN_FILE
from tests.test_cli_helpers import EXAMPLE_FILES, save_tiny_model
from tests.test_training_helpers import tiny_config, write_small_dataset

torch.set_num_threads(1)

REPOSITORY = Path(__file__).resolve().parents[1]
CONFIG = {"max_epochs": 4, "teacher_forcing_epochs": 1, "lr": 3e-3}
TRAIN = """
import sys
from stn_plugin.training import train
from tests.test_training_helpers import tiny_config
data, output, uri, name = sys.argv[1:]
train(config=tiny_config(**{config}), data=data, output_dir=output, tracking_uri=uri, experiment="runs",
      run_name=name, cache_dir=None)
"""


def _start(code: str, *args: str | Path, cwd: Path) -> subprocess.Popen:
    env = {**os.environ, "PYTHONPATH": str(REPOSITORY), "OMP_NUM_THREADS": "1"}
    env.pop("MLFLOW_RUN_ID", None)
    command = [sys.executable, "-c", code, *map(str, args)]
    return subprocess.Popen(command, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def _checkpoint_epoch(path: Path) -> int:
    """Epoch of a complete checkpoint, -1 while there is none."""
    try:
        return int(torch.load(path, map_location="cpu", weights_only=True)["epoch"])
    except (OSError, RuntimeError, EOFError, KeyError):
        return -1


def _state(path: Path) -> dict[str, torch.Tensor]:
    return torch.load(path, map_location="cpu", weights_only=True)["state_dict"]


@pytest.fixture(scope="module")
def small_data(tmp_path_factory) -> Path:
    return write_small_dataset(tmp_path_factory.mktemp("data") / "small.jsonl")


@pytest.mark.slow
def test_sigkill_then_same_command_resumes_to_the_uninterrupted_result(small_data, tmp_path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("MLFLOW_RUN_ID", raising=False)
    uri = f"sqlite:///{tmp_path}/mlflow.db"
    out = tmp_path / "run"
    killed = _start(TRAIN.format(config=CONFIG), small_data, out, uri, "killed", cwd=tmp_path)
    deadline = time.monotonic() + 300
    while _checkpoint_epoch(out / "checkpoints" / "last.ckpt") < 1:  # two epochs done: somewhere in epoch 2 or 3
        assert killed.poll() is None, killed.communicate()[0]
        assert time.monotonic() < deadline, "no checkpoint of epoch 1 after 300 s"
        time.sleep(0.05)
    delay = random.uniform(0.0, 1.0)
    time.sleep(delay)
    killed.send_signal(signal.SIGKILL)
    killed.wait()
    assert killed.returncode == -signal.SIGKILL and not (out / "result.json").exists(), "finished before the kill"
    killed_run = json.loads((out / RUN_FILE).read_text())["run_id"]
    client = MlflowClient(uri)
    assert client.get_run(killed_run).info.status == "RUNNING"  # what SIGKILL leaves behind

    kwargs = {"config": tiny_config(**CONFIG), "data": small_data, "cache_dir": None}
    resumed = train(output_dir=out, tracking_uri=uri, experiment="runs", run_name="killed", **kwargs)
    straight = train(output_dir=tmp_path / "straight", track=False, **kwargs)

    assert resumed.epochs_trained == straight.epochs_trained == CONFIG["max_epochs"], f"killed {delay:.2f} s late"
    a, b = _state(out / "checkpoints" / "last.ckpt"), _state(tmp_path / "straight" / "checkpoints" / "last.ckpt")
    assert a.keys() == b.keys()
    for key in a:
        torch.testing.assert_close(a[key], b[key], rtol=1e-6, atol=1e-7, msg=key)
    assert resumed.metrics.keys() == straight.metrics.keys(), f"killed {delay:.2f} s after the epoch-1 checkpoint"
    for key in ("train/loss", "val/sed_mae_mev", "val/cij_mae_gpa", "best/val/sed_mae_mev", "best/test/cij_mae_gpa"):
        assert resumed.metrics[key] == pytest.approx(straight.metrics[key], rel=1e-5), key
    assert resumed.run_id == killed_run and client.get_run(killed_run).info.status == "FINISHED"
    history = client.get_metric_history(killed_run, "val/sed_mae_mev")
    assert {m.step for m in history} == set(range(CONFIG["max_epochs"]))


@pytest.mark.slow
def test_two_runs_on_one_sqlite_store_finish_with_all_metrics_and_equal_weights(small_data, tmp_path) -> None:
    uri = f"sqlite:///{tmp_path}/mlflow.db"  # a new store: both processes also race to create its tables
    config = {**CONFIG, "max_epochs": 2}
    runs = [
        _start(TRAIN.format(config=config), small_data, tmp_path / name, uri, name, cwd=tmp_path)
        for name in ("first", "second")
    ]
    for process in runs:
        output = process.communicate(timeout=240)[0]
        assert process.returncode == 0, output[-3000:]
    client = MlflowClient(uri)
    for name in ("first", "second"):
        run = client.get_run(json.loads((tmp_path / name / "result.json").read_text())["run_id"])
        assert run.info.status == "FINISHED" and run.info.run_name == name
        for key in ("train/loss", "val/sed_mae_mev", "val/cij_mae_gpa"):
            assert {m.step for m in client.get_metric_history(run.info.run_id, key)} == {0, 1}, (name, key)
        assert "best/test/cij_mae_gpa" in run.data.metrics
    # same seed and data: the same weights, bit for bit, whatever the other process did meanwhile
    first, second = _state(tmp_path / "first/checkpoints/last.ckpt"), _state(tmp_path / "second/checkpoints/last.ckpt")
    assert all(torch.equal(first[key], second[key]) for key in first)
    structure = read_structure(EXAMPLE_FILES[1])
    a, b = (stn_plugin.load(tmp_path / name / "model").predict_structure(structure) for name in ("first", "second"))
    assert np.array_equal(a.sed, b.sed)


PREDICT = [sys.executable, "-m", "stn_plugin.cli.main", "models", "predict"]


@pytest.mark.slow
def test_two_predictions_in_parallel_processes_are_identical(tmp_path) -> None:
    model = save_tiny_model(tmp_path / "model")
    env = {**os.environ, "PYTHONPATH": str(REPOSITORY), "OMP_NUM_THREADS": "1"}
    outputs = [tmp_path / f"{name}.json" for name in ("a", "b")]
    pipes = {"stdout": subprocess.PIPE, "stderr": subprocess.STDOUT, "text": True}
    processes = [
        subprocess.Popen([*PREDICT, str(model), *EXAMPLE_FILES, "--output", str(out)], cwd=tmp_path, env=env, **pipes)
        for out in outputs
    ]
    for process in processes:
        output = process.communicate(timeout=240)[0]
        assert process.returncode == 0, output[-3000:]
    assert outputs[0].read_bytes() == outputs[1].read_bytes()
    rows = json.loads(outputs[0].read_text())
    # and equal to this process's prediction of the same files in one call (the CLI's batch: the same positions of
    # every value in the vectorised kernels, so bit for bit)
    here = stn_plugin.load(model).predict_structures([read_structure(file) for file in EXAMPLE_FILES])
    for row, prediction in zip(rows, here, strict=True):
        assert np.array_equal(row["sed"], prediction.sed)


def test_predictions_are_repeatable_and_do_not_depend_on_batch_composition(tmp_path) -> None:
    model = stn_plugin.load(save_tiny_model(tmp_path / "model"))
    structures = [read_structure(file) for file in EXAMPLE_FILES]
    alone = np.stack([model.predict_structure(s).sed for s in structures])
    assert np.array_equal(alone, np.stack([model.predict_structure(s).sed for s in structures]))
    one_per_pass = np.stack([p.sed for p in model.predict_structures(structures, materials_per_batch=1)])
    assert np.array_equal(one_per_pass, alone)  # one material per forward pass: bit-identical
    for order, per_batch in ((slice(None), 4), (slice(None, None, -1), 3)):
        batched = np.stack([p.sed for p in model.predict_structures(structures[order], materials_per_batch=per_batch)])
        # float32 round-off only: vectorised CPU kernels round an element differently in a SIMD block and in its
        # tail, so a value can depend on its position in the batch (see docs/RELIABILITY.md)
        np.testing.assert_allclose(batched[order], alone, rtol=1e-5, atol=1e-5)
