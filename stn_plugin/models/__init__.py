"""The networks of the StrainTensorNet family and their configs.

A network maps strained crystal graphs to normalised U_ij and DCV logits; :mod:`stn_plugin.predictor` wraps one or
more of them with their statistics into the saved, structure-level model. ``build_model(config)`` builds the
network of any architecture config; the training configuration and the presets are in
:mod:`stn_plugin.training.config`.
"""

from __future__ import annotations

from stn_plugin.models.base import StnModel, StnOutput
from stn_plugin.models.config import (
    GRAPH_SETTINGS,
    EncoderConfig,
    HeadConfig,
    ModelConfig,
    StrainTensorNetConfig,
    TrialModelConfig,
)
from stn_plugin.models.straintensornet import StrainTensorNet
from stn_plugin.models.trial import DcvNodeModel, DcvPooledModel, MinimalModel

ARCHITECTURES: dict[str, type[StnModel]] = {
    "straintensornet": StrainTensorNet,
    "fig6a": MinimalModel,
    "fig6b": DcvPooledModel,
    "fig6c": DcvNodeModel,
}


def build_model(config: StrainTensorNetConfig | TrialModelConfig) -> StnModel:
    """The network of the architecture config ``config`` (an ``ExperimentConfig``'s ``.model``), randomly initialised."""
    return ARCHITECTURES[config.architecture](config)


__all__ = [
    "ARCHITECTURES",
    "GRAPH_SETTINGS",
    "DcvNodeModel",
    "DcvPooledModel",
    "EncoderConfig",
    "HeadConfig",
    "MinimalModel",
    "ModelConfig",
    "StnModel",
    "StnOutput",
    "StrainTensorNet",
    "StrainTensorNetConfig",
    "TrialModelConfig",
    "build_model",
]
