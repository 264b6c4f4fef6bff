"""``train()``: one seeded, resumable, MLflow-tracked training run (the CLI and ``mlflow run`` call it).

Output directory layout (``output_dir``)::

    checkpoints/last.ckpt     every epoch (model, optimiser, scheduler, callbacks, loop state)
    checkpoints/best.ckpt     lowest ``training.monitor`` (e.g. val/cij_mae_gpa: the C_ij MAE of the prediction users get)
    mlflow_run.json           tracking URI and run id (resume logs to the same run)
    .train.lock               held while a training runs (a second training into the folder is refused)
    config.yaml               the resolved ExperimentConfig (loadable with ``--config``)
    split.json                the data split (material ids per part)
    validation_report.json    invalid and filtered records, counts by reason (also when they stop the run)
    model/                    the best model: an ElasticPredictor of one network, matgl ``IOMixIn.save`` format
                              (``stn_plugin.load(path)``, ``matgl.load_model``)
    reports/{val,test}/       metrics.json, metrics.md, parity plots, Fig. 4 distance matrices, Fig. 7 of the tensor
                              records: the scores ``stn models evaluate`` prints for model/ on the same records
    result.json               :class:`TrainResult`

Running the same call again resumes from ``checkpoints/last.ckpt``; a call with another configuration (e.g. a
changed seed or max_epochs) is refused with :class:`TrainingFolderError` before anything is written or tracked.
Resuming: the data order, the strains and
one-hots drawn and the schedule depend only on (seed, epoch), so the final weights equal those of an
uninterrupted run, also after the process was killed (SIGKILL) at any point. Every file above is written
atomically (temporary file in the same folder, then rename; checkpoints through :class:`AtomicCheckpointIO`),
so a killed run leaves complete files. Checkpoints are loaded weights-only
(:func:`stn_plugin.predictor.loading.safe_torch_load`): a truncated or tampered ``last.ckpt`` stops the run with
a ``ModelFileError`` before any data is prepared, and one that would run code is refused.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator, Sequence
from contextlib import contextmanager, nullcontext
from pathlib import Path
from typing import Any

import lightning as pl
import torch
import yaml
from filelock import FileLock, Timeout
from lightning.pytorch.callbacks import Callback, EarlyStopping, EMAWeightAveraging, ModelCheckpoint
from lightning.pytorch.plugins.io import TorchCheckpointIO
from lightning.pytorch.utilities.rank_zero import rank_zero_only
from pydantic import BaseModel, ConfigDict

from stn_plugin.data import SOURCES, ElasticRecord
from stn_plugin.data.filters import InvalidRecordsError, OnInvalid, ValidationReport, default_on_invalid
from stn_plugin.data.records import BUNDLED_DATASETS
from stn_plugin.evaluation import write_report
from stn_plugin.graph import DEFAULT_CACHE_DIR
from stn_plugin.io import atomic_path, atomic_write_text
from stn_plugin.models import ARCHITECTURES, ModelConfig
from stn_plugin.predictor import ElasticPredictor, NormalizationStats
from stn_plugin.predictor.loading import ModelFileError, safe_torch_load, save_model_dir
from stn_plugin.training.config import ExperimentConfig, load_preset
from stn_plugin.training.data import (
    StnDataModule,
    prepare_data,
)
from stn_plugin.training.module import StnLightningModule, evaluate_materials
from stn_plugin.training.tracking import (
    DEFAULT_EXPERIMENT,
    RUN_FILE,
    StnMLFlowLogger,
    argument_params,
    check_tracking_server,
    flatten,
    log_and_register_model,
    log_params,
    logged_steps,
    new_metrics,
    resolve_run,
    resolve_tracking_uri,
    tracking_client,
)

LOCK_FILE: str = ".train.lock"
"""Lock file in the training directory, held while a training runs there."""


class TrainResult(BaseModel):
    """What a training run produced.

    Attributes:
        run_id: MLflow run id (None without tracking or on a non-zero DDP rank).
        output_dir: the training directory.
        model_dir: saved best model (``matgl.load_model(model_dir)``); None on a non-zero rank.
        best_checkpoint: Lightning checkpoint of the best epoch.
        best_epoch: epoch of the best checkpoint (0-based).
        epochs_trained: epochs completed (early stopping may end before ``max_epochs``).
        metrics: last-epoch metrics (``train/*``, ``val/*``) and ``best/{val,test}/*`` of the best model.
        model_uri: MLflow model URI of the logged pyfunc model, or None.
        registered_model: registry name and version (``"name/3"``), or None.
        counts: materials per split part and training graphs per epoch.
        skipped: material id -> why its graphs could not be built.
        validation: the dataset's validation report (records left out and why).
    """

    model_config = ConfigDict(frozen=True)

    run_id: str | None
    output_dir: Path
    model_dir: Path | None
    best_checkpoint: Path | None
    best_epoch: int | None
    epochs_trained: int
    metrics: dict[str, float]
    model_uri: str | None
    registered_model: str | None
    counts: dict[str, int]
    skipped: dict[str, str]
    validation: ValidationReport


def resolve_config(architecture: str, config: ExperimentConfig | str | Path | None) -> ExperimentConfig:
    """Experiment config from an object, a preset name or a YAML path, checked against ``architecture``.

    Args:
        architecture: registry name (``strain-tensor-net``, ``fig6a``, ...) or config architecture
            (``straintensornet``, ``fig6a``, ...).
        config: the config, a preset name (``cpu``, ``paper``), a YAML path, or None for the
            architecture's default preset from ``registry.yaml``.
    """
    from stn_plugin.registry import architecture as registry_architecture

    if architecture in ARCHITECTURES:
        config_architecture, default_preset = architecture, "cpu"
    else:
        entry = registry_architecture(architecture)
        config_architecture, default_preset = entry.config_architecture, entry.default_preset
    if not isinstance(config, ExperimentConfig):
        config = load_preset(str(config or default_preset), architecture=config_architecture)  # type: ignore[arg-type]
    if config.model.architecture != config_architecture:
        raise ValueError(
            f"the config is for architecture {config.model.architecture!r}, not {architecture!r}; "
            "pass a matching config or the architecture it was written for."
        )
    return config


class InitialModelError(ValueError):
    """``training.init_from`` names a model that cannot start this training (an ensemble, other settings)."""


def _setting_changes(before: dict[str, Any], now: dict[str, Any], ignore: Sequence[str] = ()) -> str:
    """The settings that differ between two nested configurations, as ``"key: old -> new"`` joined by ``"; "``
    (the first five, then ``"..."``); ``""`` when none do. ``ignore``: flattened keys (``"encoder.lmax"``) left out."""
    old, new = flatten(before), flatten(now)
    changed = [
        f"{key}: {old.get(key)} -> {new.get(key)}"
        for key in sorted((old.keys() | new.keys()) - set(ignore))
        if old.get(key) != new.get(key)
    ]
    return "; ".join(changed[:5]) + ("; ..." if len(changed) > 5 else "")


def initial_model(
    config: ModelConfig, statistics: NormalizationStats, init_from: str | None = None
) -> ElasticPredictor:
    """The predictor of one network a training starts from.

    Args:
        config: the experiment's model settings.
        statistics: standardisation statistics of the training split (used for a random initialisation).
        init_from: None for a random initialisation; else a model of one network (registry name or saved model
            folder, :func:`stn_plugin.load`) whose weights and statistics start the training (fine-tuning; its
            statistics are kept so that its output means the same at the first step).

    Raises:
        InitialModelError: ``init_from`` has several networks, or its settings differ from ``config`` (the message
            lists the differences), or it was trained with another strain magnitude.
    """
    if init_from is None:
        return ElasticPredictor([config], [statistics])
    import stn_plugin

    start = stn_plugin.load(init_from)
    if len(start.networks) != 1:
        raise InitialModelError(
            f"init_from={init_from!r} is a committee of {len(start.networks)} networks, not one network: fine-tuning "
            "starts from one network (a member's model folder, e.g. runs/<run>/model, or a single-network registry "
            "model)."
        )
    ignore = ("encoder.vector_zero_threshold",)  # a prediction-time setting
    network = start.networks[0]
    if changed := _setting_changes(network.config.model_dump(mode="json"), config.model_dump(mode="json"), ignore):
        raise InitialModelError(
            f"init_from={init_from!r} has other model settings than this configuration ({changed}); use the "
            "configuration it was trained with (its config.yaml)."
        )
    predictor = ElasticPredictor([config], start.statistics)
    if start.strain != predictor.strain:
        raise InitialModelError(
            f"init_from={init_from!r} was trained at strain {start.strain}, this training uses "
            f"{predictor.strain}: its U would mean another thing."
        )
    predictor.networks[0].load_state_dict(network.state_dict())
    return predictor


def _replace_directory(source: Path, target: Path) -> None:
    """Move the finished directory ``source`` onto ``target`` (an existing ``target`` is removed after)."""
    old = target.with_name(f".{target.name}.old")
    shutil.rmtree(old, ignore_errors=True)
    if target.exists():
        target.rename(old)
    source.rename(target)
    shutil.rmtree(old, ignore_errors=True)


def _temporary_directory(parent: Path, name: str) -> Path:
    return Path(tempfile.mkdtemp(dir=parent, prefix=f".{name}.tmp-"))


class AtomicCheckpointIO(TorchCheckpointIO):
    """Lightning's checkpoint writer, replacing the file only when the new one is complete.

    Lightning's own writer goes through an fsspec transaction, which writes to the system temporary folder and
    moves the file at the end: a copy, interruptible by a kill, when that folder is on another file system.
    """

    def save_checkpoint(self, checkpoint: dict[str, Any], path: Any, storage_options: Any | None = None) -> None:
        with atomic_path(path) as tmp:
            torch.save(checkpoint, tmp)


class EpochMetrics(Callback):
    """Keeps the metrics of the checkpointed epoch in the checkpoint.

    A run killed after its last checkpoint and restarted has no epoch left to run, so Lightning's
    ``callback_metrics`` stay empty; :func:`train` reports ``restored`` (the metrics saved with the checkpoint it
    resumed from), updated by whatever the resumed ``fit`` logged.
    """

    KEY: str = "stn_epoch_metrics"

    def __init__(self) -> None:
        self.restored: dict[str, float] = {}

    def on_save_checkpoint(
        self, trainer: pl.Trainer, pl_module: pl.LightningModule, checkpoint: dict[str, Any]
    ) -> None:
        checkpoint[self.KEY] = {key: float(value) for key, value in trainer.callback_metrics.items()}

    def on_load_checkpoint(
        self, trainer: pl.Trainer, pl_module: pl.LightningModule, checkpoint: dict[str, Any]
    ) -> None:
        self.restored = dict(checkpoint.get(self.KEY, {}))


class ValidateLastEpoch(Callback):
    """Validates the final epoch whatever ``training.val_every_n_epochs`` is.

    Lightning validates only epochs ``k`` with ``(k + 1) % check_val_every_n_epoch == 0``: a 1-epoch run with
    ``val_every_n_epochs=2`` would log no ``val/*`` metric at all, and runs with different ``max_epochs`` would
    not compare. The final epoch (``max_epochs - 1``) is validated in any case.
    """

    def __init__(self, every_n_epochs: int) -> None:
        self.every_n_epochs = every_n_epochs

    def on_train_epoch_start(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        last = (
            trainer.max_epochs is not None
            and trainer.max_epochs > 0
            and trainer.current_epoch >= trainer.max_epochs - 1
        )
        trainer.check_val_every_n_epoch = 1 if last else self.every_n_epochs


class TrainingFolderError(ValueError):
    """The training folder is in use by another training, or holds a training of a different configuration."""


@contextmanager
def _claimed_output(out: Path) -> Iterator[None]:
    """Hold the lock ``out/LOCK_FILE`` for the duration of a training, or raise :class:`TrainingFolderError` at
    once when another process holds it (two trainings into one folder would overwrite each other's files)."""
    out.mkdir(parents=True, exist_ok=True)
    lock = FileLock(out / LOCK_FILE)
    try:
        lock.acquire(timeout=0)
    except Timeout:
        raise TrainingFolderError(
            f"{out} is in use by another training (it holds the lock {out / LOCK_FILE}). Wait for that training to "
            "finish, or give this one another output folder (--output)."
        ) from None
    try:
        yield
    finally:
        lock.release()


def _check_same_configuration(out: Path, config: ExperimentConfig) -> None:
    """Raise :class:`TrainingFolderError` when ``out/config.yaml`` (a training started there) differs from
    ``config``: resuming it would mix two trainings and change a finished MLflow run; nothing is touched."""
    saved = out / "config.yaml"
    if not saved.is_file():
        return
    changed = _setting_changes(yaml.safe_load(saved.read_text(encoding="utf-8")) or {}, config.model_dump(mode="json"))
    if changed:
        raise TrainingFolderError(
            f"{out} holds a training with another configuration ({changed}). Give the new configuration its own "
            "output folder (--output), or repeat the original options to resume; the earlier training and its MLflow "
            "run are left unchanged."
        )


def _check_resume_checkpoint(path: Path) -> None:
    """Raise ``ModelFileError`` (``UnsafeModelFileError``) unless ``path`` is a complete, safe Lightning checkpoint."""
    fix = f"Delete {path} to start the training over, or restore the file from a backup."
    checkpoint = safe_torch_load(path, fix)
    if not isinstance(checkpoint, dict) or not {"state_dict", "epoch", "loops"} <= checkpoint.keys():
        raise ModelFileError(path, "not a Lightning checkpoint (no state_dict, epoch and loops)", fix)


def _start_run(
    uri: str,
    experiment: str,
    name: str,
    out: Path,
    resume: bool,
    config: ExperimentConfig,
    arguments: dict[str, Any],
    params: dict[str, Any],
) -> str:
    """Resolve the MLflow run (new, resumed or the ``mlflow run`` one) and log the params it lacks: ``arguments``
    (:func:`argument_params`) and the flattened ``params``."""
    import mlflow

    mlflow.set_tracking_uri(uri)
    out.mkdir(parents=True, exist_ok=True)
    client = tracking_client(uri)
    tags = {"stn.architecture": config.model.architecture, "stn.config": config.name}
    run_id = resolve_run(client, experiment, name, out / RUN_FILE, resume, tags)
    log_params(client, run_id, {**argument_params(arguments), **flatten(params)})
    return run_id


def train(
    architecture: str = "strain-tensor-net",
    config: ExperimentConfig | str | Path | None = None,
    *,
    data: str | Path | Sequence[ElasticRecord] | None = None,
    dataset: str | None = None,
    on_invalid: OnInvalid | None = None,
    max_epochs: int | None = None,
    seed: int | None = None,
    init_from: str | None = None,
    output_dir: str | Path | None = None,
    tracking_uri: str | None = None,
    experiment: str = DEFAULT_EXPERIMENT,
    run_name: str | None = None,
    register_as: str | None = None,
    track: bool = True,
    split_seed: int = 0,
    accelerator: str = "auto",
    devices: int | str = 1,
    strategy: str = "auto",
    cache_dir: str | Path | None = DEFAULT_CACHE_DIR,
    limit_train_batches: float | None = None,
    progress_bar: bool = False,
    callbacks: Sequence[Callback] = (),
    threads: int | None = None,
    train_fraction: float = 1.0,
) -> TrainResult:
    """Train a model of the StrainTensorNet family; resume when ``output_dir`` holds ``last.ckpt``.

    Args:
        architecture: registry name (``strain-tensor-net``, ``fig6a``, ``fig6b``, ``fig6c``) or the
            config architecture name (``straintensornet``, ...).
        config: ``ExperimentConfig``, preset name (``cpu``, ``paper``) or YAML path; None = the
            architecture's default preset.
        data: JSON-lines dataset, records, or None for the bundled data (``dataset``).
        dataset: with ``data`` None, a named selection of the bundled sources
            (:data:`stn_plugin.data.records.BUNDLED_DATASETS`: ``bundled``, the three sources of the bundled models,
            or ``mp-all``, those and the Materials Project 2026 tensors); None = ``bundled``.
        on_invalid: invalid records (:mod:`stn_plugin.data.filters`): ``"drop"`` leaves them out, ``"raise"``
            stops with :class:`~stn_plugin.data.filters.InvalidRecordsError`; None = ``"raise"`` for ``data``
            you pass, ``"drop"`` for the bundled data. The report is written to ``validation_report.json``
            either way.
        max_epochs: overrides ``training.max_epochs``.
        seed: overrides ``training.seed`` (model init, data order, strain and one-hot draws).
        init_from: overrides ``training.init_from`` (fine-tuning: the network whose weights and statistics start
            the training, :func:`initial_model`).
        output_dir: training directory; default ``runs/<run_name or <config name>-seed<seed>>``.
        tracking_uri: MLflow tracking URI; default ``$MLFLOW_TRACKING_URI`` or ``sqlite:///mlflow.db``.
        experiment: MLflow experiment name (ignored inside ``mlflow run``, which fixes the run).
        run_name: MLflow run name; default ``<config name>-seed<seed>``.
        register_as: register the trained model under this name (alias ``current``); None = do not.
        track: log to MLflow at all.
        split_seed: seed of the stratified train/val/test split (kept apart from ``seed`` so runs
            with different seeds share one test set).
        accelerator, devices, strategy: passed to ``lightning.Trainer`` (``strategy="ddp"``,
            ``devices=N`` for data-parallel training).
        cache_dir: on-disk cache of prepared cells / edge lists; None = memory only.
        limit_train_batches: passed to the Trainer (short benchmark or smoke runs).
        progress_bar: show Lightning's progress bar.
        callbacks: extra Lightning callbacks (after the checkpoint and early-stopping callbacks).
        threads: torch threads, overriding ``training.num_threads`` (not part of the configuration, so a resumed
            training may use another number); None = ``training.num_threads``.
        train_fraction: train on this fraction of the training part (same validation and test materials).

    Returns:
        the :class:`TrainResult` (also written to ``result.json``).
    """
    if dataset is not None and data is not None:
        raise ValueError("dataset names bundled data; it cannot be combined with data.")
    if dataset is not None and dataset not in BUNDLED_DATASETS:
        raise ValueError(f"unknown dataset {dataset!r}; choose from {sorted(BUNDLED_DATASETS)}.")
    sources = None if dataset is None else list(BUNDLED_DATASETS[dataset])
    resolved = resolve_config(architecture, config)
    overrides = {
        k: v for k, v in (("max_epochs", max_epochs), ("seed", seed), ("init_from", init_from)) if v is not None
    }
    resolved = resolved.model_copy(update={"training": resolved.training.model_copy(update=overrides)})
    training = resolved.training
    name = run_name or f"{resolved.name}-seed{training.seed}"
    out = Path(output_dir) if output_dir is not None else Path("runs") / name
    checkpoints = out / "checkpoints"
    last = checkpoints / "last.ckpt"
    resume = last.exists()
    if resume:
        _check_resume_checkpoint(last)
    is_rank_zero = rank_zero_only.rank == 0
    with _claimed_output(out) if is_rank_zero else nullcontext():  # other DDP ranks run inside rank zero's claim
        if is_rank_zero:
            _check_same_configuration(out, resolved)
            if track:
                check_tracking_server(resolve_tracking_uri(tracking_uri))
            out.mkdir(parents=True, exist_ok=True)
            with atomic_path(out / "config.yaml") as tmp:  # before anything else: a changed re-run is refused
                resolved.to_yaml(tmp)

        if (threads := threads or training.num_threads) is not None:
            torch.set_num_threads(threads)
        pl.seed_everything(training.seed, workers=True, verbose=False)
        try:
            prepared = prepare_data(
                data, split_seed=split_seed, on_invalid=on_invalid, sources=sources, train_fraction=train_fraction
            )
        except InvalidRecordsError as exc:
            if is_rank_zero:
                atomic_write_text(exc.report.model_dump_json(indent=1) + "\n", out / "validation_report.json")
            raise
        if is_rank_zero:
            atomic_write_text(prepared.report.model_dump_json(indent=1) + "\n", out / "validation_report.json")
        datamodule = StnDataModule(prepared, resolved.model.encoder, training, cache_dir=cache_dir)
        datamodule.setup()
        predictor = initial_model(resolved.model, datamodule.normalization, training.init_from)
        module = StnLightningModule(predictor, training, datamodule.mean_inverse_volume)
        module.set_validation_materials(datamodule.materials["val"] + datamodule.moduli_materials["val"])

        run_id = None
        mlflow_logger: StnMLFlowLogger | bool = False
        if track:
            uri = resolve_tracking_uri(tracking_uri)
            if is_rank_zero:  # other DDP ranks re-run this function; only rank 0 talks to MLflow
                source = (
                    "bundled:" + "+".join(sources or SOURCES)
                    if data is None
                    else str(data)
                    if isinstance(data, (str, Path))
                    else "records"
                )
                params = {
                    "config": resolved.model_dump(mode="json"),
                    "data": {
                        "source": source,
                        "split_seed": split_seed,
                        "fractions": list(prepared.split.fractions),
                        "n_input": prepared.report.n_input,
                        "n_filtered_out": prepared.report.n_input - prepared.report.n_kept,
                        "on_invalid": on_invalid or default_on_invalid(data),
                        "n_skipped": len(datamodule.skipped),
                        **{f"n_{part}": n for part, n in datamodule.counts().items()},
                    },
                    "trainer": {"accelerator": accelerator, "devices": devices, "strategy": strategy},
                }
                arguments = {
                    "architecture": architecture,
                    "config": config.name if isinstance(config, ExperimentConfig) else config,
                    "data": data if data is None or isinstance(data, (str, Path)) else "records",
                    "dataset": dataset,
                    "on_invalid": on_invalid,
                    "max_epochs": max_epochs,
                    "seed": seed,
                    "split_seed": split_seed,
                    "init_from": init_from,
                    "register_as": register_as,
                    "output": out,
                }
                run_id = _start_run(uri, experiment, name, out, resume, resolved, arguments, params)
            logged = logged_steps(tracking_client(uri), run_id) if resume and run_id is not None else {}
            mlflow_logger = StnMLFlowLogger(experiment_name=experiment, tracking_uri=uri, run_id=run_id, logged=logged)

        checkpoint = ModelCheckpoint(
            dirpath=checkpoints,
            filename="best",
            monitor=training.monitor,
            mode="min",
            save_top_k=1,
            enable_version_counter=False,
        )
        # at the end of every epoch, validated or not (Lightning's save_last only follows top-k saves); listed after
        # ``checkpoint`` so that last.ckpt holds the updated best-model state
        every_epoch = ModelCheckpoint(
            dirpath=checkpoints,
            filename="last",
            save_top_k=1,
            save_on_train_epoch_end=True,
            enable_version_counter=False,
        )
        epoch_metrics = EpochMetrics()
        trainer = pl.Trainer(
            max_epochs=training.max_epochs,
            check_val_every_n_epoch=training.val_every_n_epochs,
            accelerator=accelerator,
            devices=devices,
            strategy=strategy,
            logger=mlflow_logger,
            callbacks=[
                checkpoint,
                every_epoch,
                EarlyStopping(monitor=training.monitor, mode="min", patience=training.early_stopping_patience),
                *([] if training.ema_decay is None else [EMAWeightAveraging(decay=training.ema_decay)]),
                epoch_metrics,
                ValidateLastEpoch(training.val_every_n_epochs),
                *callbacks,
            ],
            deterministic="warn",
            num_sanity_val_steps=0,
            enable_progress_bar=progress_bar,
            enable_model_summary=False,
            log_every_n_steps=1,
            default_root_dir=out,
            limit_train_batches=limit_train_batches,
            plugins=[AtomicCheckpointIO()],
        )
        trainer.fit(module, datamodule=datamodule, ckpt_path=last if resume else None, weights_only=True)
        if not trainer.is_global_zero:
            return TrainResult(
                run_id=None, output_dir=out, model_dir=None, best_checkpoint=None, best_epoch=None,
                epochs_trained=trainer.current_epoch, metrics={}, model_uri=None, registered_model=None,
                counts=datamodule.counts(), skipped=datamodule.skipped, validation=prepared.report,
            )  # fmt: skip
        metrics = {**epoch_metrics.restored, **{key: float(value) for key, value in trainer.callback_metrics.items()}}
        return _finish(trainer, module, datamodule, resolved, out, checkpoint, metrics, run_id, register_as)


def _finish(
    trainer: pl.Trainer,
    module: StnLightningModule,
    datamodule: StnDataModule,
    config: ExperimentConfig,
    out: Path,
    checkpoint: ModelCheckpoint,
    metrics: dict[str, float],
    run_id: str | None,
    register_as: str | None,
) -> TrainResult:
    """Rank zero after ``fit``: best model -> model dir, reports, result, MLflow artifacts and registry.

    ``metrics`` are those of the last epoch (``train/*``, ``val/*``); the ``best/*`` metrics are added here.
    """
    best = Path(checkpoint.best_model_path or Path(str(checkpoint.dirpath)) / "last.ckpt")
    state = safe_torch_load(best, f"Delete {out} and train again.")
    module.load_state_dict(state["state_dict"])
    predictor = module.predictor.cpu()

    staging = _temporary_directory(out, "model")
    save_model_dir(predictor, staging)
    _replace_directory(staging, out / "model")
    with atomic_path(out / "config.yaml") as tmp:
        config.to_yaml(tmp)
    atomic_write_text(datamodule.prepared.split.model_dump_json(indent=1) + "\n", out / "split.json")

    reports = _temporary_directory(out, "reports")
    for part in ("val", "test"):
        evaluation = evaluate_materials(predictor, datamodule.materials[part] + datamodule.moduli_materials[part])
        if evaluation.tensor_data is not None:
            write_report(evaluation.tensor_data, reports / part)
        metrics.update({f"best/{part}/{key}": value for key, value in evaluation.flat().items()})
    _replace_directory(reports, out / "reports")

    if run_id is None:
        return _write_result(trainer, datamodule, out, best, state, metrics, None, None, None)
    import mlflow

    with mlflow.start_run(run_id=run_id):
        best_metrics = {k: v for k, v in metrics.items() if k.startswith("best/")}
        logged = logged_steps(mlflow.MlflowClient(), run_id)
        if best_metrics := new_metrics(best_metrics, int(state["epoch"]), logged):  # not again when resumed
            mlflow.log_metrics(best_metrics, step=int(state["epoch"]))
        for name in ("config.yaml", "split.json", "validation_report.json"):
            mlflow.log_artifact(str(out / name))
        mlflow.log_artifacts(str(out / "model"), "model_dir")
        mlflow.log_artifacts(str(out / "reports"), "reports")
        existing = _logged_model(run_id)
        if existing is None:
            model_uri, version = log_and_register_model(out / "model", register_as)
        else:  # a resumed run whose model was logged before the process stopped: not logged twice
            model_uri, version = existing
        registered = f"{register_as}/{version}" if version is not None else None
        result = _write_result(trainer, datamodule, out, best, state, metrics, run_id, model_uri, registered)
        mlflow.log_artifact(str(out / "result.json"))
    return result


def _logged_model(run_id: str) -> tuple[str, str | None] | None:
    """URI of the model ``model`` already logged by run ``run_id`` and its registered version, or None."""
    from mlflow import MlflowClient

    client = MlflowClient()
    experiment_id = client.get_run(run_id).info.experiment_id
    found = client.search_logged_models(
        [experiment_id], filter_string=f"source_run_id = '{run_id}' AND name = 'model'", max_results=1
    )
    if not found:
        return None
    versions = client.search_model_versions(f"run_id = '{run_id}'")
    version = max((int(v.version) for v in versions), default=None)
    return f"models:/{found[0].model_id}", None if version is None else str(version)


def _write_result(
    trainer: pl.Trainer,
    datamodule: StnDataModule,
    out: Path,
    best: Path,
    state: dict[str, Any],
    metrics: dict[str, float],
    run_id: str | None,
    model_uri: str | None,
    registered: str | None,
) -> TrainResult:
    """The :class:`TrainResult` of a finished run, also written to ``result.json``."""
    result = TrainResult(
        run_id=run_id,
        output_dir=out,
        model_dir=out / "model",
        best_checkpoint=best,
        best_epoch=int(state["epoch"]),
        epochs_trained=trainer.current_epoch,
        metrics=metrics,
        model_uri=model_uri,
        registered_model=registered,
        counts=datamodule.counts(),
        skipped=datamodule.skipped,
        validation=datamodule.prepared.report,
    )
    atomic_write_text(result.model_dump_json(indent=1) + "\n", out / "result.json")
    return result
