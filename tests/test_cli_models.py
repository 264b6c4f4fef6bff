"""`stn models list|info|predict|evaluate|ensemble` through Typer's CliRunner (exit codes, outputs, files)."""

from __future__ import annotations

import csv
import io
import json
import re
import shutil
import subprocess

import numpy as np
import pytest
import torch
from pymatgen.core import Lattice, Structure
from typer.testing import CliRunner

from stn_plugin.cli.main import app
from tests.test_cli_helpers import EXAMPLE_FILES, EXAMPLE_FORMULAS, save_tiny_model, write_five_materials

torch.set_num_threads(1)

runner = CliRunner(env={"COLUMNS": "200"})  # wide enough that rich does not wrap table cells


@pytest.fixture(scope="module")
def tiny_model(tmp_path_factory):
    return str(save_tiny_model(tmp_path_factory.mktemp("model") / "tiny"))


@pytest.fixture()
def bad_files(tmp_path):
    """An unparseable CIF, an empty file, and a crystal whose element has no atomic features (fails in the model)."""
    (tmp_path / "broken.cif").write_text("data_x\n_cell_length_a 3\n")
    (tmp_path / "empty.vasp").write_text("")
    oganesson = Structure(Lattice.cubic(5.0), ["Og"], [[0, 0, 0]])
    (tmp_path / "og.json").write_text(json.dumps(oganesson.as_dict()))
    return [str(tmp_path / name) for name in ("broken.cif", "empty.vasp", "og.json")]


def test_list_has_one_short_line_per_model():
    from stn_plugin.registry import load_registry

    registry = load_registry()
    result = runner.invoke(app, ["models", "list"], env={"COLUMNS": "80"})
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert all(len(line) <= 100 for line in lines), max(lines, key=len)
    names = [*registry.pretrained, *registry.architectures]
    assert len(lines) == len(names) + 3  # two headings and the column names of the pretrained models
    for name in names:
        assert sum(line.split()[0] == name for line in lines) == 1, name
    default = next(line for line in lines if line.split()[0] == "stn-mp-2023")
    entry = registry.pretrained["stn-mp-2023"]
    mae, crystals = entry.test_metrics["cij_mae_gpa"], entry.training_crystals()
    assert default.split()[1:6] == [
        str(entry.members),
        f"{crystals:,}",
        f"{mae:.1f}",
        "GPa",
        f"{entry.ms_per_crystal:.0f}",
    ]
    assert entry.members == 2 and crystals is not None and crystals > 1000
    assert default.endswith(entry.use_when)


def test_list_cuts_a_long_registry_text_to_the_line_width():
    from stn_plugin.cli.models import list_lines
    from stn_plugin.registry import Registry, load_registry

    wordy = load_registry().model_dump(by_alias=True)
    wordy["architectures"]["fig6a"]["description"] = "a very long description " * 10
    lines = list_lines(Registry.model_validate(wordy))
    fig6a = next(line for line in lines if line.startswith("fig6a"))
    assert len(fig6a) == 100 and fig6a.endswith("\u2026")


def test_info_architecture_shows_reference_and_default_config():
    result = runner.invoke(app, ["models", "info", "strain-tensor-net"])
    assert result.exit_code == 0, result.output
    words = " ".join(re.sub(r"[\u2500-\u257f]", " ", result.stdout).split())  # the table's text, however it wraps
    assert "Phys. Rev. Research 5, 043198" in words
    assert "edge_strategy" in words and "preset cpu" in words


def test_info_unknown_name_lists_known_names():
    result = runner.invoke(app, ["models", "info", "strain-tensor-nt"])
    assert result.exit_code == 1
    assert "Unknown model 'strain-tensor-nt'" in result.stderr
    assert "fig6a" in result.stderr and "Did you mean 'strain-tensor-net'?" in result.stderr


