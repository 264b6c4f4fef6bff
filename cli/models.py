"""``stn models``: list, info, train, predict, evaluate, ensemble.

Heavy libraries (torch, matgl, pymatgen, matplotlib) are imported inside the commands, so ``stn --help``
stays fast.
"""

from __future__ import annotations

import difflib
import os
import re
import warnings
from enum import Enum
from pathlib import Path
from typing import Annotated, Any

import typer
import yaml
from rich.markdown import Markdown
from rich.syntax import Syntax
from rich.table import Table

from stn_plugin.cli.cache import CACHE_DIR_HELP
from stn_plugin.cli.common import (
    DATA_HELP,
    THREADS_HELP,
    check_output,
    console,
    error,
    fail,
    info,
    progress_bar,
    quiet_logger,
    use_threads,
)
from stn_plugin.cli.data import DATASET_HELP, ON_INVALID_HELP, BundledDataset, OnInvalid
from stn_plugin.limits import MAX_ATOMS, MAX_EDGES
from stn_plugin.registry import (
    ArchitectureEntry,
    PretrainedEntry,
    Registry,
    RegistryError,
    load_registry,
    pretrained_root,
    sha256_of,
)

ANSI_ESCAPE = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")
"""Terminal control sequences (colours, cursor moves)."""

app = typer.Typer(
    name="models",
    help="List, inspect, train, run and evaluate models.",
    no_args_is_help=True,
    rich_markup_mode="markdown",
)

MODEL_HELP = "pretrained model name (`stn models list`) or the directory of a saved model"
SYMMETRIZE_HELP = "project C onto each crystal's point group (default); --no-symmetrize gives the raw network output"


class OutputFormat(str, Enum):
    """Formats of ``stn models predict``."""

    table = "table"
    json = "json"
    csv = "csv"


def _unknown_model(name: str, registry: Registry) -> str:
    """Message for a name that is neither an architecture nor a pretrained model."""
    known = [*registry.architectures, *registry.pretrained]
    close = difflib.get_close_matches(name, known, n=1)
    return (
        f"Unknown model {name!r}. Architectures: {', '.join(sorted(registry.architectures))}. "
        f"Pretrained models: {', '.join(sorted(registry.pretrained)) or '(none)'}."
        + (f" Did you mean {close[0]!r}?" if close else "")
    )


def _message(exc: BaseException) -> str:
    """``exc`` as one line for the user (KeyError's message without the repr quotes)."""
    text = exc.args[0] if isinstance(exc, KeyError) and exc.args else str(exc)
    return f"{type(exc).__name__}: {text}"


def load_model(name_or_path: str) -> Any:
    """``stn_plugin.load(name_or_path)``, leaving the command with exit code 1 and a clear message on failure."""
    import stn_plugin

    try:
        return stn_plugin.load(name_or_path)
    except RegistryError as exc:
        fail(f"{exc} NAME_OR_PATH is a {MODEL_HELP}.")
    except Exception as exc:  # noqa: BLE001 - matgl raises many types for a directory that is not a model
        fail(f"could not load the model {name_or_path!r}: {_message(exc)}")


def model_identity(name_or_path: str) -> dict[str, str]:
    """Name and version of a model for the prediction outputs: the registry date and the first 12 hex digits of
    the sha256 of its ``model.pt`` (the weights) for a pretrained name, that digest alone for a directory, and the
    ``stn_plugin`` version."""
    import stn_plugin

    registry = load_registry()
    entry = registry.pretrained.get(name_or_path)
    folder = pretrained_root() / entry.directory if entry is not None else Path(name_or_path)
    weights = folder / "model.pt"
    digest = sha256_of(weights)[:12] if weights.is_file() else "unknown"
    version = f"{entry.date} sha256:{digest}" if entry is not None and entry.date else f"sha256:{digest}"
    return {"name": name_or_path, "version": version, "stn_plugin_version": stn_plugin.__version__}


LIST_WIDTH = 100
"""Longest line of ``stn models list`` (a longer registry text is cut with an ellipsis)."""


def _fit(line: str, width: int = LIST_WIDTH) -> str:
    """``line`` without trailing blanks, cut to ``width`` characters (ending in an ellipsis) when longer."""
    line = line.rstrip()
    return line if len(line) <= width else line[: width - 1] + "…"


