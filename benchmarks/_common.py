"""Helpers shared by the benchmarks: models by name, materials of the seed-0 split, machine description, tables, JSON.

Not part of the test suite. Every benchmark prints a table and writes the same numbers with the machine
description (CPU, cores, load average before and after, threads, versions) to a JSON file, so a number
can always be traced to the conditions it was measured under.
"""

from __future__ import annotations

import json
import os
import platform
import time
from collections.abc import Mapping, Sequence
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

import numpy as np
import torch

import stn_plugin
from stn_plugin.data import ElasticRecord, filter_records, load_bundled_dataset, stratified_split
from stn_plugin.io import atomic_write_text
from stn_plugin.predictor import ElasticPredictor

DEFAULT_OUTPUT_DIR: Path = Path(__file__).resolve().parent / "results"
"""Where the JSON files go unless ``--output`` says otherwise."""

_VERSIONED = ("torch", "e3nn", "matgl", "torch_geometric", "pymatgen", "spglib", "numpy", "chgnet", "matcalc")


def load_model(spec: str) -> ElasticPredictor:
    """A registry name or model folder, or several joined by ``+`` (``runs/a+runs/b``): the committee of their
    networks (:meth:`ElasticPredictor.committee`, mean U), so a committee of trained networks is measured without
    saving it first."""
    names = spec.split("+")
    if len(names) == 1:
        return stn_plugin.load(spec)
    return ElasticPredictor.committee([stn_plugin.load(name) for name in names])


def cpu_model() -> str:
    """CPU model name from /proc/cpuinfo (platform string elsewhere)."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def machine_info() -> dict[str, Any]:
    """CPU, logical cores, 1/5/15-min load average now, torch threads and package versions."""
    versions = {}
    for name in _VERSIONED:
        try:
            versions[name] = version(name.replace("_", "-") if name == "torch_geometric" else name)
        except PackageNotFoundError:
            continue
    return {
        "cpu": cpu_model(),
        "logical_cores": os.cpu_count(),
        "load_average": [round(x, 2) for x in os.getloadavg()],
        "torch_threads": torch.get_num_threads(),
        "python": platform.python_version(),
        "versions": versions,
        "time": time.strftime("%Y-%m-%d %H:%M:%S"),
    }


def split_records(part: str = "test", seed: int = 0) -> list[ElasticRecord]:
    """Records of one part of the package's seeded split (default filters), sorted by material id.

    The test part of seed 0 is the one the shipped ``stn-mp-2023`` never saw.
    """
    records, _ = filter_records(load_bundled_dataset(), on_invalid="drop")
    split = stratified_split(records, seed=seed)
    by_id = {r.material_id: r for r in records}
    return [by_id[i] for i in split.part(part)]


def all_records() -> list[ElasticRecord]:
    """Every record of the bundled data set after the default filters, in file order."""
    return filter_records(load_bundled_dataset(), on_invalid="drop")[0]


def named_tensor_records(material_ids: Sequence[str]) -> dict[str, ElasticRecord]:
    """The tensor record of each of ``material_ids`` found in the bundled sources, the newest source's first
    (``ALL_SOURCES`` order, as the de-duplication keeps them); ids without a tensor record are left out."""
    from stn_plugin.data.loaders import read_bundled
    from stn_plugin.data.records import ALL_SOURCES

    found: dict[str, ElasticRecord] = {}
    for source in ALL_SOURCES:
        for record in read_bundled(source).records:
            if record.material_id in material_ids and record.has_tensor:
                found.setdefault(record.material_id, record)
    return found


def write_json(path: str | Path, payload: Mapping[str, Any]) -> Path:
    """Write ``payload`` as indented JSON (numpy scalars converted) and return the path."""

    def default(value: Any) -> Any:
        if isinstance(value, np.generic):
            return value.item()
        if isinstance(value, np.ndarray):
            return value.tolist()
        raise TypeError(f"not JSON serialisable: {type(value)}")

    path = atomic_write_text(json.dumps(payload, indent=2, default=default) + "\n", path)
    print(f"wrote {path}")
    return path


def print_table(rows: Sequence[Mapping[str, Any]], columns: Sequence[str] | None = None) -> None:
    """Print rows of dicts as a Markdown table (floats with 4 significant digits; columns: all keys in order)."""
    if not rows:
        return
    columns = list(columns or dict.fromkeys(key for row in rows for key in row))

    def fmt(value: Any) -> str:
        if isinstance(value, float | np.floating):
            return f"{value:.4g}"
        return str(value)

    print("| " + " | ".join(columns) + " |")
    print("|" + "---|" * len(columns))
    for row in rows:
        print("| " + " | ".join(fmt(row.get(c, "")) for c in columns) + " |")
