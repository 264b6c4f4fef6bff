"""``stn data``: prepare (validate, filter, split), distill (teacher labels) and fetch-mp (Materials Project)."""

from __future__ import annotations

from enum import Enum
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from stn_plugin.cli.common import (
    DATA_HELP,
    THREADS_HELP,
    check_output,
    console,
    err_console,
    fail,
    info,
    progress_bar,
    quiet_logger,
    use_threads,
)

app = typer.Typer(
    name="data",
    help="Prepare datasets and download elastic tensors from the Materials Project.",
    no_args_is_help=True,
    rich_markup_mode="markdown",
)

PREPARED_FILES = (
    "validation_report.json",
    "deduplication_report.json",
    "filtered.jsonl",
    "split.json",
    "train.jsonl",
    "val.jsonl",
    "test.jsonl",
)
"""Files written by ``stn data prepare``."""

DEDUP_LINES_LISTED: int = 20
"""Removed duplicates ``stn data prepare`` lists one by one (all are in deduplication_report.json)."""


class OnInvalid(str, Enum):
    """What ``stn data prepare`` and ``stn models train`` do with invalid records."""

    drop = "drop"
    raise_ = "raise"


ON_INVALID_HELP = (
    "records that fail validation (NaN, Pa units, asymmetric or unstable tensor, duplicate id, frame mismatch, "
    "...): drop them (reported) or stop with the report; default: raise for --data, drop for the bundled data"
)

SOURCE_HELP = (
    "bundled source to use (repeat the option): dejong2015, mp2023_elatbot, mp2025_binary, mp2026; default: the "
    "first three (--source dejong2015: the data of the original model); not with --data or --dataset"
)


class BundledDataset(str, Enum):
    """Named selections of bundled sources (``stn_plugin.data.records.BUNDLED_DATASETS``)."""

    bundled = "bundled"
    mp_all = "mp-all"


DATASET_HELP = (
    "bundled data: 'bundled' (the three sources of the bundled models, the default) or 'mp-all' (the four sources, "
    "with the Materials Project 2026 tensors: newest value per material, the stiffness limit, and the split keeping "
    "the parts of 'bundled'); not with --data or --source"
)


