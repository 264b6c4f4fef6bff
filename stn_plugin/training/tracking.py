"""MLflow tracking of training runs: logger, run resolution for resume, params, artifacts, registry.

* :class:`StnMLFlowLogger`: Lightning's ``MLFlowLogger`` with the epoch as the MLflow step (so runs
  with different batch sizes line up in the UI) and without ending the run when ``fit`` returns
  (``train`` ends it after the end-of-run artifacts; a failed fit still marks it FAILED).
* :func:`resolve_run`: which run to log to. Inside ``mlflow run`` (``MLFLOW_RUN_ID`` set) that run;
  when resuming a training directory, the run recorded there (``mlflow_run.json``); else a new one.
  A recorded run that is still RUNNING but is not the one resumed is marked KILLED.
* :data:`RUN_ARGUMENTS` and :func:`argument_params`: the arguments a training was started with, by the names of
  the parameters of the MLflow project ``mlflow_projects/train`` (which ``mlflow run`` logs itself), so that a run
  of ``stn models train`` and one of ``mlflow run`` have the same params.
* :func:`log_params`: those arguments and the flattened resolved config, leaving out keys the run already has (the
  entry-point parameters that ``mlflow run`` logs itself, or the params of the run being resumed).
* :class:`StnPyfuncModel` and :func:`log_and_register_model`: the saved model directory (matgl
  ``IOMixIn.save`` format) as the artifact of an ``mlflow.pyfunc`` model, loaded with
  :func:`stn_plugin.predictor.loading.load_model_dir` (weights only, package classes only), logged as "models from code"
  (:mod:`stn_plugin.training.pyfunc_entry`): neither the torch module nor the wrapper is pickled.
"""

from __future__ import annotations

import json
import os
import socket
from collections.abc import Mapping
from contextlib import nullcontext
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import numpy as np
from filelock import FileLock
from lightning.pytorch.loggers import MLFlowLogger
from lightning.pytorch.utilities.rank_zero import rank_zero_only
from mlflow import MlflowClient
from mlflow.entities import Param, RunStatus
from mlflow.exceptions import MlflowException
from mlflow.pyfunc import PythonModel, PythonModelContext

from stn_plugin.io import atomic_write_text

DEFAULT_TRACKING_URI: str = "sqlite:///mlflow.db"
"""Tracking store used when neither the caller nor ``MLFLOW_TRACKING_URI`` names one."""

DEFAULT_EXPERIMENT: str = "stn-plugin"
"""Experiment name used when none is given."""

REGISTRY_ALIAS: str = "current"
"""Alias set on every newly registered version (MLflow reserves the name ``latest``: use
``models:/<name>/latest`` for the newest version, ``models:/<name>@current`` for this alias)."""

SQLITE_PREFIX: str = "sqlite:///"
"""URI prefix of sqlite stores (the rest is the database path)."""

RUN_FILE: str = "mlflow_run.json"
"""File in the training directory recording the tracking URI and run id (for resume)."""

MODEL_ARTIFACT: str = "model_dir"
"""Name of the pyfunc artifact holding the saved model directory."""

_PARAM_BATCH = 100
"""MLflow's maximum number of params per ``log_batch`` call."""


def resolve_tracking_uri(uri: str | None = None) -> str:
    """``uri``, else ``$MLFLOW_TRACKING_URI``, else ``sqlite:///mlflow.db``."""
    return uri or os.environ.get("MLFLOW_TRACKING_URI") or DEFAULT_TRACKING_URI


class TrackingServerError(ConnectionError):
    """The MLflow tracking server of an ``http(s)://`` URI does not answer."""


def check_tracking_server(uri: str, timeout: float = 5.0) -> None:
    """Raise :class:`TrackingServerError` within ``timeout`` seconds when the server of an ``http(s)://`` tracking
    URI cannot be reached (MLflow itself retries for minutes before a traceback); other URIs pass.

    Args:
        uri: the tracking URI.
        timeout: seconds to wait for a TCP connection.
    """
    parts = urlsplit(uri)
    if parts.scheme not in ("http", "https"):
        return
    port = parts.port or (443 if parts.scheme == "https" else 80)
    try:
        socket.create_connection((parts.hostname or "localhost", port), timeout=timeout).close()
    except OSError as exc:
        raise TrackingServerError(
            f"the MLflow tracking server {uri} does not answer ({type(exc).__name__}: {exc.strerror or exc}). Start "
            "the server, correct --tracking-uri / MLFLOW_TRACKING_URI, or track into a local file with "
            f"--tracking-uri {DEFAULT_TRACKING_URI}."
        ) from None


