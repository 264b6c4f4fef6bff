"""train(): loss decreases, exact resume after an interruption, MLflow params/metrics/artifacts/registry."""

from __future__ import annotations

import json

import lightning as pl
import matgl
import mlflow
import numpy as np
import pytest
import torch
from mlflow import MlflowClient

from stn_plugin.data import load_jsonl
from stn_plugin.training import REGISTRY_ALIAS, train
from stn_plugin.training.tracking import RUN_ARGUMENTS, RUN_FILE, resolve_run
from tests.test_training_helpers import tiny_config, write_small_dataset

torch.set_num_threads(1)


@pytest.fixture(scope="module")
def small_data(tmp_path_factory):
    return write_small_dataset(tmp_path_factory.mktemp("data") / "small.jsonl")


class _Recorder(pl.Callback):
    """Keeps ``train/loss`` of every epoch."""

    def __init__(self) -> None:
        self.losses: list[float] = []

    def on_train_epoch_end(self, trainer, pl_module) -> None:
        self.losses.append(float(trainer.callback_metrics["train/loss"]))


class _Interrupt(pl.Callback):
    """Stops the process at the start of epoch ``epoch`` (after the previous epoch's checkpoint), or for
    ``epoch=None`` when training ends (after the last checkpoint, before the model and reports are written)."""

    def __init__(self, epoch: int | None) -> None:
        self.epoch = epoch

    def on_train_epoch_start(self, trainer, pl_module) -> None:
        if self.epoch is not None and trainer.current_epoch == self.epoch:
            raise SystemExit("simulated kill")

    def on_train_end(self, trainer, pl_module) -> None:
        if self.epoch is None:
            raise SystemExit("simulated kill")


def _state(path):
    return torch.load(path, map_location="cpu", weights_only=True)["state_dict"]


def test_loss_decreases(small_data, tmp_path):
    recorder = _Recorder()
    config = tiny_config(lr=3e-3, max_epochs=4, teacher_forcing_epochs=0, strains_per_material="all")
    train(config=config, data=small_data, output_dir=tmp_path, track=False, cache_dir=None, callbacks=[recorder])
    assert len(recorder.losses) == 4
    assert recorder.losses[-1] < 0.8 * recorder.losses[0], recorder.losses


@pytest.mark.parametrize(
    ("ema_decay", "interrupt"), [(None, 2), (0.9, 2), (None, None)], ids=["epoch-2", "epoch-2-ema", "after-last-epoch"]
)
def test_resume_continues_the_same_trajectory(small_data, tmp_path, ema_decay, interrupt):
    config = tiny_config(max_epochs=3, teacher_forcing_epochs=1, lr=3e-3, ema_decay=ema_decay)
    kwargs = {"config": config, "data": small_data, "track": False, "cache_dir": None}
    straight = train(output_dir=tmp_path / "straight", **kwargs)
    with pytest.raises(SystemExit):
        train(output_dir=tmp_path / "resumed", callbacks=[_Interrupt(epoch=interrupt)], **kwargs)
    assert _state(tmp_path / "resumed/checkpoints/last.ckpt") != {}  # the last completed epoch is checkpointed
    resumed = train(output_dir=tmp_path / "resumed", **kwargs)
    assert resumed.epochs_trained == straight.epochs_trained == 3
    a, b = _state(tmp_path / "straight/checkpoints/last.ckpt"), _state(tmp_path / "resumed/checkpoints/last.ckpt")
    assert a.keys() == b.keys()
    for key in a:
        torch.testing.assert_close(a[key], b[key], rtol=1e-6, atol=1e-7, msg=key)
    assert resumed.metrics.keys() == straight.metrics.keys()  # also when no epoch was left to run
    for key in ("val/sed_mae_mev", "val/cij_mae_gpa", "train/loss", "best/test/sed_mae_mev"):
        assert resumed.metrics[key] == pytest.approx(straight.metrics[key], rel=1e-5)


def test_ema_weights_are_validated_checkpointed_and_saved(small_data, tmp_path):
    config = tiny_config(max_epochs=2, teacher_forcing_epochs=0, lr=3e-3, ema_decay=0.5)
    result = train(config=config, data=small_data, output_dir=tmp_path, track=False, cache_dir=None)
    checkpoint = torch.load(tmp_path / "checkpoints/last.ckpt", map_location="cpu", weights_only=True)
    averaged, raw = checkpoint["state_dict"], checkpoint["current_model_state"]
    weight = next(k for k in averaged if k.endswith("weight"))
    assert not torch.equal(averaged[weight], raw[weight])  # the averaged weights lag the raw ones
    best = torch.load(result.best_checkpoint, map_location="cpu", weights_only=True)["state_dict"]
    saved = matgl.load_model(result.model_dir).state_dict()
    for key, value in saved.items():
        torch.testing.assert_close(value, best[f"predictor.{key}"], msg=key)