@app.command("prepare")
def prepare(
    data: Annotated[Path | None, typer.Option(help=DATA_HELP, dir_okay=False)] = None,
    output: Annotated[Path, typer.Option(help="folder for the prepared files", file_okay=False)] = Path("prepared"),
    seed: Annotated[int, typer.Option(help="seed of the stratified train/val/test split")] = 0,
    on_invalid: Annotated[OnInvalid | None, typer.Option(help=ON_INVALID_HELP, show_default=False)] = None,
    source: Annotated[list[str] | None, typer.Option("--source", help=SOURCE_HELP, show_default=False)] = None,
    dataset: Annotated[BundledDataset | None, typer.Option(help=DATASET_HELP, show_default=False)] = None,
) -> None:
    """Validate, filter and de-duplicate a dataset, split it 80/10/10 by source and crystal system, write the parts.

    Every line of the file that is not a valid record, and every record that fails a check, is counted by
    reason in validation_report.json (also written when invalid records stop the command); records of one
    material in several sources are reduced to one (deduplication_report.json says which was kept and why).
    Writes into the output folder: validation_report.json, deduplication_report.json, filtered.jsonl (the
    records split), split.json (material ids per part) and train.jsonl, val.jsonl, test.jsonl (each line
    with its source). The split equals the one `stn models train --data FILE --split-seed SEED` makes of the
    same file; the de Jong 2015 records land in the parts of `--source dejong2015`. With `--dataset mp-all`
    every material of the default split (same seed) keeps its part.

    Examples:

        stn data prepare --output prepared

        stn data prepare --source dejong2015 --output prepared-dejong

        stn data prepare --dataset mp-all --output prepared-all

        stn data prepare --data mp_elasticity.jsonl --output prepared-mp --seed 1 --on-invalid drop
    """
    from stn_plugin.data import write_jsonl
    from stn_plugin.data.filters import InvalidRecordsError, default_on_invalid
    from stn_plugin.data.records import BUNDLED_DATASETS
    from stn_plugin.data.splits import PARTS
    from stn_plugin.io import atomic_path, atomic_write_text
    from stn_plugin.training.data import prepare_data

    if data is not None and not data.is_file():
        fail(f"--data {data}: no such file.", code=2)
    if data is not None and source:
        fail("--source selects bundled data; it cannot be combined with --data.", code=2)
    if dataset is not None and (data is not None or source):
        fail("--dataset names bundled data; it cannot be combined with --data or --source.", code=2)
    if dataset is not None:
        source = list(BUNDLED_DATASETS[dataset.value])
    check_output("--output", output, folder=True)
    for name in PREPARED_FILES:
        check_output("--output", output / name)
    choice = on_invalid.value if on_invalid is not None else default_on_invalid(data)
    try:
        with (
            err_console.status("Loading, checking and de-duplicating the dataset"),
            quiet_logger("stn_plugin.data.filters"),
        ):
            prepared = prepare_data(data, split_seed=seed, on_invalid=choice, sources=source or None)  # type: ignore[arg-type]
    except (UnicodeDecodeError, OSError) as exc:
        fail(f"{data}: could not be read ({type(exc).__name__}: {exc}); give a JSON-lines file (.jsonl, .jsonl.gz).")
    except InvalidRecordsError as exc:
        atomic_write_text(exc.report.model_dump_json(indent=1) + "\n", output / "validation_report.json")
        fail(f"{exc}\nThe report is in {output / 'validation_report.json'}.")
    except ValueError as exc:  # an unknown --source
        fail(str(exc), code=2)
    info(prepared.report.summary())
    info(prepared.deduplication.summary(max_listed=DEDUP_LINES_LISTED))
    split = prepared.split
    atomic_write_text(prepared.report.model_dump_json(indent=1) + "\n", output / "validation_report.json")
    atomic_write_text(prepared.deduplication.model_dump_json(indent=1) + "\n", output / "deduplication_report.json")
    atomic_write_text(split.model_dump_json(indent=1) + "\n", output / "split.json")
    parts = {"filtered": list(prepared.records.values()), **{part: prepared.part(part) for part in PARTS}}
    for name, part_records in parts.items():
        with atomic_path(output / f"{name}.jsonl") as tmp:
            write_jsonl(part_records, tmp)
    table = Table(title=f"Split (seed {seed})", title_justify="left")
    for column in ("crystal system", *PARTS):
        table.add_column(column, justify="left" if column == "crystal system" else "right")
    for system, counts in split.counts.items():
        table.add_row(system, *(str(counts[part]) for part in PARTS))
    table.add_row("total", *(str(len(parts[part])) for part in PARTS), style="bold")
    console.print(table)
    by_source = Table(title="Records per source", title_justify="left")
    for column in ("source", "read", "checked", "unique", *PARTS):
        by_source.add_column(column, justify="left" if column == "source" else "right")
    dedup = prepared.deduplication
    for name, counts in prepared.counts_by_source().items():
        read, checked, unique = (
            prepared.loaded_by_source.get(name, 0),
            dedup.input_by_source.get(name, 0),
            dedup.kept_by_source.get(name, 0),
        )
        by_source.add_row(name, str(read), str(checked), str(unique), *(str(counts[part]) for part in PARTS))
    console.print(by_source)
    info("read: valid records read; checked: passed the checks; unique: left after de-duplication across sources")
    if split.from_reference:
        fixed = set(split.from_reference)
        kept = ", ".join(f"{part} {len(fixed.intersection(split.part(part)))}" for part in PARTS)
        info(f"{len(fixed)} materials keep their part of the default split (seed {seed}): {kept}")
    info(f"wrote {', '.join(PREPARED_FILES)} to {output}")


