"""``stn models evaluate``: predictions of a dataset as ``EvaluationData``, and the printed metrics."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from rich.console import Group
from rich.table import Table

from stn_plugin.data import ElasticRecord
from stn_plugin.evaluation import EvaluationData, EvaluationMetrics
from stn_plugin.evaluation.metrics import TABLE_II_ROWS
from stn_plugin.physics.symmetry import analyze_symmetry


def evaluation_data(records: Sequence[ElasticRecord], predictions: Sequence[Any]) -> EvaluationData:
    """Truth of ``records`` against their ``ElasticPrediction``s.

    U_true follows from the record's C with the model's strain magnitude; the true DCV is
    ``analyze_symmetry(structure).dcv``. DCV probabilities are included when every prediction has them.
    """
    with_dcv = all(p.dcv is not None for p in predictions)
    return EvaluationData(
        sed_true=np.stack([r.sed(p.strain) for r, p in zip(records, predictions, strict=True)]),
        sed_pred=np.stack([p.sed for p in predictions]),
        elastic_true=np.stack([r.elastic_tensor for r in records]),
        elastic_pred=np.stack([np.asarray(p.elastic_tensor.voigt) for p in predictions]),
        crystal_systems=[r.crystal_system for r in records],
        elements=[r.formula for r in records],
        dcv_prob=np.stack([p.dcv for p in predictions]) if with_dcv else None,
        dcv_true=np.stack([analyze_symmetry(r.structure).dcv for r in records]) if with_dcv else None,
    )


def _fmt(value: float | None, digits: int = 2) -> str:
    return "-" if value is None else f"{value:.{digits}f}"


def _digits(prefix: str) -> int:
    """Decimals printed for a Table II row: 3 for the (dimensionless) Poisson ratio, else 2."""
    return 3 if prefix == "poisson" else 2


def metrics_tables(metrics: EvaluationMetrics) -> Group:
    """Table II (mean of the truth, MAE, RMSE), MAE per crystal system and the DCV accuracy."""
    overall = metrics.overall
    table = Table(title=f"Table II ({overall.n_materials} materials)", title_justify="left")
    for column in ("property", "mean (truth)", "MAE", "RMSE"):
        table.add_column(column, justify="left" if column == "property" else "right")
    for prefix, unit, name in TABLE_II_ROWS:
        values = (getattr(overall, f"{prefix}_{stat}{unit}") for stat in ("mean", "mae", "rmse"))
        table.add_row(name, *(_fmt(v, _digits(prefix)) for v in values))
    systems = Table(title="MAE per crystal system", title_justify="left")
    systems.add_column("crystal system")
    systems.add_column("n", justify="right")
    for _, _, name in TABLE_II_ROWS:
        systems.add_column(name, justify="right")
    for system, t in metrics.by_crystal_system.items():
        cells = (_fmt(getattr(t, f"{prefix}_mae{unit}"), _digits(prefix)) for prefix, unit, _ in TABLE_II_ROWS)
        systems.add_row(system, str(t.n_materials), *cells)
    parts: list[Any] = [table, systems]
    if metrics.dcv is not None:
        dcv = Table(title="DCV accuracy", title_justify="left")
        for column in ("rows", "element accuracy", "exact-row accuracy"):
            dcv.add_column(column, justify="right")
        d = metrics.dcv
        dcv.add_row(str(d.n_rows), _fmt(d.dcv_element_accuracy, 4), _fmt(d.dcv_row_accuracy, 4))
        parts.append(dcv)
    return Group(*parts)
