"""Training of the StrainTensorNet family with Lightning, tracked in MLflow.

``train(architecture, config, ...)`` runs one seeded, resumable training and returns a
:class:`TrainResult`; the pieces (:class:`StnDataModule`, :class:`StnLightningModule`, the MLflow
helpers) are usable on their own.
"""

from __future__ import annotations

from stn_plugin.training.data import (
    EpochSampler,
    MaterialGraphs,
    NormalizationStats,
    PreparedData,
    StnDataModule,
    TrainingSamples,
    prepare_data,
)
from stn_plugin.training.module import StnLightningModule
from stn_plugin.training.tracking import REGISTRY_ALIAS, StnMLFlowLogger, StnPyfuncModel
from stn_plugin.training.train import TrainResult, evaluation_data, resolve_config, train

__all__ = [
    "REGISTRY_ALIAS",
    "EpochSampler",
    "MaterialGraphs",
    "NormalizationStats",
    "PreparedData",
    "StnDataModule",
    "StnLightningModule",
    "StnMLFlowLogger",
    "StnPyfuncModel",
    "TrainResult",
    "TrainingSamples",
    "evaluation_data",
    "prepare_data",
    "resolve_config",
    "train",
]
