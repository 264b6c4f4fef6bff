"""Training of the StrainTensorNet family with Lightning, tracked in MLflow.

``train(architecture, config, ...)`` runs one seeded, resumable training and returns a
:class:`TrainResult`; the pieces (:class:`StnDataModule`, :class:`StnLightningModule`, the MLflow
helpers) are usable on their own. The run's configuration (:class:`ExperimentConfig`,
:class:`TrainingConfig`, ``load_preset``) is in :mod:`stn_plugin.training.config`.

Names are imported on first use (PEP 562), so ``stn_plugin.training.config`` loads without MLflow and
the training modules.
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

_SOURCES: dict[str, str] = {
    "ExperimentConfig": "config",
    "PRESETS": "config",
    "TrainingConfig": "config",
    "load_preset": "config",
    "EpochSampler": "data",
    "MaterialGraphs": "data",
    "PreparedData": "data",
    "StnDataModule": "data",
    "TrainingSamples": "data",
    "prepare_data": "data",
    "StnLightningModule": "module",
    "evaluate_materials": "module",
    "REGISTRY_ALIAS": "tracking",
    "StnMLFlowLogger": "tracking",
    "StnPyfuncModel": "tracking",
    "TrainResult": "train",
    "resolve_config": "train",
    "train": "train",
}
"""Public name -> submodule that defines it."""

__all__ = sorted(_SOURCES)


def __getattr__(name: str) -> Any:
    if name not in _SOURCES:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    module = import_module(f"{__name__}.{_SOURCES[name]}")
    # Importing the submodule `train` binds the package attribute `train` to it; bind every public name of the
    # submodule at once, so that the function `train` wins whichever name was asked for first.
    for public, source in _SOURCES.items():
        if source == _SOURCES[name]:
            globals()[public] = getattr(module, public)
    return globals()[name]