def _columns(rows: list[tuple[str, ...]], right: set[int]) -> list[str]:
    """``rows`` as lines of columns two spaces apart (the columns in ``right`` right-aligned), each cut to fit."""
    widths = [max(len(row[k]) for row in rows) for k in range(len(rows[0]))]
    lines = []
    for row in rows:
        cells = (
            cell.rjust(w) if k in right else cell.ljust(w) for k, (cell, w) in enumerate(zip(row, widths, strict=True))
        )
        lines.append(_fit("  ".join(cells)))
    return lines


def list_lines(registry: Registry) -> list[str]:
    """The lines of ``stn models list``: a heading, then one line per pretrained model, a heading and one line per
    architecture; none longer than :data:`LIST_WIDTH` characters."""
    lines = []
    if registry.pretrained:
        lines.append("Pretrained models (stn models predict NAME FILE ...; the model card: stn models info NAME)")
        rows = [("name", "networks", "train crystals", "test C_ij MAE", "ms/crystal", "use it when")]
        for name, p in registry.pretrained.items():
            crystals, mae = p.training_crystals(), p.test_metrics.get("cij_mae_gpa")
            rows.append(
                (
                    name,
                    "-" if p.members is None else str(p.members),
                    "-" if crystals is None else f"{crystals:,}",
                    f"{mae:.1f} GPa" if isinstance(mae, int | float) else "-",
                    "-" if p.ms_per_crystal is None else f"{p.ms_per_crystal:.0f}",
                    p.use_when or "-",
                )
            )
        lines += _columns(rows, right={1, 2, 3, 4})
    else:
        lines.append("Pretrained models: none is shipped with this installation.")
    lines.append("Architectures to train (stn models train NAME; presets and configuration: stn models info NAME)")
    lines += _columns([(name, a.description) for name, a in registry.architectures.items()], right=set())
    return lines


@app.command("list")
def list_models() -> None:
    """List the pretrained models you can load (one line each) and the architectures you can train.

    A line per pretrained model: its networks (their mean U is the prediction), the crystals it was trained on,
    its C_ij mean absolute error on the test crystals, its time per crystal (one thread, 8 crystals per batch)
    and when to use it; `stn models info NAME` shows the rest.

    Example:

        stn models list
    """
    for line in list_lines(load_registry()):
        typer.echo(line)


def _architecture_info(name: str, entry: ArchitectureEntry) -> None:
    from stn_plugin.training.config import load_preset

    table = Table(title=f"Architecture {name}", title_justify="left", show_header=False)
    for key, value in (
        ("class", entry.class_path),
        ("description", entry.description),
        ("reference", entry.reference),
        ("presets", ", ".join(entry.presets)),
        ("default preset", entry.default_preset),
    ):
        table.add_row(key, value)
    console.print(table)
    config = load_preset(entry.default_preset, architecture=entry.config_architecture)  # type: ignore[arg-type]
    console.print(f"Default configuration (preset {entry.default_preset}):")
    console.print(Syntax(yaml.safe_dump(config.model_dump(mode="json"), sort_keys=False), "yaml"))


def _pretrained_info(name: str, entry: PretrainedEntry) -> None:
    folder = pretrained_root() / entry.directory
    card = folder / "README.md"
    if card.is_file():
        console.print(Markdown(card.read_text(encoding="utf-8")))
    table = Table(title=f"Pretrained model {name}", title_justify="left", show_header=False)
    for key, value in (
        ("architecture", entry.architecture),
        ("description", entry.description),
        ("networks", "-" if entry.members is None else str(entry.members)),
        ("use it when", entry.use_when or "-"),
        (
            "ms per crystal",
            "-" if entry.ms_per_crystal is None else f"{entry.ms_per_crystal:g} (1 thread, 8 per batch)",
        ),
        ("date", entry.date),
        ("data licence", entry.data_licence),
        ("directory", str(folder)),
    ):
        table.add_row(key, value)
    console.print(table)
    if entry.training_data:
        console.print("Training data:")
        console.print(Syntax(yaml.safe_dump(entry.training_data, sort_keys=False), "yaml"))
    metrics = Table(title="Test metrics", title_justify="left")
    metrics.add_column("metric")
    metrics.add_column("value", justify="right")
    for key, value in entry.test_metrics.items():
        metrics.add_row(key, str(value))
    console.print(metrics)
    files = Table(title="Files", title_justify="left")
    for column in ("file", "sha256 (registry.yaml)", "check"):
        files.add_column(column)
    for fname, expected in entry.files.items():
        path = folder / fname
        status = "missing" if not path.is_file() else ("ok" if sha256_of(path) == expected else "MODIFIED")
        files.add_row(fname, expected, status)
    console.print(files)


