"""A complete evaluation report directory: metrics (JSON, markdown) and every figure.

Layout written by :func:`write_report` (``{system}`` for each crystal system present):

    metrics.json               EvaluationMetrics.to_json()
    metrics.md                 EvaluationMetrics.to_markdown()
    parity_sed.png             U_ij, all 21 components (meV/atom)
    parity_cij.png             C_ij, all 21 components (GPa)
    parity_bulk_voigt.png      B_V (GPa)
    parity_shear_voigt.png     G_V (GPa)
    distance_{system}.png      Fig. 4: Canberra distances, truth vs prediction
    element_mae.png            Fig. 7: MAE of U_ij and C_ij per element

``stn models evaluate --report`` adds ``per_material.csv`` (:mod:`stn_plugin.evaluation.per_material`).
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

from stn_plugin.evaluation.data import EvaluationData
from stn_plugin.evaluation.distances import distance_matrices_by_system
from stn_plugin.evaluation.metrics import EvaluationMetrics, evaluate
from stn_plugin.evaluation.plots import (
    distance_matrix_plots,
    element_mae_plot,
    parity_plots,
)
from stn_plugin.io import atomic_write_text


def write_report(data: EvaluationData, directory: str | Path) -> EvaluationMetrics:
    """Evaluate ``data`` and write the report directory described in the module docstring.

    Args:
        data: true and predicted tensors of the evaluated materials.
        directory: output folder (created if missing; existing files of the same names are replaced).

    Returns:
        the metrics that were written.
    """
    directory = Path(directory)
    metrics = evaluate(data)
    parity_plots(data, directory)
    truth = distance_matrices_by_system(data.sed_true, data.crystal_systems)
    prediction = distance_matrices_by_system(data.sed_pred, data.crystal_systems)
    distance_matrix_plots(truth, prediction, Counter(data.crystal_systems), directory)
    element_mae_plot(
        metrics.elements,
        metrics.overall.sed_mae_mev or 0.0,
        metrics.overall.cij_mae_gpa or 0.0,
        directory / "element_mae.png",
    )
    atomic_write_text(metrics.to_json(), directory / "metrics.json")
    atomic_write_text(metrics.to_markdown(), directory / "metrics.md")
    return metrics