def test_list_and_info_of_a_pretrained_model(tmp_path, monkeypatch):
    import stn_plugin.cli.models
    from stn_plugin.registry import Registry, load_registry, sha256_of

    folder = save_tiny_model(tmp_path / "tiny-mp")
    (folder / "README.md").write_text("# tiny-mp\n\nTrained on nothing at all.\n")
    files = {name: sha256_of(folder / name) for name in ("model.json", "model.pt")}
    files["state.pt"] = "0" * 64
    entry = {
        "architecture": "strain-tensor-net",
        "directory": "tiny-mp",
        "files": files,
        "date": "2024-01-01",
        "description": "a test model",
        "test_metrics": {"cij_mae_gpa": 12.5},
        "data_licence": "CC BY 4.0",
    }
    registry = Registry.model_validate({**load_registry().model_dump(by_alias=True), "pretrained": {"tiny-mp": entry}})
    monkeypatch.setattr(stn_plugin.cli.models, "load_registry", lambda: registry)
    monkeypatch.setattr(stn_plugin.cli.models, "pretrained_root", lambda: tmp_path)
    listed = runner.invoke(app, ["models", "list"])
    assert listed.exit_code == 0, listed.output
    assert [line.split() for line in listed.stdout.splitlines() if line.startswith("tiny-mp")] == [
        ["tiny-mp", "-", "-", "12.5", "GPa", "-", "-"]  # what the registry entry does not give is "-"
    ]
    shown = runner.invoke(app, ["models", "info", "tiny-mp"])
    assert shown.exit_code == 0, shown.output
    assert "Trained on nothing at all." in shown.stdout and "cij_mae_gpa" in shown.stdout and "12.5" in shown.stdout
    assert "a test model" in shown.stdout
    assert re.search(r"model\.json .* ok", shown.stdout) and re.search(r"state\.pt .* MODIFIED", shown.stdout)


def test_predict_unknown_model_name_lists_known_names():
    result = runner.invoke(app, ["models", "predict", "stn-mp-2099", EXAMPLE_FILES[0]])
    assert result.exit_code == 1
    assert "Unknown pretrained model 'stn-mp-2099'" in result.stderr and "Known:" in result.stderr
    assert "saved model" in result.stderr


def test_predict_json_all_examples(tiny_model, tmp_path):
    out = tmp_path / "pred.json"
    args = ["models", "predict", tiny_model, *EXAMPLE_FILES, "--format", "json", "--output", str(out)]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    assert "4 ok, 0 failed" in result.stderr
    rows = json.loads(out.read_text())
    assert [r["file"] for r in rows] == list(EXAMPLE_FILES)
    assert [r["formula"] for r in rows] == list(EXAMPLE_FORMULAS)
    for row in rows:
        assert row["ok"] is True and row["error"] is None
        c, u = np.array(row["elastic_tensor"]), np.array(row["sed"])
        assert c.shape == u.shape == (6, 6)
        np.testing.assert_allclose(c, c.T, atol=1e-9)
        assert set(row["moduli"]) >= {"bulk_voigt", "shear_voigt", "young", "poisson"}


@pytest.mark.parametrize(("flags", "symmetrize"), [([], True), (["--no-symmetrize"], False)])
def test_predict_json_to_stdout_matches_python_api(tiny_model, flags, symmetrize):
    import stn_plugin
    from stn_plugin.io import read_structure

    result = runner.invoke(app, ["models", "predict", tiny_model, EXAMPLE_FILES[0], "-f", "json", *flags])
    assert result.exit_code == 0, result.output
    row = json.loads(result.stdout)[0]
    structure = read_structure(EXAMPLE_FILES[0])
    model = stn_plugin.load(tiny_model)
    expected = model.predict_structure(structure, symmetrize=symmetrize)
    np.testing.assert_allclose(row["elastic_tensor"], expected.elastic_tensor.voigt, rtol=1e-6)
    np.testing.assert_allclose(row["sed"], expected.sed, rtol=1e-6)
    assert model.predict_structure(structure).symmetrized  # the Python default is the CLI default
    c = np.array(row["elastic_tensor"])  # Si, m-3m: C11 = C22 = C33 exactly only when projected
    assert np.isclose(c[0, 0], c[2, 2], rtol=1e-9) == symmetrize


def test_predict_bad_files_reported_good_ones_written(tiny_model, bad_files, tmp_path):
    out = tmp_path / "pred.json"
    files = [EXAMPLE_FILES[0], *bad_files, EXAMPLE_FILES[2]]
    result = runner.invoke(app, ["models", "predict", tiny_model, *files, "--output", str(out)])
    assert result.exit_code == 1
    assert "2 ok, 3 failed" in result.stderr
    rows = json.loads(out.read_text())  # format from the suffix
    assert [r["ok"] for r in rows] == [True, False, False, False, True]
    broken, empty, og = rows[1:4]
    assert broken["error"].startswith(f"{bad_files[0]}: could not be read as CIF")
    assert empty["error"].startswith(f"{bad_files[1]}: the file is empty")
    assert og["error"].startswith(f"{bad_files[2]}: ") and "Og" in og["error"] and og["formula"] == "Og"
    for row in (broken, empty, og):
        assert row["error"] in result.stderr
        assert row["elastic_tensor"] is None and row["moduli"] is None
    assert rows[4]["formula"] == "Mg" and len(rows[4]["elastic_tensor"]) == 6


