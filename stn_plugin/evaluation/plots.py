"""Evaluation figures as PNG files: parity plots, Fig. 4 distance matrices, Fig. 7 per-element MAE.

Figures are drawn on matplotlib's Agg canvas without pyplot (no global state, no display needed) and
written atomically: to a temporary file in the target folder, then ``os.replace``d onto the name, so a
reader (MLflow, a browser) never sees a half-written PNG.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
from matplotlib import colormaps
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.cm import ScalarMappable
from matplotlib.colors import Normalize
from matplotlib.figure import Figure
from numpy.typing import NDArray

from stn_plugin.evaluation.data import EvaluationData
from stn_plugin.evaluation.metrics import ElementErrors, voigt_moduli
from stn_plugin.io import atomic_path
from stn_plugin.physics.voigt import VOIGT_LABELS, upper_triangle

DPI: int = 120
"""Resolution of every PNG, dots per inch."""


def save_figure(fig: Figure, path: str | Path) -> Path:
    """Write ``fig`` as a PNG to ``path`` atomically (temporary file + ``os.replace``); returns the path."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    FigureCanvasAgg(fig)
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png", dpi=DPI)
    return path


def parity_plot(
    true: NDArray[np.floating], pred: NDArray[np.floating], quantity: str, unit: str, path: str | Path
) -> Path:
    """Predicted vs true values with the y = x line; the title gives the MAE.

    Args:
        true, pred: values of equal shape (any), in ``unit``.
        quantity: name for the title and axes, e.g. ``'B_V'``.
        unit: unit label, e.g. ``'GPa'``.
        path: PNG file to write.
    """
    t, p = np.ravel(true).astype(float), np.ravel(pred).astype(float)
    ok = np.isfinite(t) & np.isfinite(p)
    t, p = t[ok], p[ok]
    mae = float(np.abs(p - t).mean()) if t.size else float("nan")
    fig = Figure(figsize=(4.2, 4.2), layout="constrained")
    ax = fig.add_subplot()
    ax.scatter(t, p, s=6, alpha=0.5, linewidths=0)
    low, high = (float(min(t.min(), p.min())), float(max(t.max(), p.max()))) if t.size else (0.0, 1.0)
    ax.plot([low, high], [low, high], color="black", linewidth=0.8)
    ax.set_xlabel(f"true {quantity} ({unit})")
    ax.set_ylabel(f"predicted {quantity} ({unit})")
    ax.set_title(f"{quantity}: MAE = {mae:.3g} {unit} (n = {t.size})")
    ax.set_aspect("equal", adjustable="datalim")
    return save_figure(fig, path)


PARITY_FILES: dict[str, tuple[str, str]] = {
    "parity_sed.png": ("U_ij", "meV/atom"),
    "parity_cij.png": ("C_ij", "GPa"),
    "parity_bulk_voigt.png": ("B_V", "GPa"),
    "parity_shear_voigt.png": ("G_V", "GPa"),
}
"""File name -> (quantity, unit) of the parity plots written by :func:`parity_plots`."""


def parity_plots(data: EvaluationData, directory: str | Path) -> list[Path]:
    """Parity plots of U_ij and C_ij (all 21 components of every material), B_V and G_V (``PARITY_FILES``)."""
    directory = Path(directory)
    moduli_true, moduli_pred = voigt_moduli(data.elastic_true), voigt_moduli(data.elastic_pred)
    values = {
        "parity_sed.png": (upper_triangle(data.sed_true), upper_triangle(data.sed_pred)),
        "parity_cij.png": (upper_triangle(data.elastic_true), upper_triangle(data.elastic_pred)),
        "parity_bulk_voigt.png": (moduli_true["bulk_voigt"], moduli_pred["bulk_voigt"]),
        "parity_shear_voigt.png": (moduli_true["shear_voigt"], moduli_pred["shear_voigt"]),
    }
    return [parity_plot(*values[name], *PARITY_FILES[name], directory / name) for name in PARITY_FILES]


