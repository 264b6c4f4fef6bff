"""StrainTensorNet model family (MatGL models) and their configs.

``build_model(config, **statistics)`` builds the model of any architecture config; the training
configuration and the presets are in :mod:`stn_plugin.training.config`.
"""

from __future__ import annotations

from typing import Any

from stn_plugin.models.base import StnModel, StnOutput
from stn_plugin.models.config import (
    EncoderConfig,
    EnsembleConfig,
    HeadConfig,
    ModelConfig,
    StrainTensorNetConfig,
    TrialModelConfig,
)
from stn_plugin.models.ensemble import StnEnsemble
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


def build_model(config: StrainTensorNetConfig | TrialModelConfig, **statistics: Any) -> StnModel:
    """Model for the architecture config ``config`` (an ``ExperimentConfig``'s ``.model``); ``statistics`` go
    to the constructor (``atom_scalar_mean``, ``atom_scalar_std``, ``sed_mean``, ``sed_std``, ``strain``)."""
    return ARCHITECTURES[config.architecture](config, **statistics)


__all__ = [
    "ARCHITECTURES",
    "DcvNodeModel",
    "DcvPooledModel",
    "MODEL_CLASSES",
    "EncoderConfig",
    "EnsembleConfig",
    "HeadConfig",
    "MinimalModel",
    "ModelConfig",
    "StnEnsemble",
    "StnModel",
    "StnOutput",
    "StrainTensorNet",
    "TrialModelConfig",
    "build_model",
]