class _ValidationRecorder(pl.Callback):
    """Keeps ``val/cij_mae_gpa`` and ``val/sed_mae_mev`` of every epoch (validation every epoch)."""

    def __init__(self) -> None:
        self.cij: dict[int, float] = {}
        self.sed: dict[int, float] = {}

    def on_train_epoch_end(self, trainer, pl_module) -> None:  # after the epoch's validation
        self.cij[trainer.current_epoch] = float(trainer.callback_metrics["val/cij_mae_gpa"])
        self.sed[trainer.current_epoch] = float(trainer.callback_metrics["val/sed_mae_mev"])


def test_the_logged_validation_score_is_what_evaluate_prints_for_the_saved_model(small_data, tmp_path):
    """One metric: the validation C_ij MAE that training logs for its best checkpoint (the monitored metric) is what
    ``stn models evaluate`` prints for the saved model on the validation records, to float round-off."""
    from typer.testing import CliRunner

    from stn_plugin.cli.main import app
    from stn_plugin.data import write_jsonl

    recorder = _ValidationRecorder()
    config = tiny_config(max_epochs=5, teacher_forcing_epochs=0, lr=0.1, monitor="val/cij_mae_gpa")
    result = train(
        config=config, data=small_data, output_dir=tmp_path / "run", track=False, cache_dir=None, callbacks=[recorder]
    )
    assert sorted(recorder.cij) == [0, 1, 2, 3, 4]
    assert result.best_epoch == min(recorder.cij, key=recorder.cij.get) != 4  # the monitored metric's best epoch
    logged = recorder.cij[result.best_epoch]
    val_ids = set(json.loads((tmp_path / "run" / "split.json").read_text())["val"])
    write_jsonl([r for r in load_jsonl(small_data) if r.material_id in val_ids], tmp_path / "val.jsonl")
    args = ["models", "evaluate", str(result.model_dir), "--data", str(tmp_path / "val.jsonl")]
    done = CliRunner().invoke(app, [*args, "--report", str(tmp_path / "report")])
    assert done.exit_code == 0, done.output
    printed = json.loads((tmp_path / "report" / "metrics.json").read_text())["overall"]["cij_mae_gpa"]
    assert printed == pytest.approx(logged, rel=1e-5, abs=1e-4)
    assert result.metrics["best/val/cij_mae_gpa"] == pytest.approx(printed, rel=1e-5, abs=1e-4)


def test_mlflow_run_params_metrics_artifacts_registry(small_data, tmp_path, monkeypatch):
    monkeypatch.delenv("MLFLOW_RUN_ID", raising=False)
    uri = f"sqlite:///{tmp_path}/mlflow.db"
    common = {"data": small_data, "tracking_uri": uri, "experiment": "test-stn", "cache_dir": None}
    result = train("strain-tensor-net", tiny_config(), output_dir=tmp_path / "stn", register_as="stn-tiny", **common)
    baseline = train("fig6a", tiny_config("fig6a"), output_dir=tmp_path / "fig6a", **common)

    client = MlflowClient(uri)
    run = client.get_run(result.run_id)
    assert run.info.status == "FINISHED"
    params = run.data.params
    assert params["config.training.lr"] == "0.001" and params["config.model.encoder.lmax"] == "1"
    assert params["data.n_train"] == "14" and params["data.split_seed"] == "0"
    history = client.get_metric_history(result.run_id, "val/sed_mae_mev")
    assert sorted(m.step for m in history) == [0, 1]  # step = epoch
    for key in ("train/loss", "train/sed_l1_mev", "train/bce", "train/dcv_accuracy", "val/loss", "val/bce",
                "val/dcv_accuracy", "val/cij_mae_gpa", "val/bulk_voigt_mae_gpa", "val/shear_voigt_mae_gpa",
                "best/test/cij_mae_gpa"):  # fmt: skip
        assert key in run.data.metrics, key
    # two architectures, same metric keys (NaN where a model has no classifier)
    other = client.get_run(baseline.run_id).data
    assert set(other.metrics) == set(run.data.metrics)
    assert np.isnan(other.metrics["val/bce"])

    def shared(keys):
        return {k for k in keys if not k.startswith("config.model.") or ".encoder." in k}

    assert shared(params) == shared(other.params)  # only architecture-specific head params differ

    artifacts = {a.path for a in client.list_artifacts(result.run_id)}
    assert {"config.yaml", "split.json", "validation_report.json", "model_dir", "reports", "result.json"} <= artifacts
    reports = {a.path for a in client.list_artifacts(result.run_id, "reports/test")}
    assert {"reports/test/metrics.md", "reports/test/parity_cij.png", "reports/test/distance_cubic.png"} <= reports

    version = client.get_model_version_by_alias("stn-tiny", REGISTRY_ALIAS)
    assert result.registered_model == f"stn-tiny/{version.version}"
    # the saved model directory and the registered pyfunc model both predict like the trained model
    structure = load_jsonl(small_data)[0].structure
    direct = matgl.load_model(result.model_dir).predict_structure(structure)
    mlflow.set_tracking_uri(uri)
    pyfunc = mlflow.pyfunc.load_model(f"models:/stn-tiny@{REGISTRY_ALIAS}")
    (row,) = pyfunc.predict([structure.to_json()])
    np.testing.assert_allclose(row["elastic_tensor"], direct.elastic_tensor.voigt, rtol=1e-5, atol=1e-6)


