"""Shared pieces of the CLI tests: the example structures, a tiny saved model, a 5-material dataset."""

from __future__ import annotations

from pathlib import Path

import torch

from stn_plugin.data import load_jsonl, write_jsonl
from tests.test_training_helpers import TINY_ENCODER, write_small_dataset

REPOSITORY = Path(__file__).resolve().parents[1]
EXAMPLES = REPOSITORY / "examples" / "structures"
EXAMPLE_FILES = tuple(str(EXAMPLES / name) for name in ("Si.cif", "NaCl.poscar", "Mg.json", "TiO2_rutile.cif"))
EXAMPLE_FORMULAS = ("Si", "NaCl", "Mg", "TiO2")

TINY_STATS = {
    "atom_scalar_mean": [40.0, 2.0, 20.0, 1.2],
    "atom_scalar_std": [20.0, 0.8, 10.0, 0.4],
    "sed_mean": 5.0,
    "sed_std": 2.0,
}


def save_tiny_model(directory: Path, architecture: str = "straintensornet", seed: int = 0) -> Path:
    """An untrained predictor of one network of a few hundred parameters (weights drawn with ``seed``), saved in
    MatGL format; returns the directory."""
    from stn_plugin.predictor import ElasticPredictor

    torch.manual_seed(seed)
    config = {"architecture": architecture, "encoder": TINY_ENCODER, "head": {"cond_hidden": 8, "hidden": 8}}
    ElasticPredictor([config], [TINY_STATS]).save(directory)
    return directory


def write_five_materials(path: Path) -> Path:
    """Three cubic and two hexagonal small cells of the bundled data, as JSON lines."""
    records = load_jsonl(write_small_dataset(path.with_name("small.jsonl")))
    write_jsonl(records[:3] + records[10:12], path)
    return path
