"""Model-independent evaluation: Table II metrics, Fig. 4 distance matrices, Fig. 7/9 breakdowns, reports.

Inputs are plain numpy arrays (:class:`EvaluationData`), so the training code, ``stn models evaluate``
and the baselines share one implementation::

    data = EvaluationData(sed_true=..., sed_pred=..., elastic_true=..., elastic_pred=...,
                          crystal_systems=[...], elements=["Al2O3", ...])
    metrics = evaluate(data)            # metrics.flat()["cij_mae_gpa"], metrics.to_markdown()
    write_report(data, "report/")       # metrics.json, metrics.md, PNG figures
"""

from __future__ import annotations

from stn_plugin.evaluation.baselines import MeanTensorBaseline
from stn_plugin.evaluation.data import EvaluationData
from stn_plugin.evaluation.distances import canberra_distance_matrix, distance_matrices_by_system
from stn_plugin.evaluation.metrics import (
    ComponentStats,
    DCVAccuracy,
    ElementErrors,
    EvaluationMetrics,
    TableIIMetrics,
    dcv_accuracy,
    element_errors,
    evaluate,
    table_ii_metrics,
    voigt_moduli,
    zero_component_stats,
)
from stn_plugin.evaluation.report import write_report

__all__ = [
    "ComponentStats",
    "DCVAccuracy",
    "ElementErrors",
    "EvaluationData",
    "EvaluationMetrics",
    "MeanTensorBaseline",
    "TableIIMetrics",
    "canberra_distance_matrix",
    "dcv_accuracy",
    "distance_matrices_by_system",
    "element_errors",
    "evaluate",
    "table_ii_metrics",
    "voigt_moduli",
    "zero_component_stats",
    "write_report",
]