@app.command("info")
def model_info(name: Annotated[str, typer.Argument(help="architecture or pretrained model name")]) -> None:
    """Show an architecture (class, reference, default configuration) or a pretrained model (card, metrics, files).

    Examples:

        stn models info strain-tensor-net

        stn models info stn-mp-2023
    """
    registry = load_registry()
    if name in registry.architectures:
        _architecture_info(name, registry.architectures[name])
    elif name in registry.pretrained:
        _pretrained_info(name, registry.pretrained[name])
    else:
        fail(_unknown_model(name, registry))


@app.command("train")
def train(
    architecture: Annotated[str, typer.Argument(help="architecture name (`stn models list`), e.g. strain-tensor-net")],
    data: Annotated[Path | None, typer.Option(help=DATA_HELP, dir_okay=False)] = None,
    dataset: Annotated[BundledDataset | None, typer.Option(help=DATASET_HELP, show_default=False)] = None,
    on_invalid: Annotated[OnInvalid | None, typer.Option(help=ON_INVALID_HELP, show_default=False)] = None,
    config: Annotated[Path | None, typer.Option(help="experiment configuration YAML", dir_okay=False)] = None,
    preset: Annotated[
        str | None, typer.Option(help="named configuration: cpu or paper (default: the architecture's)")
    ] = None,
    max_epochs: Annotated[int | None, typer.Option(min=1, help="override training.max_epochs")] = None,
    seed: Annotated[int | None, typer.Option(help="override training.seed (initialisation, data order)")] = None,
    init_from: Annotated[
        str | None,
        typer.Option(
            help="fine-tune: start from this network's weights and statistics (registry name or model folder; "
            "override training.init_from)"
        ),
    ] = None,
    split_seed: Annotated[
        int, typer.Option(help="seed of the train/val/test split (as `stn data prepare --seed`)")
    ] = 0,
    tracking_uri: Annotated[
        str | None, typer.Option(help="MLflow tracking URI; default $MLFLOW_TRACKING_URI or sqlite:///mlflow.db")
    ] = None,
    experiment: Annotated[str | None, typer.Option(help="MLflow experiment name (default stn-plugin)")] = None,
    run_name: Annotated[
        str | None,
        typer.Option(
            help="MLflow run name; default CONFIG-seedSEED (the configuration's name and the seed, e.g. cpu-seed0)"
        ),
    ] = None,
    register_as: Annotated[str | None, typer.Option(help="register the trained model in the MLflow registry")] = None,
    output: Annotated[
        Path | None,
        typer.Option(
            help="training folder (resumes from its checkpoint); default runs/RUN-NAME (the MLflow run name)",
            file_okay=False,
        ),
    ] = None,
    threads: Annotated[
        int | None, typer.Option(min=1, help=THREADS_HELP + "; default: the configuration's num_threads, else 1")
    ] = None,
    cache_dir: Annotated[
        Path | None,
        typer.Option(help=CACHE_DIR_HELP + " (`stn cache info`)", file_okay=False, show_default=False),
    ] = None,
) -> None:
    """Train a model, track the run in MLflow, and save the best model in MatGL format.

    Running the same command again with the same --output resumes from the last checkpoint. Invalid
    records of --data stop the command with a report by reason unless --on-invalid drop is given; the
    report is written to validation_report.json in the training folder. The graphs built from the data are
    kept in the graph cache (--cache-dir; `stn cache info`, `stn cache clear`) for the next training.

    Examples:

        stn models train strain-tensor-net --preset cpu --max-epochs 1

        stn models train fig6a --data prepared/filtered.jsonl --config my.yaml --register-as my-model

        stn models train strain-tensor-net --config configs/default.yaml --dataset mp-all --output runs/mp-all-seed0

        stn models train strain-tensor-net --tracking-uri sqlite:///mlflow.db --experiment paper --run-name s0 --seed 0

        stn models train strain-tensor-net --config runs/s0/config.yaml --init-from runs/s0/model --data more.jsonl
        --max-epochs 10 --output runs/s0-finetuned
    """
    import sys

    from lightning.pytorch.callbacks import RichProgressBar

    from stn_plugin.runtime import hide_lightning_tips
    from stn_plugin.training.train import train as train_model  # the function, also where the module is imported

    if config is not None and preset is not None:
        fail("give either --config or --preset, not both.", code=2)
    if dataset is not None and data is not None:
        fail("--dataset names bundled data; it cannot be combined with --data.", code=2)
    for option, path in (("--data", data), ("--config", config)):
        if path is not None and not path.is_file():
            fail(f"{option} {path}: no such file.", code=2)
    optional = {
        "experiment": experiment,
        "max_epochs": max_epochs,
        "seed": seed,
        "init_from": init_from,
        "output_dir": output,
        "dataset": None if dataset is None else dataset.value,
        "cache_dir": cache_dir,
    }
    optional["on_invalid"] = on_invalid.value if on_invalid is not None else None
    hide_lightning_tips()
    use_threads(threads or 1)
    terminal = sys.stderr.isatty()  # no progress bar (and no terminal control codes) in a log file or pipe
    if not terminal:  # MLflow's artifact download bar, and the colour codes MLflow puts into its warnings
        os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")
        show = warnings.showwarning

        def plain_warning(message, category, filename, lineno, file=None, line=None):  # type: ignore[no-untyped-def]
            show(ANSI_ESCAPE.sub("", str(message)), category, filename, lineno, file, line)

        warnings.showwarning = plain_warning
    try:
        with quiet_logger("stn_plugin.data.filters"):  # its table of removed records is printed below
            result = train_model(
                architecture,
                config if config is not None else preset,
                data=data,
                split_seed=split_seed,
                tracking_uri=tracking_uri,
                run_name=run_name,
                register_as=register_as,
                progress_bar=terminal,
                threads=threads,
                callbacks=[RichProgressBar(console_kwargs={"stderr": True})] if terminal else [],
                **{key: value for key, value in optional.items() if value is not None},
            )
    except (RegistryError, KeyError, ValueError, OSError) as exc:
        fail(_message(exc))
    info(result.validation.summary())
    for key, value in (
        ("run id", result.run_id or "(not tracked)"),
        ("model", result.model_dir),
        ("training directory", result.output_dir),
        ("registered model", result.registered_model or "(not registered)"),
    ):
        console.print(f"{key}: {value}", soft_wrap=True, highlight=False, markup=False)
    title = f"Best model (epoch {result.best_epoch}, 0-based; {result.epochs_trained} epochs trained)"
    metrics = Table(title=title, title_justify="left")
    for column in ("metric", "val", "test"):
        metrics.add_column(column, justify="left" if column == "metric" else "right")
    for key in ("sed_mae_mev", "cij_mae_gpa", "bulk_voigt_mae_gpa", "shear_voigt_mae_gpa"):
        values = (result.metrics.get(f"best/{part}/{key}") for part in ("val", "test"))
        metrics.add_row(key, *("-" if v is None else f"{v:.2f}" for v in values))
    console.print(metrics)


