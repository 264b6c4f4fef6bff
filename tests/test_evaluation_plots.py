"""Evaluation figures and the report directory."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from stn_plugin.evaluation import EvaluationData, canberra_distance_matrix, evaluate, write_report
from stn_plugin.evaluation.plots import PARITY_FILES, distance_matrix_plot, element_mae_plot, parity_plots

from .test_evaluation_metrics import cubic

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def small_data() -> EvaluationData:
    rng = np.random.default_rng(1)
    true = np.stack([cubic(100, 50, 30), cubic(200, 100, 50), cubic(150, 60, 40), cubic(120, 40, 20)])
    noise = rng.normal(scale=3.0, size=true.shape)
    pred = true + 0.5 * (noise + noise.transpose(0, 2, 1))
    return EvaluationData.from_elastic(
        true, pred, [10.0, 12.0, 14.0, 9.0], ["cubic", "cubic", "hexagonal", "monoclinic"], ["NaCl", "MgO", "Mg", "ZnS"]
    )


def assert_png(path: Path) -> None:
    assert path.is_file() and path.stat().st_size > 1000
    assert path.read_bytes()[:8] == PNG_SIGNATURE


def test_parity_distance_and_element_plots(tmp_path: Path) -> None:
    data = small_data()
    written = parity_plots(data, tmp_path)
    assert [p.name for p in written] == list(PARITY_FILES)
    d = canberra_distance_matrix(data.sed_true)
    written.append(distance_matrix_plot(d, canberra_distance_matrix(data.sed_pred), "all", tmp_path / "d.png"))
    metrics = evaluate(data)
    written.append(element_mae_plot(metrics.elements, 1.0, 2.0, tmp_path / "e.png"))
    for path in written:
        assert_png(path)
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(p.name for p in written)  # no temporary files left


def test_report_directory(tmp_path: Path) -> None:
    data = small_data()
    metrics = write_report(data, tmp_path / "report")
    names = {p.name for p in (tmp_path / "report").iterdir()}
    assert names == {
        "metrics.json",
        "metrics.md",
        "parity_sed.png",
        "parity_cij.png",
        "parity_bulk_voigt.png",
        "parity_shear_voigt.png",
        "distance_cubic.png",
        "distance_hexagonal.png",
        "distance_monoclinic.png",
        "element_mae.png",
    }
    for name in names - {"metrics.json", "metrics.md"}:
        assert_png(tmp_path / "report" / name)
    saved = json.loads((tmp_path / "report" / "metrics.json").read_text())
    assert saved["overall"]["cij_mae_gpa"] == pytest.approx(metrics.overall.cij_mae_gpa)
    assert (tmp_path / "report" / "metrics.md").read_text() == metrics.to_markdown()
