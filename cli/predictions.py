"""``stn models predict``: one result per input file, and its JSON, CSV and table renderings."""

from __future__ import annotations

import csv
import io
import json
import math
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rich.console import Console, Group
from rich.table import Table

from stn_plugin.io import StructureReadError, read_structure
from stn_plugin.physics.moduli import MODULI_KEYS
from stn_plugin.physics.voigt import VOIGT_LABELS, VOIGT_PAIRS

VOIGT_AXES = ("xx", "yy", "zz", "yz", "xz", "xy")

MODULI_UNITS: dict[str, str] = {key: "" if key == "poisson" else "GPa" for key in MODULI_KEYS}


@dataclass(frozen=True)
class FileResult:
    """Outcome for one input file: the prediction, or the error that stopped it.

    Attributes:
        file: the path as given on the command line.
        formula: reduced formula (None when the file could not be read).
        prediction: an ``ElasticPrediction`` (None on failure).
        error: the message shown to the user (None on success).
    """

    file: str
    formula: str | None
    prediction: Any
    error: str | None

    @property
    def ok(self) -> bool:
        return self.error is None

    def to_json(self) -> dict[str, Any]:
        """The JSON object of ``--format json`` (non-finite numbers become null; the ``*_std`` spreads of an
        ensemble's members are null for a single model)."""
        p = self.prediction
        return {
            "file": self.file,
            "ok": self.ok,
            "error": self.error,
            "formula": self.formula,
            "elastic_tensor": None if p is None else _finite(p.elastic_tensor.voigt.tolist()),
            "sed": None if p is None else _finite(p.sed.tolist()),
            "moduli": None if p is None else _finite({key: float(v) for key, v in p.moduli.items()}),
            "elastic_tensor_std": None
            if p is None or p.elastic_tensor_std is None
            else _finite(p.elastic_tensor_std.tolist()),
            "moduli_std": None if p is None or p.moduli_std is None else _finite(dict(p.moduli_std)),
        }


def _finite(value: Any) -> Any:
    """``value`` with NaN and infinities replaced by None (strict JSON)."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, list):
        return [_finite(v) for v in value]
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    return value


def predict_file(model: Any, file: str, symmetrize: bool, max_atoms: int, max_edges: int) -> FileResult:
    """Read ``file`` and predict it; any failure becomes the result's error (the batch goes on).

    Args:
        model: a loaded model of the family.
        file: the structure file.
        symmetrize: project C onto the crystal's point group.
        max_atoms: limit on the atoms of the cell the graphs are built on.
        max_edges: limit on the directed edges of one strained graph.
    """
    with warnings.catch_warnings():  # pymatgen warns for elements without electronegativity; the error says more
        warnings.filterwarnings("ignore", "No Pauling electronegativity", UserWarning)
        try:
            structure = read_structure(file)
        except StructureReadError as exc:
            return FileResult(file, None, None, str(exc))
        formula = structure.composition.reduced_formula
        try:
            prediction = model.predict_structure(structure, symmetrize, max_atoms=max_atoms, max_edges=max_edges)
        except Exception as exc:  # noqa: BLE001 - one bad structure must not stop the batch; the message says what
            return FileResult(file, formula, None, f"{file}: {type(exc).__name__}: {exc}")
    return FileResult(file, formula, prediction, None)


def render_json(results: Sequence[FileResult]) -> str:
    """A JSON list, one object per input file (see :meth:`FileResult.to_json`)."""
    return json.dumps([r.to_json() for r in results], indent=1, allow_nan=False) + "\n"


def render_csv(results: Sequence[FileResult]) -> str:
    """One row per input file: file, ok, error, formula, C_ij (GPa) and U_ij (meV/atom) of the 21 pairs, moduli,
    and the spread of the moduli over an ensemble's members (empty for a single model)."""
    header = [
        "file",
        "ok",
        "error",
        "formula",
        *(f"C{label}_gpa" for label in VOIGT_LABELS),
        *(f"U{label}_mev_per_atom" for label in VOIGT_LABELS),
        *(f"{key}_gpa" if MODULI_UNITS[key] else key for key in MODULI_KEYS),
        *(f"{key}_std_gpa" if MODULI_UNITS[key] else f"{key}_std" for key in MODULI_KEYS),
    ]
    stream = io.StringIO()
    writer = csv.writer(stream, lineterminator="\n")
    writer.writerow(header)
    for r in results:
        row: list[Any] = [r.file, r.ok, r.error or "", r.formula or ""]
        if r.prediction is None:
            row += [""] * (len(header) - len(row))
        else:
            c, u = r.prediction.elastic_tensor.voigt, r.prediction.sed
            row += [f"{c[i, j]:.6g}" for i, j in VOIGT_PAIRS] + [f"{u[i, j]:.6g}" for i, j in VOIGT_PAIRS]
            row += [f"{float(r.prediction.moduli[key]):.6g}" for key in MODULI_KEYS]
            spread = r.prediction.moduli_std
            row += [""] * len(MODULI_KEYS) if spread is None else [f"{float(spread[key]):.6g}" for key in MODULI_KEYS]
        writer.writerow(row)
    return stream.getvalue()


def result_tables(result: FileResult) -> Group:
    """Rich tables of one successful result: C (GPa, Voigt order) and the moduli (with the members' spread for an
    ensemble)."""
    p = result.prediction
    title = f"{result.file} ({result.formula}){' symmetrized' if p.symmetrized else ''}"
    tensor = Table(title=f"{title}: elastic tensor C (GPa)", title_justify="left")
    tensor.add_column("")
    for axis in VOIGT_AXES:
        tensor.add_column(axis, justify="right")
    for axis, row in zip(VOIGT_AXES, p.elastic_tensor.voigt, strict=True):
        tensor.add_row(axis, *(f"{value:.1f}" for value in row))
    moduli = Table(title="moduli", title_justify="left")
    spread = p.moduli_std
    columns = [
        ("modulus", "left"),
        ("value", "right"),
        *([("members' std", "right")] if spread else []),
        ("unit", "left"),
    ]
    for column, justify in columns:
        moduli.add_column(column, justify=justify)  # type: ignore[arg-type]
    for key in MODULI_KEYS:
        digits = 3 if key == "poisson" else 1
        values = [float(p.moduli[key]), *([float(spread[key])] if spread else [])]
        moduli.add_row(key, *(f"{value:.{digits}f}" for value in values), MODULI_UNITS[key])
    return Group(tensor, moduli)


def render_table_text(results: Sequence[FileResult]) -> str:
    """The tables of the successful results as plain text (for ``--format table --output FILE``)."""
    console = Console(file=io.StringIO(), width=100, record=True, color_system=None)
    for r in results:
        if r.ok:
            console.print(result_tables(r))
    return console.export_text()


def summary_line(results: Sequence[FileResult]) -> str:
    """'N ok, M failed'."""
    n_ok = sum(r.ok for r in results)
    return f"{n_ok} ok, {len(results) - n_ok} failed"


def infer_format(output: Path | None) -> str:
    """The output format implied by ``output``'s suffix ('json', 'csv'), else 'table'."""
    suffix = output.suffix.lower() if output is not None else ""
    return {".json": "json", ".csv": "csv"}.get(suffix, "table")