@app.command("predict")
def predict(
    name_or_path: Annotated[str, typer.Argument(help=MODEL_HELP)],
    files: Annotated[
        list[str], typer.Argument(help="structure files: CIF, POSCAR, pymatgen JSON or any format ASE reads")
    ],
    output_format: Annotated[
        OutputFormat | None,
        typer.Option("--format", "-f", help="table, json or csv; default: from the --output suffix, else table"),
    ] = None,
    output: Annotated[
        Path | None,
        typer.Option(
            "--output",
            "-o",
            help="write here instead of stdout: a new or regular file, replaced atomically (a link, FIFO or device "
            "is refused; - = stdout)",
            dir_okay=False,
        ),
    ] = None,
    symmetrize: Annotated[bool, typer.Option(help=SYMMETRIZE_HELP)] = True,
    max_atoms: Annotated[
        int, typer.Option(min=1, help="refuse crystals whose standard cell has more atoms (supercells are reduced)")
    ] = MAX_ATOMS,
    max_edges: Annotated[
        int, typer.Option(min=1, help="refuse crystals whose graph has more directed edges")
    ] = MAX_EDGES,
    plots: Annotated[
        Path | None,
        typer.Option(
            help="write ELATE-style pictures of the directional Young's modulus per crystal into this folder "
            "(FILE_youngs_3d.png, FILE_youngs_2d.png; FILE = the structure file's name)",
            file_okay=False,
            show_default=False,
        ),
    ] = None,
    threads: Annotated[int, typer.Option(min=1, help=THREADS_HELP)] = 1,
) -> None:
    """Predict elastic tensors (C in GPa, U in meV/atom), moduli, Born stability and derived properties.

    All files are read first and predicted together (their graphs share forward passes). A file that cannot be
    read or predicted is reported and skipped; the others are still predicted and written. The --output target
    is checked before anything is predicted (writable, not one of the inputs). The exit code is 1 when any file
    failed, with a summary line "N ok, M failed".
    A prediction that fails the Born stability criterion gets a warning line (the summary counts them);
    its moduli are still written, with the verdict.

    Examples:

        stn models predict stn-mp-2023 examples/structures/Si.cif

        stn models predict stn-mp-2023 examples/structures/* --format json --output predictions.json

        stn models predict runs/my-run/model POSCAR --no-symmetrize --format csv

        stn models predict stn-mp-2023 examples/structures/Si.cif --plots plots/
    """
    from stn_plugin.cli.predictions import (
        infer_format,
        output_overwrites_input,
        predict_files,
        render_csv,
        render_json,
        render_table_text,
        result_tables,
        stability_line,
        summary_line,
        write_output,
    )

    if output is not None and str(output) == "-":
        output = None
    if output is not None:
        problem = output_overwrites_input(output, files)
        if problem is not None:
            fail(problem, code=2)
        check_output("--output", output, alternative="or leave out --output (or give -o -) to print to stdout")
    if plots is not None:
        check_output("--plots", plots, folder=True)
    use_threads(threads)
    model = load_model(name_or_path)
    about = model_identity(name_or_path)
    with progress_bar("Predicting", len(files)) as advance:
        results = predict_files(model, files, symmetrize, max_atoms, max_edges, progress=advance, threads=threads)
    fmt = output_format.value if output_format is not None else infer_format(output)
    for result in results:
        if not result.ok:
            error(result.error or "")
        elif (warning := stability_line(result)) is not None:
            info(f"Warning: {warning}")
    if fmt == "table" and output is None:
        for result in results:
            if result.ok:
                console.print(result_tables(result, about))
    else:
        text = {"json": render_json, "csv": render_csv, "table": render_table_text}[fmt](results, about)
        if output is None:
            typer.echo(text, nl=False)
        else:
            written, problem = write_output(text, output)
            if problem is not None:
                error(problem)
            info(f"wrote {written}")
    plotted = _directional_plots(results, plots) if plots is not None else True
    info(summary_line(results))
    if not (plotted and all(result.ok for result in results)):
        raise typer.Exit(1)


