"""`stn models predict`: units, model identity, Born stability, derived properties and --plots (issue 15)."""

from __future__ import annotations

import csv
import io
import json
import re

import numpy as np
import pytest
import torch
from matplotlib.image import imread
from pymatgen.analysis.elasticity import ElasticTensor
from typer.testing import CliRunner

from stn_plugin.cli.main import app
from stn_plugin.physics.moduli import elastic_moduli
from stn_plugin.predictor.prediction import ElasticPrediction
from tests.test_cli_helpers import EXAMPLE_FILES, save_tiny_model

torch.set_num_threads(1)

runner = CliRunner(env={"COLUMNS": "200"})


@pytest.fixture(scope="module")
def tiny_model(tmp_path_factory):
    return str(save_tiny_model(tmp_path_factory.mktemp("model") / "tiny"))


class FixedModel:
    """Stands in for a loaded model: predicts the same C (GPa) for every structure."""

    def __init__(self, C: np.ndarray) -> None:
        self.C = C

    def predict_structure(self, structure, symmetrize=True, **options) -> ElasticPrediction:
        return ElasticPrediction(
            sed=np.zeros((6, 6)),
            elastic_tensor=ElasticTensor.from_voigt(self.C),
            moduli=elastic_moduli(self.C).as_mapping(),
            dcv=None,
            strain=0.02,
            symmetrized=symmetrize,
            structure=structure,
        )

    def predict_structures(self, structures, symmetrize=True, progress=None, **options) -> list[ElasticPrediction]:
        return [self.predict_structure(structure, symmetrize) for structure in structures]


def fixed_model(monkeypatch, C: np.ndarray) -> None:
    import stn_plugin

    monkeypatch.setattr(stn_plugin, "load", lambda name: FixedModel(C))


def test_json_carries_units_model_symmetrization_stability_and_derived(tiny_model):
    result = runner.invoke(app, ["models", "predict", tiny_model, EXAMPLE_FILES[1], "-f", "json"])
    assert result.exit_code == 0, result.output
    row = json.loads(result.stdout)[0]
    assert row["model"]["name"] == tiny_model and row["model"]["version"].startswith("sha256:")
    assert row["symmetrized"] is True
    assert row["units"]["elastic_tensor"] == "GPa" and row["units"]["sed"] == "meV/atom"
    assert row["units"]["moduli"]["bulk_voigt"] == "GPa" and row["units"]["acoustic"]["debye_temperature"] == "K"
    stability = row["stability"]
    assert stability["verdict"] in {"stable", "unstable", "singular"} and len(stability["eigenvalues_gpa"]) == 6
    assert stability["min_eigenvalue_gpa"] == pytest.approx(min(np.linalg.eigvalsh(row["elastic_tensor"])))
    assert (stability["reason"] is None) == (stability["verdict"] == "stable")
    if stability["verdict"] != "singular":
        assert set(row["directional"]) == {"youngs_modulus", "linear_compressibility", "shear_modulus", "poisson_ratio"}
    assert set(row["acoustic"]) >= {"longitudinal_sound_velocity", "debye_temperature", "cahill_thermal_conductivity"}


def test_stable_crystal_gets_pymatgen_properties_in_json_and_csv(monkeypatch, tmp_path):
    C = np.zeros((6, 6))
    C[:3, :3] = 12.6
    np.fill_diagonal(C, [49.0] * 3 + [12.7] * 3)  # NaCl, GPa
    fixed_model(monkeypatch, C)
    out = tmp_path / "pred.csv"
    result = runner.invoke(app, ["models", "predict", "stn-mp-2023", EXAMPLE_FILES[1], "-o", str(out)])
    assert result.exit_code == 0, result.output
    assert "Warning" not in result.stderr and "1 ok, 0 failed" in result.stderr
    row = next(csv.DictReader(io.StringIO(out.read_text())))
    assert row["model"] == "stn-mp-2023" and "sha256:" in row["model_version"] and row["symmetrized"] == "True"
    assert row["stability"] == "stable" and float(row["min_eigenvalue_gpa"]) == pytest.approx(12.7, rel=1e-6)
    assert 250 < float(row["debye_temperature_k"]) < 350  # NaCl: 321 K
    assert float(row["longitudinal_sound_velocity_m_per_s"]) > float(row["transverse_sound_velocity_m_per_s"])
    assert float(row["youngs_modulus_max_gpa"]) >= float(row["youngs_modulus_min_gpa"]) > 0
    assert len(row["youngs_modulus_max_direction"].split()) == 3


