"""Table II metrics and the per-system, per-element, Fig. 9 and DCV breakdowns of an evaluation.

Definitions (paper Sec. IV B, Table II, Figs. 7 and 9, App. B):

* U_ij and C_ij statistics pool the 21 upper-triangle entries (``VOIGT_PAIRS``) of every material:
  ``mean`` is the mean of the *true* values, ``mae``/``rmse`` the mean absolute / root-mean-square
  error over the N x 21 entries.
* B_V, G_V (Eqs. B1, B2), Young's modulus and Poisson's ratio (Eqs. B3, B4, from the Voigt moduli, as
  :func:`stn_plugin.physics.moduli.elastic_moduli`) are computed from the true and from the predicted C
  of each material; the statistics run over the N materials.
* Per element (Fig. 7): a material counts once for every element it contains; the MAE of U_ij and C_ij
  of an element pools the 21 entries of all its materials. The element's mean true B_V and G_V colour
  the bars of Fig. 7.
* Fig. 9: mean and standard deviation (population, ddof = 0) of C26 and C56 (0-based C[1, 5] and
  C[4, 5]) over the cubic materials and over all materials.
* DCV accuracy: a class probability >= ``DCV_THRESHOLD`` counts as "in the class". Element accuracy is
  the fraction of the N x 21 x 21 entries that agree with the true DCV; row accuracy the fraction of the
  N x 21 rows (one per strain state) that agree in all 21 entries.

Metric keys are stable and carry their unit: ``*_mev`` = meV/atom, ``*_gpa`` = GPa, no suffix =
dimensionless.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
from numpy.typing import NDArray
from pydantic import BaseModel, ConfigDict
from pymatgen.core import Element

from stn_plugin.evaluation.data import EvaluationData, crystal_system_key
from stn_plugin.physics.moduli import poisson_ratio, voigt_averages, young_modulus
from stn_plugin.physics.voigt import VOIGT_PAIRS, upper_triangle

NAN: float = float("nan")

DCV_THRESHOLD: float = 0.5
"""Class probability from which a pair counts as degenerate with the strained pair."""


def voigt_moduli(elastic_tensors: NDArray[np.floating]) -> dict[str, NDArray[np.float64]]:
    """B_V, G_V, Young's modulus and Poisson's ratio of each stiffness (App. B).

    Args:
        elastic_tensors: C, shape (N, 6, 6), GPa.

    Returns:
        ``bulk_voigt``, ``shear_voigt``, ``young`` (GPa) and ``poisson`` (dimensionless), each shape (N,).
    """
    bulk, shear_modulus = voigt_averages(np.asarray(elastic_tensors, dtype=float))
    with np.errstate(divide="ignore", invalid="ignore"):
        return {
            "bulk_voigt": bulk,
            "shear_voigt": shear_modulus,
            "young": young_modulus(bulk, shear_modulus),
            "poisson": poisson_ratio(bulk, shear_modulus),
        }


Stat = float | None
"""A statistic; None when undefined (no finite value to average)."""


def _stats(true: NDArray[np.float64], pred: NDArray[np.float64]) -> tuple[Stat, Stat, Stat]:
    """(mean of truth, MAE, RMSE) over all entries; non-finite entries (e.g. Poisson of C = 0) are skipped."""
    ok = np.isfinite(true) & np.isfinite(pred)
    if not ok.any():
        return None, None, None
    error = pred[ok] - true[ok]
    return float(true[ok].mean()), float(np.abs(error).mean()), float(np.sqrt((error**2).mean()))


class TableIIMetrics(BaseModel):
    """The rows of Table II for one group of materials: mean of the truth, MAE and RMSE.

    Units: ``_mev`` meV/atom, ``_gpa`` GPa; Poisson's ratio is dimensionless. A statistic is None when
    no material has a finite value (e.g. Poisson's ratio of an all-zero prediction).
    """

    model_config = ConfigDict(frozen=True)

    n_materials: int
    sed_mean_mev: Stat
    sed_mae_mev: Stat
    sed_rmse_mev: Stat
    cij_mean_gpa: Stat
    cij_mae_gpa: Stat
    cij_rmse_gpa: Stat
    bulk_voigt_mean_gpa: Stat
    bulk_voigt_mae_gpa: Stat
    bulk_voigt_rmse_gpa: Stat
    shear_voigt_mean_gpa: Stat
    shear_voigt_mae_gpa: Stat
    shear_voigt_rmse_gpa: Stat
    young_mean_gpa: Stat
    young_mae_gpa: Stat
    young_rmse_gpa: Stat
    poisson_mean: Stat
    poisson_mae: Stat
    poisson_rmse: Stat


TABLE_II_ROWS: tuple[tuple[str, str, str], ...] = (
    ("sed", "_mev", "U_ij (meV/atom)"),
    ("cij", "_gpa", "C_ij (GPa)"),
    ("bulk_voigt", "_gpa", "B_V (GPa)"),
    ("shear_voigt", "_gpa", "G_V (GPa)"),
    ("young", "_gpa", "Y (GPa)"),
    ("poisson", "", "Poisson ratio"),
)
"""(key prefix, unit suffix, printed name) of the rows of Table II."""


def table_ii_metrics(data: EvaluationData) -> TableIIMetrics:
    """Table II statistics of all materials in ``data``."""
    values: dict[str, Stat] = {"n_materials": data.n_materials}
    pairs = {
        "sed": (upper_triangle(data.sed_true), upper_triangle(data.sed_pred)),
        "cij": (upper_triangle(data.elastic_true), upper_triangle(data.elastic_pred)),
    }
    moduli_true, moduli_pred = voigt_moduli(data.elastic_true), voigt_moduli(data.elastic_pred)
    pairs.update({key: (moduli_true[key], moduli_pred[key]) for key in moduli_true})
    for prefix, unit, _ in TABLE_II_ROWS:
        mean, mae, rmse = _stats(*pairs[prefix])
        values.update({f"{prefix}_mean{unit}": mean, f"{prefix}_mae{unit}": mae, f"{prefix}_rmse{unit}": rmse})
    return TableIIMetrics(**values)


class ComponentStats(BaseModel):
    """Mean and population SD (GPa) of one stiffness component over a group of materials (Fig. 9)."""

    model_config = ConfigDict(frozen=True)

    n_materials: int
    pred_mean_gpa: float | None
    pred_sd_gpa: float | None
    true_mean_gpa: float | None
    true_sd_gpa: float | None


FIG9_COMPONENTS: dict[str, tuple[int, int]] = {"c26": (1, 5), "c56": (4, 5)}
"""Components of Fig. 9 (zero in a cubic crystal's own axes): name -> 0-based Voigt pair."""


def component_stats(data: EvaluationData, i: int, j: int, mask: NDArray[np.bool_]) -> ComponentStats:
    """Statistics of C[i, j] (0-based Voigt indices) over the materials where ``mask`` (shape (N,)) holds.

    All statistics are None when no material is selected.
    """
    pred, true = data.elastic_pred[mask, i, j], data.elastic_true[mask, i, j]
    if pred.size == 0:
        return ComponentStats(n_materials=0, pred_mean_gpa=None, pred_sd_gpa=None, true_mean_gpa=None, true_sd_gpa=None)
    return ComponentStats(
        n_materials=int(pred.size),
        pred_mean_gpa=float(pred.mean()),
        pred_sd_gpa=float(pred.std()),
        true_mean_gpa=float(true.mean()),
        true_sd_gpa=float(true.std()),
    )


def zero_component_stats(data: EvaluationData) -> dict[str, ComponentStats]:
    """Fig. 9: keys ``cubic_c26``, ``cubic_c56``, ``all_c26``, ``all_c56``."""
    cubic = np.array([s == "cubic" for s in data.crystal_systems])
    everything = np.ones(data.n_materials, dtype=bool)
    return {
        f"{group}_{name}": component_stats(data, i, j, mask)
        for group, mask in (("cubic", cubic), ("all", everything))
        for name, (i, j) in FIG9_COMPONENTS.items()
    }


class DCVAccuracy(BaseModel):
    """Accuracy of the predicted degeneracy class vectors (dimensionless fractions in [0, 1])."""

    model_config = ConfigDict(frozen=True)

    n_rows: int
    dcv_element_accuracy: float
    dcv_row_accuracy: float


def dcv_accuracy(probabilities: NDArray[np.floating], true_dcv: NDArray[np.floating]) -> DCVAccuracy:
    """Element-wise and exact-row accuracy of DCV probabilities thresholded at ``DCV_THRESHOLD``.

    Args:
        probabilities: shape (N, 21, 21), row k = class probabilities for the strain ``VOIGT_PAIRS[k]``.
        true_dcv: shape (N, 21, 21), 0/1.
    """
    p, t = np.asarray(probabilities, dtype=float), np.asarray(true_dcv, dtype=float)
    if p.shape != t.shape or p.shape[-1] != len(VOIGT_PAIRS):
        raise ValueError(f"DCV arrays must have equal shapes (N, 21, 21), got {p.shape} and {t.shape}.")
    agree = (p >= DCV_THRESHOLD) == (t >= 0.5)
    return DCVAccuracy(
        n_rows=int(np.prod(agree.shape[:-1])),
        dcv_element_accuracy=float(agree.mean()),
        dcv_row_accuracy=float(agree.all(axis=-1).mean()),
    )


class ElementErrors(BaseModel):
    """Fig. 7 entry of one element: errors over all materials that contain it.

    ``bulk_voigt_mean_gpa`` and ``shear_voigt_mean_gpa`` are the mean *true* moduli of those materials.
    """

    model_config = ConfigDict(frozen=True)

    element: str
    n_materials: int
    sed_mae_mev: float
    cij_mae_gpa: float
    bulk_voigt_mean_gpa: float
    shear_voigt_mean_gpa: float


def element_errors(data: EvaluationData) -> list[ElementErrors]:
    """Per-element MAE of U_ij and C_ij (Fig. 7), sorted by atomic number."""
    sed_error = np.abs(upper_triangle(data.sed_pred) - upper_triangle(data.sed_true)).mean(axis=1)
    cij_error = np.abs(upper_triangle(data.elastic_pred) - upper_triangle(data.elastic_true)).mean(axis=1)
    moduli = voigt_moduli(data.elastic_true)
    members: dict[str, list[int]] = {}
    for index, elements in enumerate(data.elements):
        for element in elements:
            members.setdefault(element, []).append(index)
    return [
        ElementErrors(
            element=element,
            n_materials=len(idx),
            sed_mae_mev=float(sed_error[idx].mean()),
            cij_mae_gpa=float(cij_error[idx].mean()),
            bulk_voigt_mean_gpa=float(moduli["bulk_voigt"][idx].mean()),
            shear_voigt_mean_gpa=float(moduli["shear_voigt"][idx].mean()),
        )
        for element, idx in sorted(members.items(), key=lambda item: Element(item[0]).Z)
    ]


class EvaluationMetrics(BaseModel):
    """Everything ``stn models evaluate`` reports, for one predictor on one set of materials.

    Attributes:
        overall: Table II over all materials.
        by_crystal_system: Table II per crystal system (highest symmetry first).
        zero_components: Fig. 9 statistics (``cubic_c26``, ``cubic_c56``, ``all_c26``, ``all_c56``).
        dcv: DCV accuracy over all materials, None when the predictor has no classifier.
        dcv_by_crystal_system: DCV accuracy per crystal system (empty without a classifier).
        elements: Fig. 7 errors per element, by atomic number.
    """

    model_config = ConfigDict(frozen=True)

    overall: TableIIMetrics
    by_crystal_system: dict[str, TableIIMetrics]
    zero_components: dict[str, ComponentStats]
    dcv: DCVAccuracy | None
    dcv_by_crystal_system: dict[str, DCVAccuracy]
    elements: list[ElementErrors]

    def flat(self) -> dict[str, float]:
        """Scalar metrics with stable keys, e.g. for ``mlflow.log_metrics``.

        Keys: the fields of :class:`TableIIMetrics` (``sed_mae_mev``, ``cij_mae_gpa``, ...); the
        ``dcv_*`` accuracies (NaN without a classifier, so that every architecture has the same keys);
        ``{group}_{component}_{pred|true}_{mean|sd}_gpa`` of Fig. 9 (e.g. ``cubic_c26_pred_mean_gpa``); and
        ``{system}/{key}`` for every per-system value. Other undefined values (None) are left out.
        """
        out: dict[str, float] = dict(self.overall.model_dump())
        out.update(self.dcv.model_dump() if self.dcv is not None else dict.fromkeys(DCVAccuracy.model_fields, NAN))
        for name, stats in self.zero_components.items():
            out.update({f"{name}_{key}": value for key, value in stats.model_dump().items() if key != "n_materials"})
        for system, table in self.by_crystal_system.items():
            out.update({f"{system}/{key}": value for key, value in table.model_dump().items()})
        for system in self.by_crystal_system:
            accuracy = self.dcv_by_crystal_system.get(system)
            values = accuracy.model_dump() if accuracy is not None else dict.fromkeys(DCVAccuracy.model_fields, NAN)
            out.update({f"{system}/{key}": value for key, value in values.items()})
        return {key: float(value) for key, value in out.items() if value is not None}

    def to_json(self) -> str:
        """Indented JSON of all fields (undefined values as null); read back with ``model_validate_json``."""
        return self.model_dump_json(indent=1) + "\n"

    def to_markdown(self) -> str:
        """Markdown tables: Table II, per crystal system, DCV accuracy, Fig. 9 statistics, per element."""
        return "\n".join(_markdown_sections(self)) + "\n"


def _fmt(value: float | None, digits: int = 3) -> str:
    return "-" if value is None else f"{value:.{digits}f}"


def _markdown_sections(metrics: EvaluationMetrics) -> list[str]:
    o = metrics.overall
    lines = [f"## Table II ({o.n_materials} materials)", ""]
    lines += ["| property | mean (truth) | MAE | RMSE |", "|---|---|---|---|"]
    for prefix, unit, name in TABLE_II_ROWS:
        row = [getattr(o, f"{prefix}_{stat}{unit}") for stat in ("mean", "mae", "rmse")]
        lines.append(f"| {name} | " + " | ".join(_fmt(v) for v in row) + " |")
    lines += ["", "## MAE per crystal system", ""]
    header = "| crystal system | n | " + " | ".join(name for _, _, name in TABLE_II_ROWS)
    with_dcv = bool(metrics.dcv_by_crystal_system)
    lines += [header + (" | DCV row acc. |" if with_dcv else " |"), "|---" * (len(TABLE_II_ROWS) + 2 + with_dcv) + "|"]
    for system, table in metrics.by_crystal_system.items():
        cells = [_fmt(getattr(table, f"{prefix}_mae{unit}")) for prefix, unit, _ in TABLE_II_ROWS]
        if with_dcv:
            cells.append(_fmt(metrics.dcv_by_crystal_system[system].dcv_row_accuracy))
        lines.append(f"| {system} | {table.n_materials} | " + " | ".join(cells) + " |")
    if metrics.dcv is not None:
        d = metrics.dcv
        lines += [
            "",
            f"## DCV accuracy (threshold {DCV_THRESHOLD})",
            "",
            "| rows | element accuracy | exact-row accuracy |",
            "|---|---|---|",
            f"| {d.n_rows} | {_fmt(d.dcv_element_accuracy, 4)} | {_fmt(d.dcv_row_accuracy, 4)} |",
        ]
    lines += [
        "",
        "## Fig. 9: components that vanish in cubic axes (GPa, SD with ddof = 0)",
        "",
        "| group | component | n | predicted mean | predicted SD | true mean | true SD |",
        "|---|---|---|---|---|---|---|",
    ]
    for name, s in metrics.zero_components.items():
        group, component = name.split("_")
        values = (s.pred_mean_gpa, s.pred_sd_gpa, s.true_mean_gpa, s.true_sd_gpa)
        cells = " | ".join(_fmt(v, 2) for v in values)
        lines.append(f"| {group} | {component.upper()} | {s.n_materials} | {cells} |")
    lines += [
        "",
        "## Fig. 7: MAE per element (a material counts for each of its elements)",
        "",
        "| element | n | U_ij MAE (meV/atom) | C_ij MAE (GPa) | mean true B_V (GPa) | mean true G_V (GPa) |",
        "|---|---|---|---|---|---|",
    ]
    for e in metrics.elements:
        values = (e.sed_mae_mev, e.cij_mae_gpa, e.bulk_voigt_mean_gpa, e.shear_voigt_mean_gpa)
        lines.append(f"| {e.element} | {e.n_materials} | " + " | ".join(_fmt(v, 2) for v in values) + " |")
    return lines


def evaluate(data: EvaluationData) -> EvaluationMetrics:
    """All metrics of one predictor on one set of materials (see the module docstring)."""
    systems = np.array(data.crystal_systems)
    groups: Mapping[str, EvaluationData] = {
        system: data.subset(systems == system) for system in sorted(set(data.crystal_systems), key=crystal_system_key)
    }
    with_dcv = data.dcv_prob is not None and data.dcv_true is not None
    return EvaluationMetrics(
        overall=table_ii_metrics(data),
        by_crystal_system={system: table_ii_metrics(group) for system, group in groups.items()},
        zero_components=zero_component_stats(data),
        dcv=dcv_accuracy(data.dcv_prob, data.dcv_true) if with_dcv else None,  # type: ignore[arg-type]
        dcv_by_crystal_system=(
            {system: dcv_accuracy(g.dcv_prob, g.dcv_true) for system, g in groups.items()}  # type: ignore[arg-type]
            if with_dcv
            else {}
        ),
        elements=element_errors(data),
    )
