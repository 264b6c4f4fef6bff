"""``stn models predict``: one result per input file, and its JSON, CSV and table renderings."""

from __future__ import annotations

import csv
import io
import json
import math
import os
import tempfile
import time
import warnings
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pymatgen.core import Structure
from rich.console import Console, Group
from rich.table import Table
from rich.text import Text

from stn_plugin.cli.common import printable
from stn_plugin.io import StructureReadError, atomic_write_text, read_structure
from stn_plugin.physics.acoustics import ACOUSTIC_UNITS
from stn_plugin.physics.directional import PROPERTY_UNITS
from stn_plugin.physics.moduli import MODULI_KEYS
from stn_plugin.physics.voigt import VOIGT_LABELS, VOIGT_PAIRS
from stn_plugin.structure.checks import SUPERCELL_FACTOR

VOIGT_AXES = ("xx", "yy", "zz", "yz", "xz", "xy")

MODULI_UNITS: dict[str, str] = {key: "" if key == "poisson" else "GPa" for key in MODULI_KEYS}

UNITS: dict[str, Any] = {
    "elastic_tensor": "GPa",
    "elastic_tensor_std": "GPa",
    "sed": "meV/atom",
    "moduli": MODULI_UNITS,
    "moduli_std": MODULI_UNITS,
    "stability": {"min_eigenvalue_gpa": "GPa", "eigenvalues_gpa": "GPa"},
    "directional": {**PROPERTY_UNITS, "directions": "Cartesian unit vectors, frame of the input structure"},
    "acoustic": ACOUSTIC_UNITS,
}
"""Units of the fields of a ``--format json`` record (its ``units`` key); CSV column names carry them."""

DIRECTIONAL_COLUMNS: dict[str, str] = {
    "youngs_modulus": "youngs_modulus_{}_gpa",
    "linear_compressibility": "linear_compressibility_{}_per_tpa",
    "shear_modulus": "shear_modulus_{}_gpa",
    "poisson_ratio": "poisson_ratio_{}",
}
"""CSV columns of the directional extremes (``{}`` = min, max)."""