def test_predict_too_large_structure_and_limit_options(tiny_model, tmp_path):
    from tests.test_models_input_checks import distorted, silicon

    big = tmp_path / "big.json"
    big.write_text(json.dumps(distorted(silicon() * (4, 4, 4)).as_dict()))
    out = tmp_path / "pred.json"
    result = runner.invoke(app, ["models", "predict", tiny_model, EXAMPLE_FILES[0], str(big), "-o", str(out)])
    assert result.exit_code == 1 and "1 ok, 1 failed" in result.stderr
    error = json.loads(out.read_text())[1]["error"]
    assert error.startswith(f"{big}: StructureTooLargeError: ") and "has 512 atoms" in error
    assert "--max-atoms N" in error and error in result.stderr
    capped = runner.invoke(app, ["models", "predict", tiny_model, EXAMPLE_FILES[0], "--max-edges", "10"])
    assert capped.exit_code == 1 and "more than the limit of 10" in capped.stderr


def test_predict_csv(tiny_model, bad_files, tmp_path):
    out = tmp_path / "pred.csv"
    args = ["models", "predict", tiny_model, EXAMPLE_FILES[1], bad_files[0], "-f", "csv", "-o", str(out)]
    result = runner.invoke(app, args)
    assert result.exit_code == 1
    rows = list(csv.DictReader(io.StringIO(out.read_text())))
    assert [r["ok"] for r in rows] == ["True", "False"]
    assert rows[0]["formula"] == "NaCl" and np.isfinite(float(rows[0]["C11_gpa"]))
    assert "U66_mev_per_atom" in rows[0] and "bulk_voigt_gpa" in rows[0] and "poisson" in rows[0]
    assert rows[1]["error"].startswith(bad_files[0]) and rows[1]["C11_gpa"] == ""


def test_predict_table(tiny_model, tmp_path):
    result = runner.invoke(app, ["models", "predict", tiny_model, EXAMPLE_FILES[3]])
    assert result.exit_code == 0, result.output
    assert "elastic tensor C (GPa)" in result.stdout and "TiO2" in result.stdout
    assert "bulk_voigt" in result.stdout and "1 ok, 0 failed" in result.stderr
    out = tmp_path / "pred.txt"
    result = runner.invoke(app, ["models", "predict", tiny_model, EXAMPLE_FILES[3], "-f", "table", "-o", str(out)])
    assert result.exit_code == 0, result.output
    assert "elastic tensor C (GPa)" in out.read_text()


def test_evaluate_five_materials_with_report(tiny_model, tmp_path):
    data = write_five_materials(tmp_path / "five.jsonl")
    report = tmp_path / "report"
    result = runner.invoke(app, ["models", "evaluate", tiny_model, "--data", str(data), "--report", str(report)])
    assert result.exit_code == 0, result.output
    assert "Table II (5 materials)" in result.stdout
    for row in ("U_ij (meV/atom)", "C_ij (GPa)", "B_V (GPa)", "G_V (GPa)", "Poisson ratio", "DCV accuracy", "cubic"):
        assert row in result.stdout
    metrics = json.loads((report / "metrics.json").read_text())
    assert metrics["overall"]["n_materials"] == 5
    assert metrics["dcv"]["n_rows"] == 5 * 21
    assert set(metrics["by_crystal_system"]) == {"cubic", "hexagonal"}
    assert (report / "metrics.md").is_file() and (report / "parity_cij.png").is_file()
    assert "5 ok, 0 failed" in result.stderr


def test_evaluate_keeps_the_records_it_can_predict(tiny_model, tmp_path):
    """A slab among the records: its typed error is printed, the four crystals are scored, the exit code is 1."""
    from stn_plugin.data import load_jsonl, write_jsonl

    records = load_jsonl(write_five_materials(tmp_path / "five.jsonl"))
    crystal = records[1].structure
    matrix = crystal.lattice.matrix.copy()
    matrix[2] *= 1.0 + 12.0 / np.linalg.norm(matrix[2])  # 12 Angstrom of vacuum along c
    slab = Structure(Lattice(matrix), crystal.species, crystal.cart_coords, coords_are_cartesian=True)
    write_jsonl([records[0], records[1].model_copy(update={"structure": slab}), *records[2:]], tmp_path / "bad.jsonl")
    result = runner.invoke(app, ["models", "evaluate", tiny_model, "--data", str(tmp_path / "bad.jsonl")])
    assert result.exit_code == 1
    assert f"material {records[1].material_id}: NotBulkCrystalError" in result.stderr
    assert "Table II (4 materials)" in result.stdout and "4 ok, 1 failed" in result.stderr


