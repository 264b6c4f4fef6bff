"""StrainTensorNet model family (MatGL models), configs and presets.

``build_model(config, **statistics)`` builds the model of any architecture config.
"""

from __future__ import annotations

from typing import Any

from stn_plugin.models.base import StnModel, StnOutput
from stn_plugin.models.config import (
    PRESETS,
    EncoderConfig,
    EnsembleConfig,
    ExperimentConfig,
    HeadConfig,
    ModelConfig,
    StrainTensorNetConfig,
    TrainingConfig,
    TrialModelConfig,
    load_preset,
)
from stn_plugin.models.ensemble import StnEnsemble
from stn_plugin.models.prediction import ElasticPrediction
from stn_plugin.models.straintensornet import StrainTensorNet
from stn_plugin.models.trial import DcvNodeModel, DcvPooledModel, MinimalModel

ARCHITECTURES: dict[str, type[StnModel]] = {
    "straintensornet": StrainTensorNet,
    "fig6a": MinimalModel,
    "fig6b": DcvPooledModel,
    "fig6c": DcvNodeModel,
}

MODEL_CLASSES: tuple[type[StnModel], ...] = (*ARCHITECTURES.values(), StnEnsemble)
"""Every model class of the package (what a saved ``model.json`` may name)."""


def build_model(config: ExperimentConfig | StrainTensorNetConfig | TrialModelConfig, **statistics: Any) -> StnModel:
    """Model for ``config`` (an experiment or architecture config); ``statistics`` go to the constructor
    (``atom_scalar_mean``, ``atom_scalar_std``, ``sed_mean``, ``sed_std``, ``strain``)."""
    model_config = config.model if isinstance(config, ExperimentConfig) else config
    return ARCHITECTURES[model_config.architecture](model_config, **statistics)


__all__ = [
    "ARCHITECTURES",
    "PRESETS",
    "DcvNodeModel",
    "DcvPooledModel",
    "MODEL_CLASSES",
    "ElasticPrediction",
    "EncoderConfig",
    "EnsembleConfig",
    "ExperimentConfig",
    "HeadConfig",
    "MinimalModel",
    "ModelConfig",
    "StnEnsemble",
    "StnModel",
    "StnOutput",
    "StrainTensorNet",
    "TrainingConfig",
    "TrialModelConfig",
    "build_model",
    "load_preset",
]