def distance_matrix_plot(
    truth: NDArray[np.floating], prediction: NDArray[np.floating], title: str, path: str | Path
) -> Path:
    """Fig. 4 panel pair: true (left) and predicted (right) 21x21 Canberra distances on one colour scale.

    Args:
        truth, prediction: shape (21, 21), dimensionless (see :mod:`stn_plugin.evaluation.distances`).
        title: figure title, e.g. ``'cubic (n = 40)'``.
        path: PNG file to write.
    """
    fig = Figure(figsize=(10.0, 4.8), layout="constrained")
    axes = fig.subplots(1, 2)
    norm = Normalize(0.0, max(float(np.max(truth)), float(np.max(prediction)), 1e-12))
    ticks = np.arange(len(VOIGT_LABELS))
    for ax, matrix, name in zip(axes, (truth, prediction), ("truth", "prediction"), strict=True):
        image = ax.imshow(matrix, cmap="viridis", norm=norm)
        ax.set_xticks(ticks, VOIGT_LABELS, rotation=90, fontsize=7)
        ax.set_yticks(ticks, VOIGT_LABELS, fontsize=7)
        ax.set_title(name)
    fig.colorbar(image, ax=list(axes), label="d(U_ij, U_kl)", shrink=0.8)
    fig.suptitle(title)
    return save_figure(fig, path)


def distance_matrix_plots(
    truth: Mapping[str, NDArray[np.floating]],
    prediction: Mapping[str, NDArray[np.floating]],
    counts: Mapping[str, int],
    directory: str | Path,
) -> list[Path]:
    """One :func:`distance_matrix_plot` per crystal system, written to ``distance_{system}.png``.

    Args:
        truth, prediction: crystal system -> (21, 21) distances (same keys).
        counts: crystal system -> number of materials (for the titles).
        directory: output folder.
    """
    directory = Path(directory)
    return [
        distance_matrix_plot(truth[s], prediction[s], f"{s} (n = {counts[s]})", directory / f"distance_{s}.png")
        for s in truth
    ]


def element_mae_plot(
    elements: Sequence[ElementErrors], overall_sed_mae: float, overall_cij_mae: float, path: str | Path
) -> Path:
    """Fig. 7: per-element MAE of U_ij (top) and C_ij (bottom), bars coloured by the elements' mean true B_V;
    each tick names the element and the number of materials containing it, the legend the bars and the dashed
    overall MAE.

    Args:
        elements: per-element errors (plotted in the given order).
        overall_sed_mae: MAE of U_ij over all materials, meV/atom (dashed line).
        overall_cij_mae: MAE of C_ij over all materials, GPa (dashed line).
        path: PNG file to write.
    """
    symbols = [e.element for e in elements]
    bulk = np.array([e.bulk_voigt_mean_gpa for e in elements])
    if not elements:
        raise ValueError("element_mae_plot needs at least one element.")
    norm = Normalize(float(bulk.min()), float(bulk.max()))
    fig = Figure(figsize=(max(6.0, 0.18 * len(symbols) + 1.5), 6.0), layout="constrained")
    axes = fig.subplots(2, 1, sharex=True)
    x = np.arange(len(symbols))
    panels = (
        ([e.sed_mae_mev for e in elements], overall_sed_mae, "MAE of U_ij (meV/atom)"),
        ([e.cij_mae_gpa for e in elements], overall_cij_mae, "MAE of C_ij (GPa)"),
    )
    cmap = colormaps["viridis"]
    for ax, (values, overall, label) in zip(axes, panels, strict=True):
        ax.bar(x, values, color=cmap(norm(bulk)), label="MAE over the materials containing the element")
        ax.axhline(overall, color="black", linestyle="--", linewidth=0.8, label="MAE over all materials")
        ax.set_ylabel(label)
    axes[0].legend(loc="upper right", fontsize=7)
    counts = [f"{e.element} ({e.n_materials})" for e in elements]
    axes[1].set_xticks(x, counts, rotation=90, fontsize=7)
    axes[1].set_xlabel("element (number of materials containing it)")
    fig.colorbar(ScalarMappable(norm=norm, cmap=cmap), ax=list(axes), label="mean true B_V (GPa)", shrink=0.8)
    return save_figure(fig, path)