def _directional_plots(results: list[Any], directory: Path) -> bool:
    """Write the E(n) pictures of every successful, Born-stable result into ``directory`` (one stem per file);
    False when some could not be written (each failure is reported, the other pictures are still written)."""
    from stn_plugin.evaluation.directional_plots import youngs_modulus_plots

    stems: set[str] = set()
    failed = False
    for result in results:
        if not result.ok:
            continue
        stability = result.prediction.stability
        if not stability.stable:
            info(f"no plot for {result.file}: the predicted C is mechanically {stability.verdict}")
            continue
        stem = Path(result.file).name.replace(".", "_")
        while stem in stems:  # same file name in two folders
            stem += "_"
        stems.add(stem)
        try:
            written = youngs_modulus_plots(
                result.prediction.elastic_tensor, directory, stem, f"{result.formula} ({stem})"
            )
        except OSError as exc:
            error(f"--plots: the pictures of {result.file} could not be written ({exc.strerror or exc}).")
            failed = True
            continue
        info(f"wrote {', '.join(str(path) for path in written)}")
    return not failed


@app.command("evaluate")
def evaluate(
    name_or_path: Annotated[str, typer.Argument(help=MODEL_HELP)],
    data: Annotated[
        Path, typer.Option(help="JSON-lines dataset (e.g. test.jsonl from `stn data prepare`)", dir_okay=False)
    ],
    report: Annotated[
        Path | None, typer.Option(help="write metrics.json, metrics.md and the plots into this folder", file_okay=False)
    ] = None,
    symmetrize: Annotated[bool, typer.Option(help=SYMMETRIZE_HELP)] = True,
    threads: Annotated[int, typer.Option(min=1, help=THREADS_HELP)] = 1,
) -> None:
    """Evaluate a model on a dataset: Table II metrics, per crystal system, DCV accuracy, per data source.

    Tensor records give Table II; every record (moduli-only ones too) gives the K_VRH / G_VRH MAE of its source,
    printed with the per-source C_ij, B_V, G_V MAE and the anisotropy errors. Prints the MAE and RMSE of U_ij, C_ij, B_V, G_V, Young's modulus and Poisson's ratio, overall and per
    crystal system, and the DCV accuracy. With --report it also writes metrics.json, metrics.md (with the
    Fig. 9 statistics and Fig. 7 per-element errors), parity plots, the Fig. 4 distance matrices and
    per_material.csv (id, formula, truth, prediction and error of each material, to trace an outlier).
    Materials that cannot be predicted are reported and left out; the exit code is then 1.

    Examples:

        stn models evaluate stn-mp-2023 --data prepared/test.jsonl

        stn models evaluate runs/my-run/model --data prepared/test.jsonl --report reports/my-run
    """
    from stn_plugin.cli.evaluation import metrics_tables, source_table
    from stn_plugin.data import DatasetFormatError, load_jsonl
    from stn_plugin.evaluation import write_report
    from stn_plugin.evaluation.records import evaluate_records

    if not data.is_file():
        fail(f"--data {data}: no such file.", code=2)
    if report is not None:
        check_output("--report", report, folder=True)
    use_threads(threads)
    model = load_model(name_or_path)
    try:
        records = load_jsonl(data)
    except (DatasetFormatError, OSError) as exc:
        fail(_message(exc))
    if not records:
        fail(f"{data} holds no materials.")
    result = evaluate_records(model, records, symmetrize, progress=True, threads=threads)
    failures = [f"{data}: material {item.record.material_id}: {item.error}" for item in result.failures]
    for message in failures:
        error(message)
    if len(failures) == len(records):
        fail(f"no material of {data} could be predicted.")
    kept = [item.record for item in result.predictions if item.prediction is not None and item.record.has_tensor]
    if result.tensor_data is not None:
        evaluation = result.tensor_data
        metrics = write_report(evaluation, report) if report is not None else result.tensor
        console.print(metrics_tables(metrics))
        if report is not None:
            from stn_plugin.evaluation.per_material import write_per_material_csv

            ids, formulas = [r.material_id for r in kept], [r.structure.composition.reduced_formula for r in kept]
            write_per_material_csv(ids, formulas, evaluation, report / "per_material.csv")
            info(f"report written to {report} (per-material truth, prediction and errors: per_material.csv)")
    console.print(source_table(result))
    info(f"{len(records) - len(failures)} ok, {len(failures)} failed")
    if failures:
        raise typer.Exit(1)