def test_resume_reuses_the_recorded_run_and_kills_orphans(tmp_path, monkeypatch):
    monkeypatch.delenv("MLFLOW_RUN_ID", raising=False)
    client = MlflowClient(f"sqlite:///{tmp_path}/mlflow.db")
    run_file = tmp_path / RUN_FILE
    first = resolve_run(client, "exp", "a", run_file, resume=False)
    assert json.loads(run_file.read_text())["run_id"] == first
    assert resolve_run(client, "exp", "a", run_file, resume=True) == first  # killed process, same command
    fresh = resolve_run(client, "exp", "a", run_file, resume=False)  # new start: the orphan is closed
    assert fresh != first and client.get_run(first).info.status == "KILLED"
    monkeypatch.setenv("MLFLOW_RUN_ID", client.create_run(client.get_run(fresh).info.experiment_id).info.run_id)
    assert resolve_run(client, "exp", "a", run_file, resume=True) == mlflow.environment_variables.MLFLOW_RUN_ID.get()
    assert client.get_run(fresh).info.status == "KILLED"
    monkeypatch.delenv("MLFLOW_RUN_ID")
    real, looks = client.get_experiment_by_name, []

    def stale_first_look(name):  # another process creates the experiment between this look and the create
        looks.append(name)
        return None if len(looks) == 1 else real(name)

    monkeypatch.setattr(client, "get_experiment_by_name", stale_first_look)
    raced = resolve_run(client, "exp", "b", tmp_path / "b" / RUN_FILE, resume=False)
    assert client.get_run(raced).info.experiment_id == client.get_run(first).info.experiment_id


def test_one_epoch_run_validates_and_has_one_param_naming(small_data, tmp_path, monkeypatch):
    monkeypatch.delenv("MLFLOW_RUN_ID", raising=False)
    uri = f"sqlite:///{tmp_path}/mlflow.db"
    config = tiny_config(max_epochs=1, val_every_n_epochs=2)
    result = train(config=config, data=small_data, tracking_uri=uri, output_dir=tmp_path / "run", cache_dir=None)
    client = MlflowClient(uri)
    assert [m.step for m in client.get_metric_history(result.run_id, "val/cij_mae_gpa")] == [0]
    params = client.get_run(result.run_id).data.params
    assert params["config.training.seed"] == str(config.training.seed)
    assert not [key for key in params if key.startswith("training/")]
    assert {key.split(".")[0] for key in params} == {"config", "data", "trainer", *RUN_ARGUMENTS}
    arguments = {key: params[key] for key in RUN_ARGUMENTS}  # as given to train, "" where not given
    assert arguments == {
        **dict.fromkeys(RUN_ARGUMENTS, ""),
        "architecture": "strain-tensor-net",
        "config": config.name,
        "data": str(small_data),
        "split_seed": "0",
        "output": str(tmp_path / "run"),
    }


def test_new_metrics_skips_steps_the_run_has():
    from stn_plugin.training.tracking import new_metrics

    logged = {"val/loss": 1, "train/loss": 0}
    assert new_metrics({"val/loss": 1.0, "train/loss": 2.0, "best/x": 3.0}, 1, logged) == {
        "train/loss": 2.0,
        "best/x": 3.0,
    }
    assert new_metrics({"val/loss": 1.0}, 2, logged) == {"val/loss": 1.0}
    assert new_metrics({"val/loss": 1.0}, None, logged) == {"val/loss": 1.0}


def test_resumed_run_logs_each_step_and_the_model_once(small_data, tmp_path, monkeypatch):
    monkeypatch.delenv("MLFLOW_RUN_ID", raising=False)
    uri = f"sqlite:///{tmp_path}/mlflow.db"
    common = {"data": small_data, "tracking_uri": uri, "output_dir": tmp_path / "run", "cache_dir": None}
    with pytest.raises(SystemExit):
        train(config=tiny_config(), callbacks=[_Interrupt(1)], **common)
    result = train(config=tiny_config(), **common)
    again = train(config=tiny_config(), **common)  # a finished run started again: nothing logged twice
    assert again.run_id == result.run_id
    client = MlflowClient(uri)
    for key in ("train/loss", "val/cij_mae_gpa", "best/val/cij_mae_gpa"):
        steps = [m.step for m in client.get_metric_history(result.run_id, key)]
        assert len(steps) == len(set(steps)), (key, steps)
    assert sorted(m.step for m in client.get_metric_history(result.run_id, "val/cij_mae_gpa")) == [0, 1]
    experiment = client.get_run(result.run_id).info.experiment_id
    assert len(client.search_logged_models([experiment], filter_string=f"source_run_id = '{result.run_id}'")) == 1
