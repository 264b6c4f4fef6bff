"""Entry point ``main`` of the MLflow project: the MLproject parameters -> :func:`stn_plugin.training.train`.

MLflow starts this script in ``mlflow_projects/train`` with ``MLFLOW_RUN_ID`` and ``MLFLOW_TRACKING_URI`` set; the
training logs to that run. The parameters map onto ``train`` as the options of ``stn models train`` do (``config``
is its ``--config`` or ``--preset``), so both runs have the same params
(:data:`stn_plugin.training.tracking.RUN_ARGUMENTS`). Relative paths are resolved against the repository root, so
the project behaves the same from whichever folder ``mlflow run`` is called.
"""

from __future__ import annotations

import argparse
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

REPOSITORY = Path(__file__).resolve().parents[2]
"""Root of the repository holding this project."""


def _path(value: str) -> Path:
    """``value`` as an absolute path (relative paths are taken from the repository root)."""
    path = Path(value).expanduser()
    return path if path.is_absolute() else REPOSITORY / path


def _whole(value: str) -> int:
    """An integer parameter (MLflow passes numbers as text, e.g. ``1`` or ``1.0``)."""
    number = float(value)
    if not number.is_integer():
        raise argparse.ArgumentTypeError(f"expected a whole number, got {value!r}")
    return int(number)


def train_arguments(argv: Sequence[str] | None = None) -> dict[str, Any]:
    """The keyword arguments of :func:`stn_plugin.training.train` for the MLproject parameters in ``argv``."""
    from stn_plugin.training.config import PRESETS

    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--architecture", required=True)
    parser.add_argument("--config", default="")
    parser.add_argument("--data", default="")
    parser.add_argument("--dataset", default="")
    parser.add_argument("--on-invalid", choices=["", "drop", "raise"], default="")
    parser.add_argument("--max-epochs", type=_whole, default=-1)
    parser.add_argument("--seed", type=_whole, default=-1)
    parser.add_argument("--split-seed", type=_whole, default=0)
    parser.add_argument("--init-from", default="")
    parser.add_argument("--register-as", default="")
    parser.add_argument("--output", default="")
    args = parser.parse_args(argv)
    folder = _path(args.init_from) if args.init_from else None
    run_folder = REPOSITORY / "runs" / f"mlflow-{os.environ.get('MLFLOW_RUN_ID', 'local')}"
    return {
        "architecture": args.architecture,
        "config": args.config if args.config in PRESETS else _path(args.config) if args.config else None,
        "data": _path(args.data) if args.data else None,
        "dataset": args.dataset or None,
        "on_invalid": args.on_invalid or None,
        "max_epochs": args.max_epochs if args.max_epochs >= 0 else None,
        "seed": args.seed if args.seed >= 0 else None,
        "split_seed": args.split_seed,
        # a model folder (relative to the repository root), else a registry name
        "init_from": str(folder) if folder is not None and folder.exists() else args.init_from or None,
        "register_as": args.register_as or None,
        "output_dir": _path(args.output) if args.output else run_folder,
    }


def main(argv: Sequence[str] | None = None) -> None:
    """Train with the MLproject parameters in ``argv`` (default: the command line) and print where the results are."""
    import torch

    from stn_plugin.runtime import hide_lightning_tips
    from stn_plugin.training.train import train  # the function, also where the module is imported

    hide_lightning_tips()
    torch.set_num_threads(1)  # as `stn models train` without --threads: the configuration's num_threads, else 1
    result = train(**train_arguments(argv))
    print(result.validation.summary())
    print(f"run id: {result.run_id}")
    print(f"model: {result.model_dir}")
    print(f"training directory: {result.output_dir}")
    print(f"registered model: {result.registered_model or '(not registered)'}")


if __name__ == "__main__":
    main()
