"""Per-material table of an evaluation: truth, prediction and error of every material, to trace outliers.

One CSV row per evaluated material (input order): ``material_id``, ``formula``, ``crystal_system``, for each of
B_V, G_V, Young's modulus (GPa, App. B) and Poisson's ratio the columns ``<name>_true``, ``<name>_pred`` and
``<name>_error`` (prediction - truth), then the material's MAE over its 21 C_ij (GPa) and U_ij (meV/atom),
the Born stability verdict of the predicted C and its smallest eigenvalue (GPa).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from stn_plugin.evaluation.data import EvaluationData
from stn_plugin.evaluation.metrics import voigt_moduli
from stn_plugin.io import atomic_write_text
from stn_plugin.physics.stability import born_stability
from stn_plugin.physics.voigt import upper_triangle

MODULI_COLUMNS: dict[str, str] = {"bulk_voigt": "_gpa", "shear_voigt": "_gpa", "young": "_gpa", "poisson": ""}
"""Moduli of the table and the unit suffix of their columns."""


def per_material_csv(material_ids: Sequence[str], formulas: Sequence[str], data: EvaluationData) -> str:
    """The CSV text described in the module docstring.

    Args:
        material_ids, formulas: one per material of ``data``, same order.
        data: true and predicted tensors of the evaluated materials.
    """
    if not len(material_ids) == len(formulas) == data.n_materials:
        raise ValueError(f"{len(material_ids)} ids and {len(formulas)} formulas for {data.n_materials} materials.")
    true, pred = voigt_moduli(data.elastic_true), voigt_moduli(data.elastic_pred)
    cij_mae = np.abs(upper_triangle(data.elastic_pred) - upper_triangle(data.elastic_true)).mean(axis=1)
    sed_mae = np.abs(upper_triangle(data.sed_pred) - upper_triangle(data.sed_true)).mean(axis=1)
    header = ["material_id", "formula", "crystal_system"]
    for name, unit in MODULI_COLUMNS.items():
        header += [f"{name}_true{unit}", f"{name}_pred{unit}", f"{name}_error{unit}"]
    header += ["cij_mae_gpa", "sed_mae_mev_per_atom", "predicted_stability", "predicted_min_eigenvalue_gpa"]
    stream = io.StringIO()
    writer = csv.writer(stream, lineterminator="\n")
    writer.writerow(header)
    for k, (material_id, formula) in enumerate(zip(material_ids, formulas, strict=True)):
        row: list[str] = [material_id, formula, data.crystal_systems[k]]
        for key in MODULI_COLUMNS:
            t, p = float(true[key][k]), float(pred[key][k])
            row += [f"{t:.6g}", f"{p:.6g}", f"{p - t:.6g}"]
        stability = born_stability(data.elastic_pred[k])
        row += [f"{cij_mae[k]:.6g}", f"{sed_mae[k]:.6g}", stability.verdict, f"{stability.min_eigenvalue:.6g}"]
        writer.writerow(row)
    return stream.getvalue()


def write_per_material_csv(
    material_ids: Sequence[str], formulas: Sequence[str], data: EvaluationData, path: str | Path
) -> Path:
    """Write :func:`per_material_csv` to ``path`` atomically; returns the path."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_text(per_material_csv(material_ids, formulas, data), path)
    return path
