"""The saved model: an :class:`ElasticPredictor` (networks, statistics, strain, graph settings, symmetry tolerance)
from structures to :class:`ElasticPrediction` objects, and its safe loading (:mod:`.loading`)."""

from __future__ import annotations

from stn_plugin.predictor.loading import ModelFileError, UnsafeModelFileError, load_model_dir, save_model_dir
from stn_plugin.predictor.prediction import ElasticPrediction, elastic_prediction
from stn_plugin.predictor.predictor import ElasticPredictor, NormalizationStats, SedPrediction

__all__ = [
    "ElasticPrediction",
    "ElasticPredictor",
    "ModelFileError",
    "NormalizationStats",
    "SedPrediction",
    "UnsafeModelFileError",
    "elastic_prediction",
    "load_model_dir",
    "save_model_dir",
]