def tracking_client(uri: str) -> MlflowClient:
    """Client of ``uri`` with its tracking and registry tables created.

    For a sqlite store the first access (which runs MLflow's schema migrations) holds the file lock
    ``<db>.lock``: two processes creating the same new store at once otherwise fail with
    ``duplicate column name``.
    """
    lock = FileLock(f"{uri.removeprefix(SQLITE_PREFIX)}.lock") if uri.startswith(SQLITE_PREFIX) else nullcontext()
    with lock:
        client = MlflowClient(uri)
        client.search_registered_models(max_results=1)
    return client


class StnMLFlowLogger(MLFlowLogger):
    """``MLFlowLogger`` logging per-epoch metrics at step = epoch, leaving the run open on success."""

    def __init__(self, *args: Any, logged: Mapping[str, int] | None = None, **kwargs: Any) -> None:
        """Args as ``MLFlowLogger``; ``logged``: per metric key, the last step the run already has
        (:func:`logged_steps`; a resumed run does not log those steps again)."""
        super().__init__(*args, **kwargs)
        self.logged: dict[str, int] = dict(logged or {})

    @rank_zero_only
    def log_hyperparams(self, params: Any) -> None:
        """Nothing: the run's params are the arguments and the flattened config (``config.*``) logged by
        :func:`log_params`; Lightning's copy of the module hyperparameters (``training/seed``, ...) would name them
        twice."""

    @rank_zero_only
    def log_metrics(self, metrics: Mapping[str, float], step: int | None = None) -> None:
        metrics = dict(metrics)
        epoch = metrics.pop("epoch", None)
        step = int(epoch) if epoch is not None else step
        metrics = new_metrics(metrics, step, self.logged)
        if metrics:
            super().log_metrics(metrics, step=step)

    @rank_zero_only
    def finalize(self, status: str = "success") -> None:
        if status != "success":
            super().finalize(status)


def logged_steps(client: MlflowClient, run_id: str) -> dict[str, int]:
    """Per metric key of run ``run_id``, the highest step logged so far (empty for a new run)."""
    keys = client.get_run(run_id).data.metrics
    return {key: max(m.step for m in client.get_metric_history(run_id, key)) for key in keys}


def new_metrics(metrics: Mapping[str, float], step: int | None, logged: Mapping[str, int]) -> dict[str, float]:
    """The entries of ``metrics`` to log at ``step``: all but those whose key the run has at ``step`` or later.

    A run killed after logging epoch ``k`` but before its checkpoint is resumed from epoch ``k`` (or earlier);
    re-logging would give two history entries per step. ``step=None`` logs everything.
    """
    if step is None:
        return dict(metrics)
    return {key: value for key, value in metrics.items() if step > logged.get(key, -1)}


def flatten(config: Mapping[str, Any], prefix: str = "") -> dict[str, str]:
    """Nested mapping -> ``{"a.b.c": "value"}`` (lists and scalars as their string form)."""
    flat: dict[str, str] = {}
    for key, value in config.items():
        name = f"{prefix}{key}"
        if isinstance(value, Mapping):
            flat.update(flatten(value, f"{name}."))
        else:
            flat[name] = str(value)
    return flat


def resolve_run(
    client: MlflowClient,
    experiment: str,
    run_name: str | None,
    run_file: Path,
    resume: bool,
    tags: Mapping[str, str] | None = None,
) -> str:
    """Run id to log to (see the module docstring); records it in ``run_file`` (atomically).

    Args:
        client: client of the tracking store.
        experiment: experiment name (created if missing); ignored inside ``mlflow run``.
        run_name: name of a new run.
        run_file: ``mlflow_run.json`` of the training directory.
        resume: whether training resumes from a checkpoint of this directory.
        tags: tags of a new run.
    """
    previous = json.loads(run_file.read_text())["run_id"] if run_file.exists() else None
    previous_run = _existing_run(client, previous)
    run_id = os.environ.get("MLFLOW_RUN_ID")
    if run_id is None and resume and previous_run is not None:
        run_id = previous
        client.update_run(run_id, status=RunStatus.to_string(RunStatus.RUNNING))
    if run_id is None:
        run_id = client.create_run(
            experiment_id(client, experiment), run_name=run_name, tags=dict(tags or {})
        ).info.run_id
    if previous_run is not None and previous != run_id and previous_run.info.status == "RUNNING":
        client.set_terminated(previous, status="KILLED")
    atomic_write_text(json.dumps({"tracking_uri": client.tracking_uri, "run_id": run_id}) + "\n", run_file)
    return run_id


EXPERIMENT_KIND_TAG: str = "mlflow.experimentKind"
"""Experiment tag by which MLflow 3's UI picks its view; ``custom_model_development`` is the model-training view
(runs, metrics, compare), not the GenAI view (traces)."""