def test_unstable_prediction_gets_a_warning_line_and_the_failing_condition(monkeypatch, tmp_path):
    C = np.zeros((6, 6))
    C[:3, :3] = 30.0
    np.fill_diagonal(C, [25.0] * 3 + [10.0] * 3)  # C11 < C12
    fixed_model(monkeypatch, C)
    result = runner.invoke(app, ["models", "predict", "stn-mp-2023", EXAMPLE_FILES[1]])
    assert result.exit_code == 0, result.output
    assert "Warning:" in result.stderr and "mechanically unstable prediction" in result.stderr
    assert "lambda_1 = -5 GPa <= 0" in result.stderr
    assert "1 ok, 0 failed; 1 mechanically unstable" in result.stderr
    assert re.search(r"Born stability +│ unstable", result.stdout)
    out = tmp_path / "pred.json"
    runner.invoke(app, ["models", "predict", "stn-mp-2023", EXAMPLE_FILES[1], "-o", str(out)])
    row = json.loads(out.read_text())[0]
    assert row["stability"]["stable"] is False and row["acoustic"]["debye_temperature"] is None
    assert "Born criterion fails" in row["acoustic"]["reason"]


def test_singular_prediction_shows_the_reason_instead_of_nan(monkeypatch, tmp_path):
    C = np.zeros((6, 6))
    C[:3, :3] = 20.0  # B = 20 GPa, no shear stiffness at all
    fixed_model(monkeypatch, C)
    result = runner.invoke(app, ["models", "predict", "stn-mp-2023", EXAMPLE_FILES[1], "--plots", str(tmp_path)])
    assert result.exit_code == 0, result.output
    assert "nan" not in result.stdout and "undefined (C singular)" in result.stdout
    assert "C is singular" in result.stderr and "no plot for" in result.stderr and "singular" in result.stderr
    assert not list(tmp_path.iterdir())


def test_plots_are_written_per_crystal_and_not_blank(monkeypatch, tmp_path):
    C = np.zeros((6, 6))
    C[:3, :3] = 63.9
    np.fill_diagonal(C, [165.7] * 3 + [79.6] * 3)  # Si
    fixed_model(monkeypatch, C)
    plots = tmp_path / "plots"
    result = runner.invoke(app, ["models", "predict", "stn-mp-2023", EXAMPLE_FILES[0], "--plots", str(plots)])
    assert result.exit_code == 0, result.output
    files = sorted(path.name for path in plots.iterdir())
    assert files == ["Si_cif_youngs_2d.png", "Si_cif_youngs_3d.png"]
    for name in files:
        image = imread(plots / name)
        assert image.shape[0] > 300 and image.shape[1] > 400
        assert image[..., :3].std() > 0.05  # drawn, not a blank canvas
        assert len(np.unique(image[..., :3].reshape(-1, 3), axis=0)) > 100


def test_evaluate_report_has_a_per_material_csv_and_a_labelled_element_plot(tiny_model, tmp_path):
    from stn_plugin.data import load_jsonl
    from tests.test_cli_helpers import write_five_materials

    data = write_five_materials(tmp_path / "five.jsonl")
    report = tmp_path / "report"
    result = runner.invoke(app, ["models", "evaluate", tiny_model, "--data", str(data), "--report", str(report)])
    assert result.exit_code == 0, result.output
    assert "per_material.csv" in result.stderr
    rows = list(csv.DictReader(io.StringIO((report / "per_material.csv").read_text())))
    records = load_jsonl(data)
    assert [r["material_id"] for r in rows] == [r.material_id for r in records]
    assert [r["formula"] for r in rows] == [r.structure.composition.reduced_formula for r in records]
    for row, record in zip(rows, records, strict=True):
        C = record.elastic_tensor
        assert float(row["bulk_voigt_true_gpa"]) == pytest.approx((C[:3, :3].sum()) / 9, rel=1e-5)
        error = float(row["bulk_voigt_pred_gpa"]) - float(row["bulk_voigt_true_gpa"])
        assert float(row["bulk_voigt_error_gpa"]) == pytest.approx(error, rel=1e-4, abs=1e-4)
        assert float(row["cij_mae_gpa"]) >= 0 and row["predicted_stability"] in {"stable", "unstable", "singular"}
        assert {"poisson_true", "young_pred_gpa", "sed_mae_mev_per_atom"} <= set(row)
    image = imread(report / "element_mae.png")
    assert image[..., :3].std() > 0.05


def test_element_plot_has_x_label_legend_and_counts(tmp_path, monkeypatch):
    import stn_plugin.evaluation.plots as plots
    from stn_plugin.evaluation.metrics import ElementErrors

    elements = [
        ElementErrors(element=s, n_materials=n, sed_mae_mev=1.0 + n, cij_mae_gpa=2.0 * n, bulk_voigt_mean_gpa=50.0 * n,
                      shear_voigt_mean_gpa=20.0)
        for s, n in (("Si", 3), ("O", 7))
    ]  # fmt: skip
    figures = []
    save = plots.save_figure
    monkeypatch.setattr(plots, "save_figure", lambda fig, path: figures.append(fig) or save(fig, path))
    path = plots.element_mae_plot(elements, 2.0, 5.0, tmp_path / "element_mae.png")
    assert path.stat().st_size > 10_000
    top, bottom = figures[0].axes[:2]
    assert bottom.get_xlabel() == "element (number of materials containing it)"
    assert [t.get_text() for t in bottom.get_xticklabels()] == ["Si (3)", "O (7)"]
    assert {t.get_text() for t in top.get_legend().get_texts()} == {
        "MAE over the materials containing the element",
        "MAE over all materials",
    }