@app.command("distill")
def distill(
    teacher: Annotated[str, typer.Option(help="model whose tensors label the moduli-only records (name or folder)")] = (
        "stn-mp-2023"
    ),
    output: Annotated[Path, typer.Option(help="JSON-lines file to write (.jsonl or .jsonl.gz)", dir_okay=False)] = Path(
        "distilled.jsonl"
    ),
    data: Annotated[Path | None, typer.Option(help=DATA_HELP, dir_okay=False)] = None,
    seed: Annotated[int, typer.Option(help="seed of the stratified train/val/test split")] = 0,
    threads: Annotated[int, typer.Option(min=1, help=THREADS_HELP)] = 1,
    anchor_moduli: Annotated[
        bool,
        typer.Option(
            help="shift each teacher tensor isotropically onto the record's DFT K_VRH and G_VRH (teacher anisotropy, "
            "DFT moduli)"
        ),
    ] = False,
) -> None:
    """Label the training split's moduli-only records with a teacher model's elastic tensors, for distillation.

    Every record of the dataset is written; the moduli-only records of the training part get the teacher's C
    (symmetrised, in the frame of their structure; the DFT K_VRH and G_VRH are kept as reference moduli and the
    provenance names the teacher). Validation and test records are left as they are, and the written file splits
    exactly as the input with the same --seed (checked), so a student trained on it is selected and tested on
    the same DFT data as its teacher. distillation_report.json next to the output says what was labelled.

    Examples:

        stn data distill --teacher stn-mp-2023 --output distilled.jsonl

        stn data distill --anchor-moduli --output anchored/distilled.jsonl

        stn models train strain-tensor-net --data distilled.jsonl --config configs/default.yaml --run-name student
    """
    from stn_plugin.cli.models import load_model
    from stn_plugin.data import write_jsonl
    from stn_plugin.data.filters import InvalidRecordsError
    from stn_plugin.io import atomic_path, atomic_write_text
    from stn_plugin.training.data import prepare_data
    from stn_plugin.training.distillation import teacher_labelled_records

    if data is not None and not data.is_file():
        fail(f"--data {data}: no such file.", code=2)
    check_output("--output", output)
    check_output("--output", output.parent / "distillation_report.json")
    use_threads(threads)
    model = load_model(teacher)
    try:
        with (
            err_console.status("Loading, checking and de-duplicating the dataset"),
            quiet_logger("stn_plugin.data.filters"),
        ):
            prepared = prepare_data(data, split_seed=seed)
    except InvalidRecordsError as exc:
        fail(f"{exc}\nFilter the file first: stn data prepare --data {data} --on-invalid drop (filtered.jsonl).")
    todo = sum(r.elastic_tensor is None for r in prepared.part("train"))
    with progress_bar("Predicting teacher labels", todo) as advance:
        try:
            records, report = teacher_labelled_records(
                prepared,
                model,
                teacher,
                split_seed=seed,
                progress=advance,
                threads=threads,
                anchor_moduli=anchor_moduli,
            )
        except ValueError as exc:
            fail(str(exc))
    with atomic_path(output) as tmp:
        write_jsonl(records, tmp)
    atomic_write_text(report.model_dump_json(indent=1) + "\n", output.parent / "distillation_report.json")
    info(report.summary())
    info(f"wrote {len(records)} records to {output}; next: stn models train strain-tensor-net --data {output}")


@app.command("fetch-mp")
def fetch_mp(
    api_key: Annotated[
        str | None,
        typer.Option(envvar="MP_API_KEY", help="Materials Project API key (or set MP_API_KEY)", show_default=False),
    ] = None,
    output: Annotated[Path, typer.Option(help="JSON-lines file to write (.jsonl or .jsonl.gz)", dir_okay=False)] = Path(
        "mp_elasticity.jsonl"
    ),
    material_id: Annotated[
        list[str] | None, typer.Option("--material-id", help="fetch only these ids (repeat the option); default: all")
    ] = None,
    num_chunks: Annotated[int | None, typer.Option(min=1, help="at most this many requests of 1000 documents")] = None,
    endpoint: Annotated[str | None, typer.Option(help="API URL (default: the mp-api client's)")] = None,
) -> None:
    """Download elastic tensors from the Materials Project (needs `pip install mp-api`, network and an API key).

    Examples:

        stn data fetch-mp --api-key $MP_API_KEY --output mp_elasticity.jsonl

        stn data fetch-mp --material-id mp-149 --material-id mp-22862 --output two.jsonl

        stn data prepare --data mp_elasticity.jsonl --output prepared-mp
    """
    from stn_plugin.data import MaterialsProjectError, fetch_mp_elasticity, write_jsonl
    from stn_plugin.io import atomic_path

    if not api_key:
        fail(
            "no Materials Project API key: pass --api-key KEY or set MP_API_KEY "
            "(get a key at https://materialsproject.org/api).",
            code=2,
        )
    check_output("--output", output)
    try:
        with err_console.status("Fetching elasticity documents from the Materials Project"):
            records = fetch_mp_elasticity(api_key, material_id or None, num_chunks=num_chunks, endpoint=endpoint)
    except MaterialsProjectError as exc:
        fail(f"{exc}\nOffline, `stn data prepare` without --data uses the bundled de Jong 2015 dataset.")
    with atomic_path(output) as tmp:
        write_jsonl(records, tmp)
    info(f"wrote {len(records)} materials to {output}; next: stn data prepare --data {output}")
