"""Shared fixtures of the training tests: 20 small materials from the bundled data and a tiny config."""

from __future__ import annotations

import gzip
import json
from importlib.resources import files
from pathlib import Path

from stn_plugin.data import write_jsonl
from stn_plugin.data.loaders import DEJONG2015_PROVENANCE, record_from_json_line
from stn_plugin.training.config import ExperimentConfig, load_preset

# (space-group range, count): cubic, hexagonal, tetragonal; enough members per system for val and test
SYSTEMS = (((195, 230), 10), ((168, 194), 5), ((75, 142), 5))

TINY_ENCODER = {
    "embedding_dim": 8,
    "num_attention_layers": 1,
    "channels": 4,
    "lmax": 1,
    "key_dim": 4,
    "num_radial_basis": 4,
    "radial_hidden": 8,
    "radial_layers": 1,
    "readout_dim": 8,
    "edge_strategy": "radius",
    "edge_cutoff": 4.0,
    "edge_bridge_cutoff": None,
    "radial_cutoff": 4.2,
}


def write_small_dataset(path: Path) -> Path:
    """The 20 smallest cells of three crystal systems of the bundled data, as JSON lines."""
    with gzip.open(str(files("stn_plugin.data").joinpath("files", "dejong2015_mp_elastic.jsonl.gz")), "rt") as f:
        rows = sorted((json.loads(line) for line in f), key=lambda r: (r["nsites"], r["material_id"]))
    chosen = []
    for (low, high), count in SYSTEMS:
        chosen += [r for r in rows if low <= r["space_group"] <= high][:count]
    write_jsonl([record_from_json_line(r, DEJONG2015_PROVENANCE) for r in chosen], path)
    return path


def tiny_config(architecture: str = "straintensornet", **training) -> ExperimentConfig:
    """The ``cpu`` preset (the recipe of the bundled models) shrunk to a few hundred parameters (seconds per epoch on
    20 materials), without weight averaging unless ``ema_decay`` is given (a few steps would leave the averaged
    weights at their initial values)."""
    config = load_preset("cpu", architecture=architecture).model_dump()
    config["model"]["encoder"].update(TINY_ENCODER)
    config["model"]["head"].update(cond_hidden=8, hidden=8)
    config["training"].update(
        {
            "batch_size": 4,
            "val_batch_size": 21,
            "max_epochs": 2,
            "teacher_forcing_epochs": 1,
            "num_threads": 1,
            "val_every_n_epochs": 1,
            "ema_decay": None,
            **training,
        }
    )
    config["name"] = f"tiny-{architecture}"
    return ExperimentConfig.model_validate(config)


def test_lazy_names_of_the_training_package_are_the_functions() -> None:
    """`train` is a submodule and the function of that name: in a fresh interpreter, whichever name is imported
    first, `stn_plugin.training.train` is the function (benchmarks.learning_curve imports it after resolve_config)."""
    import subprocess
    import sys

    code = (
        "from stn_plugin.training import prepare_data, resolve_config, train\n"
        "import inspect; assert inspect.isfunction(train), train\n"
        "import stn_plugin.training as t; assert t.train is train and inspect.isfunction(t.resolve_config)\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=120)