def experiment_id(client: MlflowClient, name: str) -> str:
    """Id of experiment ``name``, created if missing (also when another process creates it at the same time), and
    tagged for MLflow 3's model-training view unless it already has a kind."""
    found = client.get_experiment_by_name(name)
    if found is None:
        try:
            found = client.get_experiment(client.create_experiment(name))
        except MlflowException:
            found = client.get_experiment_by_name(name)  # created by a concurrent run since the first look
            if found is None:
                raise
    if EXPERIMENT_KIND_TAG not in found.tags:
        client.set_experiment_tag(found.experiment_id, EXPERIMENT_KIND_TAG, "custom_model_development")
    return found.experiment_id


def _existing_run(client: MlflowClient, run_id: str | None) -> Any:
    """The run ``run_id`` if it exists in this store and is not deleted, else None."""
    if run_id is None:
        return None
    try:
        run = client.get_run(run_id)
    except Exception:  # noqa: BLE001 - MlflowException (missing run, other store)
        return None
    return run if run.info.lifecycle_stage == "active" else None


RUN_ARGUMENTS: tuple[str, ...] = (
    "architecture",
    "config",
    "data",
    "dataset",
    "on_invalid",
    "max_epochs",
    "seed",
    "split_seed",
    "init_from",
    "register_as",
    "output",
)
"""Params naming what a training was started with: the parameters of the MLflow project ``mlflow_projects/train``
and the matching arguments of :func:`stn_plugin.training.train` (``output`` is its ``output_dir``)."""


def argument_params(arguments: Mapping[str, Any]) -> dict[str, str]:
    """The values of ``arguments`` named in :data:`RUN_ARGUMENTS` (each is needed) as params: their string forms,
    ``""`` for None."""
    return {name: "" if arguments[name] is None else str(arguments[name]) for name in RUN_ARGUMENTS}


def log_params(client: MlflowClient, run_id: str, params: Mapping[str, str]) -> dict[str, str]:
    """Log the params the run does not have yet; returns what was logged."""
    existing = client.get_run(run_id).data.params
    new = {key: value for key, value in params.items() if key not in existing}
    items = [Param(key, value) for key, value in new.items()]
    for start in range(0, len(items), _PARAM_BATCH):
        client.log_batch(run_id, params=items[start : start + _PARAM_BATCH])
    return new


class StnPyfuncModel(PythonModel):
    """MLflow pyfunc wrapper of a saved StrainTensorNet-family model directory.

    Input: a list of pymatgen structures as JSON strings (``Structure.to_json()``). Param
    ``symmetrize`` (bool, default True) projects C onto each crystal's point group (False: raw network output). Output: one dict
    per structure with ``elastic_tensor`` (6x6, GPa), ``sed`` (6x6, meV/atom) and the moduli
    (``bulk_voigt``, ..., GPa; ``poisson`` dimensionless), in the frame of the structure.
    """

    def load_context(self, context: PythonModelContext) -> None:
        from stn_plugin.predictor.loading import load_model_dir

        self.model = load_model_dir(context.artifacts[MODEL_ARTIFACT])

    def predict(self, model_input: list[str], params: dict[str, Any] | None = None) -> list[dict[str, Any]]:
        from pymatgen.core import Structure

        structures = [Structure.from_str(text, fmt="json") for text in model_input]
        symmetrize = bool((params or {}).get("symmetrize", True))
        return [
            {"elastic_tensor": np.asarray(p.elastic_tensor.voigt).tolist(), "sed": p.sed.tolist(), **p.moduli}
            for p in self.model.predict_structures(structures, symmetrize=symmetrize)
        ]


def _requirements() -> list[str]:
    """Pinned requirements of the pyfunc model (given explicitly: MLflow's inference would load the model)."""
    pins = []
    for package in ("stn-plugin", "torch", "matgl", "e3nn", "torch_geometric", "pymatgen"):
        try:
            pins.append(f"{package}=={version(package).split('+')[0]}")
        except PackageNotFoundError:
            pins.append(package)
    return pins


def log_and_register_model(model_dir: Path, register_as: str | None) -> tuple[str, str | None]:
    """Log ``model_dir`` as the pyfunc model ``model`` of the active run and optionally register it.

    The new version gets the alias :data:`REGISTRY_ALIAS`.

    Returns:
        the model URI (``models:/<id>``) and the registered version (None when not registered).
    """
    import mlflow

    info = mlflow.pyfunc.log_model(
        name="model",
        python_model=str(Path(__file__).with_name("pyfunc_entry.py")),
        artifacts={MODEL_ARTIFACT: str(model_dir)},
        pip_requirements=_requirements(),
        registered_model_name=register_as,
    )
    registered = info.registered_model_version
    if register_as is not None and registered is not None:
        MlflowClient().set_registered_model_alias(register_as, REGISTRY_ALIAS, str(registered))
    return info.model_uri, None if registered is None else str(registered)