ACOUSTIC_COLUMNS: dict[str, str] = {
    "longitudinal_sound_velocity": "longitudinal_sound_velocity_m_per_s",
    "transverse_sound_velocity": "transverse_sound_velocity_m_per_s",
    "debye_temperature": "debye_temperature_k",
    "clarke_thermal_conductivity": "clarke_thermal_conductivity_w_per_m_k",
    "cahill_thermal_conductivity": "cahill_thermal_conductivity_w_per_m_k",
    "universal_anisotropy": "universal_anisotropy",
}
"""CSV columns of the pymatgen-derived properties (units in the names)."""


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

    def to_json(self, model_info: Mapping[str, str] | None = None) -> dict[str, Any]:
        """The JSON object of ``--format json`` (non-finite numbers become null; the ``*_std`` spreads of an
        ensemble's members are null for a single model). ``model_info``: the model's name and version, written
        as ``model``; ``units`` gives the unit of every numeric field."""
        p = self.prediction
        extrema = None if p is None else p.directional_extrema
        return {
            "file": self.file,
            "ok": self.ok,
            "error": self.error,
            "formula": self.formula,
            "model": dict(model_info) if model_info else None,
            "symmetrized": None if p is None else p.symmetrized,
            "units": UNITS,
            "stability": None if p is None else _finite(p.stability.as_dict()),
            "elastic_tensor": None if p is None else _finite(p.elastic_tensor.voigt.tolist()),
            "sed": None if p is None else _finite(p.sed.tolist()),
            "moduli": None if p is None else _finite({key: float(v) for key, v in p.moduli.items()}),
            "elastic_tensor_std": None
            if p is None or p.elastic_tensor_std is None
            else _finite(p.elastic_tensor_std.tolist()),
            "moduli_std": None if p is None or p.moduli_std is None else _finite(dict(p.moduli_std)),
            "directional": None if extrema is None else _finite({k: e.as_dict() for k, e in extrema.items()}),
            "acoustic": None if p is None else _finite(p.acoustic_properties().as_dict()),
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


def predict_files(
    model: Any,
    files: Sequence[str],
    symmetrize: bool,
    max_atoms: int,
    max_edges: int,
    progress: Callable[[int], None] | None = None,
    threads: int = 1,
) -> list[FileResult]:
    """Read every file, then predict all readable structures together (``predict_structures(..., errors="skip")``:
    graphs of several files share forward passes); one result per file, in the order given.

    A file that cannot be read, or whose structure the model refuses, gets its error; the others are predicted.

    Args:
        model: a loaded model of the family.
        files: the structure files.
        symmetrize: project C onto the crystal's point group.
        max_atoms: limit on the atoms of the cell the graphs are built on.
        max_edges: limit on the directed edges of one strained graph.
        progress: called with the number of structures predicted so far.
        threads: torch threads of the prediction.
    """
    results: list[FileResult | None] = [None] * len(files)
    readable: list[tuple[int, Structure]] = []
    with warnings.catch_warnings():  # pymatgen warns for elements without electronegativity; the error says more
        warnings.filterwarnings("ignore", "No Pauling electronegativity", UserWarning)
        for position, file in enumerate(files):
            try:
                readable.append((position, read_structure(file, max_atoms=SUPERCELL_FACTOR * max_atoms)))
            except StructureReadError as exc:
                results[position] = FileResult(printable(file), None, None, printable(str(exc)))
        structures = [structure for _, structure in readable]
        unreadable = len(files) - len(structures)
        done = None if progress is None else (lambda n: progress(unreadable + n))
        limits = {"max_atoms": max_atoms, "max_edges": max_edges, "threads": threads}
        try:
            outcomes = model.predict_structures(structures, symmetrize, errors="skip", progress=done, **limits)
        except Exception:  # noqa: BLE001 - not an input error: predict one by one so that it names its file
            outcomes = []
            for structure in structures:
                try:
                    outcomes.append(model.predict_structure(structure, symmetrize, **limits))
                except Exception as exc:  # noqa: BLE001 - one bad structure must not stop the batch
                    outcomes.append(exc)
    for (position, structure), outcome in zip(readable, outcomes, strict=True):
        file = printable(files[position])
        formula = structure.composition.reduced_formula
        if isinstance(outcome, Exception):
            results[position] = FileResult(
                file, formula, None, printable(f"{files[position]}: {type(outcome).__name__}: {outcome}")
            )
        else:
            results[position] = FileResult(file, formula, outcome, None)
    return [result for result in results if result is not None]


def output_overwrites_input(output: Path, inputs: Sequence[str]) -> str | None:
    """The message refusing ``output`` when it is one of the input files (the same file under another name or
    through a link included), else None."""
    for file in inputs:
        try:
            same = os.path.samefile(output, file)
        except OSError:  # either does not exist or cannot be reached: not the same existing file
            same = False
        if same:
            return f"--output {output} is also an input file; it would be overwritten. Choose another --output."
    return None


def write_output(text: str, output: Path) -> tuple[Path, str | None]:
    """Write ``text`` to ``output`` atomically; if that fails (e.g. the folder became read-only after the check),
    to ``stn-predictions-<time>.<suffix>`` in the working folder, else in the temporary folder, so no result is
    lost. Returns the path written and the message of the failure (None when ``output`` was written)."""
    try:
        return atomic_write_text(text, output), None
    except OSError as exc:
        problem = f"could not write --output {output} ({type(exc).__name__}: {exc.strerror or exc})"
    name = f"stn-predictions-{time.strftime('%Y%m%dT%H%M%S')}{output.suffix}"
    for folder in (Path.cwd(), Path(tempfile.gettempdir())):
        try:
            return atomic_write_text(text, folder / name), f"{problem}; the results are in {folder / name} instead."
        except OSError:
            continue
    raise OSError(f"{problem}, nor to {name} in the working or the temporary folder.")


def render_json(results: Sequence[FileResult], model_info: Mapping[str, str] | None = None) -> str:
    """A JSON list, one object per input file (see :meth:`FileResult.to_json`)."""
    return json.dumps([r.to_json(model_info) for r in results], indent=1, allow_nan=False) + "\n"


def _vector(v: Any, digits: int = 4) -> str:
    """A direction as ``"x y z"`` (CSV or table cell)."""
    return " ".join(f"{round(float(c), digits) + 0.0:.{digits}f}" for c in v)


def _cell(value: float | None) -> str:
    """A CSV number (empty for None or non-finite)."""
    return "" if value is None or not math.isfinite(value) else f"{value:.6g}"


def render_csv(results: Sequence[FileResult], model_info: Mapping[str, str] | None = None) -> str:
    """One row per input file: file, ok, error, formula, the model's name and version, whether C was symmetrized,
    the Born stability verdict (smallest eigenvalue, reason), C_ij (GPa) and U_ij (meV/atom) of the 21 pairs,
    moduli, the spread of the moduli over an ensemble's members (empty for a single model), the min/max of the
    directional moduli with their directions, and the pymatgen-derived acoustic properties. Units are in the
    column names."""
    extreme_columns = [
        column
        for name, template in DIRECTIONAL_COLUMNS.items()
        for end in ("min", "max")
        for column in (template.format(end), f"{name}_{end}_direction")
    ]
    header = [
        "file",
        "ok",
        "error",
        "formula",
        "model",
        "model_version",
        "symmetrized",
        "stability",
        "min_eigenvalue_gpa",
        "stability_reason",
        *(f"C{label}_gpa" for label in VOIGT_LABELS),
        *(f"U{label}_mev_per_atom" for label in VOIGT_LABELS),
        *(f"{key}_gpa" if MODULI_UNITS[key] else key for key in MODULI_KEYS),
        *(f"{key}_std_gpa" if MODULI_UNITS[key] else f"{key}_std" for key in MODULI_KEYS),
        *extreme_columns,
        *ACOUSTIC_COLUMNS.values(),
    ]
    info = model_info or {}
    stream = io.StringIO()
    writer = csv.writer(stream, lineterminator="\n")
    writer.writerow(header)
    for r in results:
        row: list[Any] = [r.file, r.ok, r.error or "", r.formula or "", info.get("name", ""), info.get("version", "")]
        p = r.prediction
        if p is None:
            row += [""] * (len(header) - len(row))
        else:
            c, u = p.elastic_tensor.voigt, p.sed
            row += [p.symmetrized, p.stability.verdict, _cell(p.stability.min_eigenvalue), p.stability.reason or ""]
            row += [f"{c[i, j]:.6g}" for i, j in VOIGT_PAIRS] + [f"{u[i, j]:.6g}" for i, j in VOIGT_PAIRS]
            row += [_cell(float(p.moduli[key])) for key in MODULI_KEYS]
            spread = p.moduli_std
            row += [""] * len(MODULI_KEYS) if spread is None else [_cell(float(spread[key])) for key in MODULI_KEYS]
            extrema = p.directional_extrema
            for name in DIRECTIONAL_COLUMNS:
                e = None if extrema is None else extrema[name]
                row += (
                    ["", ""] * 2
                    if e is None
                    else [_cell(e.minimum), _vector(e.min_direction), _cell(e.maximum), _vector(e.max_direction)]
                )
            acoustic = p.acoustic_properties()
            row += [_cell(getattr(acoustic, name)) for name in ACOUSTIC_COLUMNS]
        writer.writerow(row)
    return stream.getvalue()


def _number(value: float | None, digits: int) -> str:
    """A table cell: the value, or why it is missing."""
    if value is None:
        return "n/a"
    return f"{value:.{digits}f}" if math.isfinite(value) else "undefined (C singular)"


def stability_line(result: FileResult) -> str | None:
    """The warning printed for a mechanically unstable (or singular) prediction; None when stable."""
    p = result.prediction
    if p is None or p.stability.stable:
        return None
    return f"{result.file} ({result.formula}): mechanically {p.stability.verdict} prediction. {p.stability.reason}"


def result_tables(result: FileResult, model_info: Mapping[str, str] | None = None) -> Group:
    """Rich tables of one successful result: C (GPa, Voigt order), the moduli (with the members' spread for an
    ensemble) and the Born stability verdict, the directional extremes (ELATE style) and the acoustic
    properties."""
    p = result.prediction
    title = f"{result.file} ({result.formula}){' symmetrized' if p.symmetrized else ' not symmetrized'}"
    tensor = Table(title=f"{title}: elastic tensor C (GPa)", title_justify="left")
    tensor.add_column("")
    for axis in VOIGT_AXES:
        tensor.add_column(axis, justify="right")
    for axis, row in zip(VOIGT_AXES, p.elastic_tensor.voigt, strict=True):
        tensor.add_row(axis, *(f"{value:.1f}" for value in row))
    stability = p.stability
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
        moduli.add_row(key, *(_number(value, digits) for value in values), MODULI_UNITS[key])
    blank = [""] if spread else []
    moduli.add_row("Born stability", stability.verdict, *blank, "")
    moduli.add_row("min eigenvalue of C", f"{stability.min_eigenvalue:.1f}", *blank, "GPa")
    tables: list[Table | Text] = [tensor, moduli]
    if model_info:
        tables.insert(0, Text(f"model {model_info['name']} ({model_info.get('version', '')})"))
    extrema = p.directional_extrema
    if extrema is not None:
        directional = Table(title="directional extremes (ELATE)", title_justify="left")
        for column in ("property", "min", "direction of min", "max", "direction of max", "unit"):
            directional.add_column(column, justify="right" if column in ("min", "max") else "left")
        for name, e in extrema.items():
            digits = 3 if name == "poisson_ratio" else 1
            directional.add_row(
                name, f"{e.minimum:.{digits}f}", _vector(e.min_direction, 2), f"{e.maximum:.{digits}f}",
                _vector(e.max_direction, 2), PROPERTY_UNITS[name],
            )  # fmt: skip
        tables.append(directional)
    acoustic = p.acoustic_properties()
    derived = Table(title="derived (pymatgen ElasticTensor)", title_justify="left")
    for column, justify in (("property", "left"), ("value", "right"), ("unit", "left")):
        derived.add_column(column, justify=justify)  # type: ignore[arg-type]
    for name, unit in ACOUSTIC_UNITS.items():
        derived.add_row(
            name, _number(getattr(acoustic, name), 1 if name.endswith(("velocity", "temperature")) else 3), unit
        )
    tables.append(derived)
    return Group(*tables)


def render_table_text(results: Sequence[FileResult], model_info: Mapping[str, str] | None = None) -> str:
    """The tables of the successful results as plain text (for ``--format table --output FILE``)."""
    console = Console(file=io.StringIO(), width=100, record=True, color_system=None)
    for r in results:
        if r.ok:
            console.print(result_tables(r, model_info))
    return console.export_text()


def summary_line(results: Sequence[FileResult]) -> str:
    """'N ok, M failed', followed by '; K mechanically unstable' when any prediction fails the Born criterion."""
    n_ok = sum(r.ok for r in results)
    n_unstable = sum(r.ok and not r.prediction.stability.stable for r in results)
    line = f"{n_ok} ok, {len(results) - n_ok} failed"
    return line + (f"; {n_unstable} mechanically unstable (see the warnings)" if n_unstable else "")


def infer_format(output: Path | None) -> str:
    """The output format implied by ``output``'s suffix ('json', 'csv'), else 'table'."""
    suffix = output.suffix.lower() if output is not None else ""
    return {".json": "json", ".csv": "csv"}.get(suffix, "table")
