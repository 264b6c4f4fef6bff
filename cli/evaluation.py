"""``stn models evaluate``: the printed metric tables."""

from __future__ import annotations

from typing import Any

from rich.console import Group
from rich.table import Table

from stn_plugin.evaluation import EvaluationMetrics
from stn_plugin.evaluation.metrics import TABLE_II_ROWS
from stn_plugin.evaluation.records import RecordsEvaluation


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


def source_table(evaluation: RecordsEvaluation) -> Table:
    """Per data source: materials, C_ij / B_V / G_V MAE (tensor records) and K_VRH / G_VRH MAE (all), GPa; and
    the anisotropy errors of the tensor records."""
    table = Table(title="Per data source (MAE, GPa)")
    for column in ("source", "tensors", "C_ij", "B_V", "G_V", "all", "K_VRH", "G_VRH"):
        table.add_column(column, justify="left" if column == "source" else "right")
    for source, moduli in evaluation.moduli_by_source.items():
        tensor = evaluation.tensor_by_source.get(source)
        o = None if tensor is None else tensor.overall
        cells = (
            ["-"] * 4
            if o is None
            else [str(o.n_materials), _fmt(o.cij_mae_gpa), _fmt(o.bulk_voigt_mae_gpa), _fmt(o.shear_voigt_mae_gpa)]
        )
        table.add_row(
            source,
            *cells,
            f"{moduli['n_materials']:.0f}",
            _fmt(moduli["bulk_vrh_mae_gpa"]),
            _fmt(moduli["shear_vrh_mae_gpa"]),
        )
    a = evaluation.anisotropy
    if a:
        table.caption = (
            f"anisotropy: MAE of log10(C33/C11) {_fmt(a['log_c33_c11_mae'], 3)} ({a['n_uniaxial']:.0f} uniaxial crystals); "
            f"universal anisotropy index MAE {_fmt(a['universal_anisotropy_mae'])}, median {_fmt(a['universal_anisotropy_median_ae'])}"
        )
    return table