def test_evaluate_missing_data_file_is_a_usage_error(tiny_model, tmp_path):
    result = runner.invoke(app, ["models", "evaluate", tiny_model, "--data", str(tmp_path / "nope.jsonl")])
    assert result.exit_code == 2
    assert "no such file" in result.stderr


@pytest.mark.skipif(shutil.which("stn") is None, reason="the stn console script is not installed")
def test_console_script_exit_codes():
    ok = subprocess.run(["stn", "models", "list"], check=False, capture_output=True, text=True, timeout=120)
    assert ok.returncode == 0, ok.stderr
    assert "strain-tensor-net" in ok.stdout
    bad = subprocess.run(
        ["stn", "models", "info", "no-such-model"], check=False, capture_output=True, text=True, timeout=120
    )
    assert bad.returncode == 1
    assert "Unknown model 'no-such-model'" in bad.stderr


def test_ensemble_saves_a_committee_that_predicts_the_members_mean(tiny_model, tmp_path):
    import stn_plugin
    from stn_plugin.io import read_structure

    other = save_tiny_model(tmp_path / "other", seed=1)
    out = tmp_path / "committee"
    result = runner.invoke(app, ["models", "ensemble", tiny_model, str(other), "--output", str(out)])
    assert result.exit_code == 0, result.output
    assert "saved an ensemble of 2 networks" in result.stderr
    structure = read_structure(EXAMPLE_FILES[0])
    members = [stn_plugin.load(path).predict_structure(structure, symmetrize=False) for path in (tiny_model, other)]
    committee = stn_plugin.load(out).predict_structure(structure, symmetrize=False)
    np.testing.assert_allclose(committee.sed, np.mean([m.sed for m in members], axis=0), rtol=1e-5)
    # predict: the members' spread in every format (null / empty for a single model)
    (row,) = json.loads(runner.invoke(app, ["models", "predict", str(out), EXAMPLE_FILES[0], "-f", "json"]).stdout)
    symmetrized = [stn_plugin.load(path).predict_structure(structure) for path in (tiny_model, other)]
    spread = np.std([m.moduli["shear_voigt"] for m in symmetrized])
    assert row["moduli_std"]["shear_voigt"] == pytest.approx(spread, rel=1e-4, abs=1e-6)
    assert np.array(row["elastic_tensor_std"]).shape == (6, 6)
    (single,) = json.loads(runner.invoke(app, ["models", "predict", tiny_model, EXAMPLE_FILES[0], "-f", "json"]).stdout)
    assert single["elastic_tensor_std"] is None and single["moduli_std"] is None
    rows = list(
        csv.DictReader(
            io.StringIO(runner.invoke(app, ["models", "predict", str(out), EXAMPLE_FILES[0], "-f", "csv"]).stdout)
        )
    )
    assert float(rows[0]["shear_voigt_std_gpa"]) == pytest.approx(spread, rel=1e-4, abs=1e-6)
    assert "members' std" in runner.invoke(app, ["models", "predict", str(out), EXAMPLE_FILES[0]]).stdout
    # evaluate reads the ensemble like any model
    data = write_five_materials(tmp_path / "five.jsonl")
    assert runner.invoke(app, ["models", "evaluate", str(out), "--data", str(data)]).exit_code == 0
    # a non-empty output folder and a single member are usage errors
    again = runner.invoke(app, ["models", "ensemble", tiny_model, str(other), "--output", str(out)])
    assert again.exit_code == 2 and "not empty" in again.stderr
    single = runner.invoke(app, ["models", "ensemble", tiny_model, "--output", str(tmp_path / "one")])
    assert single.exit_code == 2 and "at least two" in single.stderr


def test_ensemble_of_models_of_different_architectures_fails(tiny_model, tmp_path):
    other = save_tiny_model(tmp_path / "fig6a", architecture="fig6a")
    result = runner.invoke(app, ["models", "ensemble", tiny_model, str(other), "--output", str(tmp_path / "c")])
    assert result.exit_code == 1
    assert "share one architecture" in result.stderr
