"""The experiment ``mlflow run mlflow_projects/train`` logs to when none is given: ``stn-plugin``.

``mlflow run`` without ``--experiment-name`` / ``--experiment-id`` (and without ``MLFLOW_EXPERIMENT_NAME`` /
``MLFLOW_EXPERIMENT_ID``) asks MLflow's default-experiment providers, the entry-point group
``mlflow.default_experiment_provider``, before it falls back to the ``Default`` experiment. This provider
answers only inside a ``mlflow run`` of this repository's training project (an argument naming a folder whose
``MLproject`` is ``name: stn-train``), so that run lands in the experiment of ``stn models train``
(:data:`stn_plugin.training.tracking.DEFAULT_EXPERIMENT`); every other MLflow use is left alone.

MLflow loads this module while it is itself being imported: at module level it imports only the standard library
and, as the parent package, :mod:`stn_plugin` (pyyaml and pydantic; never MLflow; matgl only where the home
folder is read-only, :func:`stn_plugin.runtime.ensure_matgl_importable`).
"""

from __future__ import annotations

import re
import sys
from collections.abc import Sequence
from pathlib import Path

PROJECT_NAME = "stn-train"
"""``name`` of the training project in ``mlflow_projects/train/MLproject``."""

_NAME_LINE = re.compile(r"^name:\s*(\S+)\s*$", re.MULTILINE)


def _is_training_project(argument: str) -> bool:
    """Whether ``argument`` is a folder holding the ``stn-train`` MLproject."""
    try:
        text = (Path(argument) / "MLproject").read_text(encoding="utf-8")
    except (OSError, ValueError):  # not a folder, unreadable, or a URI / option that is no path
        return False
    match = _NAME_LINE.search(text)
    return match is not None and match.group(1) == PROJECT_NAME


def runs_training_project(argv: Sequence[str]) -> bool:
    """Whether the command line ``argv`` is ``mlflow run ...`` of the ``stn-train`` project."""
    if len(argv) < 3 or Path(argv[0]).name not in ("mlflow", "__main__.py") or argv[1] != "run":
        return False
    return any(_is_training_project(argument) for argument in argv[2:] if not argument.startswith("-"))


class StnProjectExperimentProvider:
    """MLflow ``DefaultExperimentProvider`` (duck-typed, see the module docstring)."""

    def in_context(self) -> bool:
        return runs_training_project(sys.argv)

    def get_experiment_id(self) -> str:
        from mlflow import MlflowClient

        from stn_plugin.training.tracking import DEFAULT_EXPERIMENT, experiment_id

        return experiment_id(MlflowClient(), DEFAULT_EXPERIMENT)