@app.command("ensemble")
def ensemble(
    members: Annotated[
        list[str],
        typer.Argument(help="two or more saved models (directories or pretrained names), same training split"),
    ],
    output: Annotated[Path, typer.Option(help="directory of the saved ensemble (matgl format)", file_okay=False)],
) -> None:
    """Combine trained models into one committee model whose U_ij is the mean of theirs.

    The members must build the same graphs (edge strategy, cutoff), use the same strain magnitude and symmetry
    tolerance; each network keeps its own normalisation statistics. Networks trained on the same training split
    (e.g. with different --seed) make the committee whose spread means something. The saved ensemble loads,
    predicts and evaluates like any model.

    Examples:

        stn models ensemble runs/seed0/model runs/seed1/model runs/seed2/model --output models/committee

        stn models evaluate models/committee --data prepared/val.jsonl
    """
    from stn_plugin.predictor import ElasticPredictor, save_model_dir

    if len(members) < 2:
        fail("an ensemble needs at least two models.", code=2)
    resolved = [str(Path(member).resolve()) if Path(member).exists() else member for member in members]
    repeated = sorted({member for member in resolved if resolved.count(member) > 1})
    if repeated:
        fail(f"{', '.join(repeated)} is given more than once; an ensemble needs different models.", code=2)
    check_output("--output", output, folder=True)
    if any(output.iterdir()):
        fail(f"--output {output} exists and is not empty; choose a new directory.", code=2)
    models = [load_model(member) for member in members]
    try:
        committee = ElasticPredictor.committee(models)
    except ValueError as exc:
        fail(_message(exc))
    save_model_dir(committee, output)
    info(f"saved an ensemble of {len(committee.networks)} networks to {output}")
