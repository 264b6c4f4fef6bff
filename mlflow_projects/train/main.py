"""Entry point ``main`` of the MLflow project: resolve the parameters, then run ``stn models train``.

MLflow starts this script in ``mlflow_projects/train`` with ``MLFLOW_RUN_ID`` and
``MLFLOW_TRACKING_URI`` set; the training logs to that run. Relative paths are resolved against the
repository root, so the project behaves the same from whichever folder ``mlflow run`` is called.
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

from stn_plugin.cli.main import app

REPOSITORY = Path(__file__).resolve().parents[2]
"""Root of the repository holding this project."""


def _path(value: str) -> str:
    """``value`` as an absolute path (relative paths are taken from the repository root)."""
    path = Path(value).expanduser()
    return str(path if path.is_absolute() else REPOSITORY / path)


def _whole(value: str) -> int:
    """An integer parameter (MLflow passes numbers as text, e.g. ``1`` or ``1.0``)."""
    number = float(value)
    if not number.is_integer():
        raise argparse.ArgumentTypeError(f"expected a whole number, got {value!r}")
    return int(number)


def stn_arguments(argv: list[str] | None = None) -> list[str]:
    """The ``stn models train ...`` arguments for the MLproject parameters in ``argv``."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--architecture", required=True)
    parser.add_argument("--data", default="bundled")
    parser.add_argument("--preset", default="cpu")
    parser.add_argument("--config", default="")
    parser.add_argument("--max-epochs", type=_whole, default=-1)
    parser.add_argument("--seed", type=_whole, default=-1)
    parser.add_argument("--split-seed", type=_whole, default=0)
    parser.add_argument("--init-from", default="")
    parser.add_argument("--register-as", default="")
    parser.add_argument("--output", default="")
    args = parser.parse_args(argv)
    run_id = os.environ.get("MLFLOW_RUN_ID", "local")
    stn = ["models", "train", args.architecture, "--split-seed", str(args.split_seed)]
    stn += ["--output", _path(args.output) if args.output else str(REPOSITORY / "runs" / f"mlflow-{run_id}")]
    stn += ["--config", _path(args.config)] if args.config else ["--preset", args.preset]
    if args.data != "bundled":
        stn += ["--data", _path(args.data)]
    if args.max_epochs >= 0:
        stn += ["--max-epochs", str(args.max_epochs)]
    if args.seed >= 0:
        stn += ["--seed", str(args.seed)]
    if args.init_from:  # a model folder (relative to the repository root) or a registry name
        folder = Path(_path(args.init_from))
        stn += ["--init-from", str(folder) if folder.exists() else args.init_from]
    if args.register_as:
        stn += ["--register-as", args.register_as]
    return stn


if __name__ == "__main__":
    app(args=stn_arguments(), prog_name="stn")
