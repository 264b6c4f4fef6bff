"""Hostile and careless use of the command line (issues 14 and 17): lost or overwritten work, threads, batching.

Nothing here trains: the training cases are refused before any data is prepared.
"""

from __future__ import annotations

import csv
import io
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from filelock import FileLock
from pymatgen.core import Lattice, Structure
from typer.testing import CliRunner

from stn_plugin.cli.main import app
from stn_plugin.predictor.predictor import ElasticPredictor
from stn_plugin.training.config import load_preset
from stn_plugin.training.train import LOCK_FILE
from tests.test_cli_helpers import EXAMPLE_FILES, save_tiny_model

torch.set_num_threads(1)

runner = CliRunner(env={"COLUMNS": "200"})


@pytest.fixture(scope="module")
def tiny_model(tmp_path_factory) -> str:
    return str(save_tiny_model(tmp_path_factory.mktemp("model") / "tiny"))


def _nan_structure(path: Path) -> str:
    si = Structure(Lattice.cubic(5.43), ["Si", "Si"], [[0, 0, 0], [0.25, 0.25, 0.25]])
    data = si.as_dict()
    data["sites"][1]["abc"][0] = float("nan")
    path.write_text(json.dumps(data))
    return str(path)


def test_predict_keeps_per_file_results_in_order_and_a_batched_file_predicts_as_alone(tiny_model, tmp_path):
    (tmp_path / "broken.cif").write_text("data_x\n")
    og = Structure(Lattice.cubic(5.0), ["Og"], [[0, 0, 0]])
    (tmp_path / "og.json").write_text(json.dumps(og.as_dict()))
    files = [
        str(EXAMPLE_FILES[0]),
        _nan_structure(tmp_path / "nan.json"),
        str(tmp_path / "broken.cif"),
        str(EXAMPLE_FILES[1]),
        str(tmp_path / "og.json"),
    ]
    result = runner.invoke(app, ["models", "predict", tiny_model, *files, "--format", "json"])
    assert result.exit_code == 1, result.output
    rows = json.loads(result.stdout)
    assert [row["file"] for row in rows] == files
    assert [row["ok"] for row in rows] == [True, False, False, True, False]
    assert "NaN or infinity" in rows[1]["error"] and "CIF" in rows[2]["error"]
    assert "UnsupportedElementError" in rows[4]["error"]
    alone = json.loads(runner.invoke(app, ["models", "predict", tiny_model, files[3], "--format", "json"]).stdout)
    assert np.allclose(rows[3]["elastic_tensor"], alone[0]["elastic_tensor"], atol=1e-6)
    assert "3 ok" not in result.stderr and "2 ok, 3 failed" in result.stderr


@pytest.mark.parametrize("threads", [None, 2])
def test_threads_option_is_honoured_inside_the_prediction(tiny_model, monkeypatch, threads):
    seen: list[int] = []
    original = ElasticPredictor._predict_graphs

    def recorded(self, *args, **kwargs):
        seen.append(torch.get_num_threads())
        return original(self, *args, **kwargs)

    monkeypatch.setattr(ElasticPredictor, "_predict_graphs", recorded)
    option = [] if threads is None else ["--threads", str(threads)]
    result = runner.invoke(app, ["models", "predict", tiny_model, str(EXAMPLE_FILES[0]), "--format", "json", *option])
    assert result.exit_code == 0, result.output
    assert seen == [threads or 1]


def test_python_predictor_uses_one_thread_unless_told(monkeypatch):
    from tests.test_models_straintensornet import tiny_model as make_tiny_model

    model = make_tiny_model().eval()
    seen: list[int] = []
    original = ElasticPredictor._predict_graphs
    monkeypatch.setattr(
        ElasticPredictor,
        "_predict_graphs",
        lambda self, *a, **k: seen.append(torch.get_num_threads()) or original(self, *a, **k),
    )
    si = Structure.from_spacegroup("Fd-3m", Lattice.cubic(5.43), ["Si"], [[0, 0, 0]])
    torch.set_num_threads(2)
    try:
        model.predict_structure(si)
        model.predict_structure(si, threads=2)
        after = torch.get_num_threads()
    finally:
        torch.set_num_threads(1)
    assert seen == [1, 2] and after == 2  # the caller's setting is restored


def test_predict_checks_the_output_target_before_predicting(tiny_model, tmp_path, monkeypatch):
    monkeypatch.setattr(
        ElasticPredictor, "predict_structures", lambda *a, **k: pytest.fail("predicted before the check")
    )
    blocker = tmp_path / "a_file"
    blocker.write_text("")
    result = runner.invoke(app, ["models", "predict", tiny_model, str(EXAMPLE_FILES[0]), "-o", str(blocker / "x.json")])
    assert result.exit_code == 2
    assert f"--output {blocker / 'x.json'} cannot be written (" in result.stderr
    assert "Traceback" not in result.output


def test_predict_refuses_an_output_that_is_an_input(tiny_model, tmp_path):
    target = tmp_path / "Si.json"
    si = Structure.from_spacegroup("Fd-3m", Lattice.cubic(5.43), ["Si"], [[0, 0, 0]])
    target.write_text(json.dumps(si.as_dict()))
    before = target.read_text()
    result = runner.invoke(app, ["models", "predict", tiny_model, str(target), "--output", str(target)])
    assert result.exit_code == 2
    assert "is also an input file; it would be overwritten" in result.stderr
    assert target.read_text() == before


def test_predict_falls_back_to_a_named_file_when_the_output_fails_late(tiny_model, tmp_path, monkeypatch):
    import stn_plugin.cli.predictions

    def refuse(text, path):
        if Path(path).name == "out.json":
            raise PermissionError(13, "Permission denied")
        return Path(path).write_text(text) and Path(path)

    monkeypatch.setattr(stn_plugin.cli.predictions, "atomic_write_text", refuse)
    monkeypatch.chdir(tmp_path)
    result = runner.invoke(app, ["models", "predict", tiny_model, str(EXAMPLE_FILES[0]), "-o", "out.json"])
    assert result.exit_code == 0, result.output
    assert "could not write --output out.json (PermissionError: Permission denied); the results are in" in result.stderr
    (fallback,) = tmp_path.glob("stn-predictions-*.json")
    assert json.loads(fallback.read_text())[0]["ok"]


def test_output_dash_is_stdout(tiny_model, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    result = runner.invoke(app, ["models", "predict", tiny_model, str(EXAMPLE_FILES[0]), "-o", "-", "-f", "json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)[0]["ok"] and not (tmp_path / "-").exists()


def test_file_names_with_terminal_escapes_are_escaped_on_screen_and_in_csv(tiny_model, tmp_path):
    hostile = tmp_path / "evil\x1b[31m\nname.cif"
    hostile.write_text("data_x\n")
    result = runner.invoke(app, ["models", "predict", tiny_model, str(hostile), "--format", "csv"])
    assert result.exit_code == 1
    assert "\x1b" not in result.stderr and "evil\\x1b[31m\\nname.cif" in result.stderr
    rows = list(csv.reader(io.StringIO(result.stdout)))
    assert len(rows) == 2 and rows[1][0].endswith("evil\\x1b[31m\\nname.cif")


def _train(tmp_path: Path, *options: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "stn_plugin.cli.main",
            "models",
            "train",
            "strain-tensor-net",
            "--preset",
            "cpu",
            *options,
        ],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1]), "OMP_NUM_THREADS": "1"},
        check=False,
    )


def test_train_refuses_a_changed_configuration_without_touching_the_folder(tmp_path):
    out = tmp_path / "run"
    out.mkdir()
    load_preset("cpu").to_yaml(out / "config.yaml")
    before = sorted(p.name for p in out.iterdir())
    done = _train(tmp_path, "--seed", "7", "--max-epochs", "3", "--output", str(out))
    assert done.returncode == 1, done.stderr[-2000:]
    assert "holds a training with another configuration (training.max_epochs:" in done.stderr
    assert "training.seed: 0 -> 7" in done.stderr and "Traceback" not in done.stderr
    assert sorted(p.name for p in out.iterdir() if p.name != LOCK_FILE) == before
    assert not (tmp_path / "mlflow.db").exists()


def test_train_refuses_an_output_folder_in_use(tmp_path):
    out = tmp_path / "run"
    out.mkdir()
    with FileLock(out / LOCK_FILE):
        done = _train(tmp_path, "--output", str(out))
    assert done.returncode == 1
    assert f"{out} is in use by another training (it holds the lock" in done.stderr


def test_train_with_an_unreachable_tracking_server_fails_fast(tmp_path):
    done = _train(tmp_path, "--output", str(tmp_path / "run"), "--tracking-uri", "http://127.0.0.1:9")
    assert done.returncode == 1
    assert "the MLflow tracking server http://127.0.0.1:9 does not answer (ConnectionRefusedError" in done.stderr
    assert "--tracking-uri sqlite:///mlflow.db" in done.stderr and "Traceback" not in done.stderr


def test_read_only_home_still_loads_the_bundled_model(tmp_path):
    home = tmp_path / "home"
    home.write_text("")  # not a folder: nothing can be created below it (also for root)
    code = "import stn_plugin; print(len(stn_plugin.load('stn-mp-2023').networks))"
    done = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "HOME": str(home)},
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip() == "2"
    assert "cannot be created (NotADirectoryError" in done.stderr and "Set HOME to a writable folder" in done.stderr


def test_registry_name_wins_over_a_folder_of_that_name(tmp_path, monkeypatch, caplog):
    import stn_plugin

    monkeypatch.chdir(tmp_path)
    (tmp_path / "stn-mp-2023").mkdir()  # a stray folder (here empty) must not replace the sha256-checked model
    with caplog.at_level("WARNING", logger="stn_plugin"):
        model = stn_plugin.load("stn-mp-2023")
    assert len(model.networks) == 2
    assert "loaded the bundled model, not the folder of that name in the working folder" in caplog.text
    assert "'./stn-mp-2023'" in caplog.text
    with pytest.raises(Exception, match="not a saved model directory"):
        stn_plugin.load("./stn-mp-2023")


def test_saved_model_with_a_flipped_byte_is_refused(tmp_path, caplog):
    import stn_plugin
    from stn_plugin.predictor.loading import MANIFEST_FILE, ModelFileError, save_model_dir
    from tests.test_models_straintensornet import tiny_model as make_tiny_model

    folder = save_model_dir(make_tiny_model(), tmp_path / "model")
    assert (folder / MANIFEST_FILE).is_file()
    stn_plugin.load(folder)
    state = bytearray((folder / "state.pt").read_bytes())
    state[-100] ^= 0x01  # inside the weights: torch still unpickles it
    (folder / "state.pt").write_bytes(bytes(state))
    with pytest.raises(ModelFileError, match="the sha256 of state.pt differs from checksums.json"):
        stn_plugin.load(folder)
    (folder / MANIFEST_FILE).unlink()  # a directory saved before the manifest: loads, with a note
    with caplog.at_level("WARNING", logger="stn_plugin"):
        stn_plugin.load(folder)
    assert "has no checksums.json" in caplog.text


def test_ensemble_of_one_model_twice_is_refused(tiny_model, tmp_path):
    result = runner.invoke(app, ["models", "ensemble", tiny_model, tiny_model, "--output", str(tmp_path / "e")])
    assert result.exit_code == 2
    assert "is given more than once; an ensemble needs different models" in result.stderr


def _not_predicted(monkeypatch) -> None:
    """Fail the test if anything is predicted or replaced (os.replace onto a device would replace the device)."""
    import stn_plugin.io

    monkeypatch.setattr(ElasticPredictor, "predict_structures", lambda *a, **k: pytest.fail("predicted"))
    monkeypatch.setattr(stn_plugin.io.os, "replace", lambda *a: pytest.fail("replaced a file"))


@pytest.mark.parametrize("kind", ["link", "dangling link", "fifo", "folder", "/dev/null", "/dev/stdout"])
def test_predict_output_only_creates_or_replaces_regular_files(tiny_model, tmp_path, monkeypatch, kind):
    _not_predicted(monkeypatch)
    kept = tmp_path / "kept.json"
    kept.write_text("kept\n")
    target = tmp_path / "out.json"
    if kind == "link":
        target.symlink_to(kept)
    elif kind == "dangling link":
        target.symlink_to(tmp_path / "nowhere.json")
    elif kind == "fifo":
        os.mkfifo(target)
    elif kind == "folder":
        target.mkdir()
    else:
        target = Path(kind)
    before = os.lstat(target)
    result = runner.invoke(app, ["models", "predict", tiny_model, str(EXAMPLE_FILES[0]), "-o", str(target)])
    assert result.exit_code == 2, result.output
    assert os.lstat(target) == before and kept.read_text() == "kept\n"
    if kind == "folder":  # refused by the option's type
        assert "is a directory" in " ".join(result.stderr.split())
        return
    words = {"link": "symbolic link", "dangling link": "symbolic link", "fifo": "FIFO (named pipe)"}
    words |= {"/dev/null": "character device", "/dev/stdout": "symbolic link"}
    assert f"Error: --output {target} is a {words[kind]}, not a regular file" in result.stderr
    assert "or leave out --output (or give -o -) to print to stdout" in result.stderr


def test_plots_into_a_fifo_are_refused_before_predicting(tiny_model, tmp_path, monkeypatch):
    _not_predicted(monkeypatch)
    fifo = tmp_path / "plots"
    os.mkfifo(fifo)
    result = runner.invoke(app, ["models", "predict", tiny_model, str(EXAMPLE_FILES[0]), "--plots", str(fifo)])
    assert result.exit_code == 2 and f"--plots {fifo} is a FIFO (named pipe), not a folder" in result.stderr


def test_a_plot_name_taken_by_a_link_is_reported_and_left_alone(monkeypatch, tmp_path):
    from tests.test_cli_predict_outputs import fixed_model

    C = np.zeros((6, 6))
    C[:3, :3] = 63.9
    np.fill_diagonal(C, [165.7] * 3 + [79.6] * 3)
    fixed_model(monkeypatch, C)
    plots, kept = tmp_path / "plots", tmp_path / "kept.png"
    plots.mkdir()
    kept.write_bytes(b"kept")
    (plots / "Si_cif_youngs_3d.png").symlink_to(kept)
    out = tmp_path / "out.json"
    result = runner.invoke(
        app, ["models", "predict", "stn-mp-2023", str(EXAMPLE_FILES[0]), "-o", str(out), "--plots", str(plots)]
    )
    assert result.exit_code == 1, result.output
    assert "--plots: the pictures of" in result.stderr and "is a symbolic link, not a regular file" in result.stderr
    assert (plots / "Si_cif_youngs_3d.png").is_symlink() and kept.read_bytes() == b"kept"
    assert json.loads(out.read_text())[0]["ok"]  # the predictions are written all the same


def test_data_commands_refuse_a_linked_output_before_any_work(tmp_path, monkeypatch):
    import stn_plugin.training.data

    monkeypatch.setattr(stn_plugin.training.data, "prepare_data", lambda *a, **k: pytest.fail("data prepared"))
    _not_predicted(monkeypatch)
    kept = tmp_path / "kept.jsonl"
    kept.write_text("kept\n")
    prepared = tmp_path / "prepared"
    prepared.mkdir()
    (prepared / "train.jsonl").symlink_to(kept)
    result = runner.invoke(app, ["data", "prepare", "--output", str(prepared)])
    assert result.exit_code == 2, result.output
    assert f"--output {prepared / 'train.jsonl'} is a symbolic link, not a regular file" in result.stderr
    os.mkfifo(tmp_path / "distilled.jsonl")
    result = runner.invoke(app, ["data", "distill", "--output", str(tmp_path / "distilled.jsonl")])
    assert result.exit_code == 2 and "is a FIFO (named pipe), not a regular file" in result.stderr
    assert kept.read_text() == "kept\n" and (prepared / "train.jsonl").is_symlink()


def test_multi_file_predict_reports_each_unreadable_input_and_predicts_the_rest(tiny_model, tmp_path, monkeypatch):
    import gzip

    import stn_plugin.io

    loop = tmp_path / "loop.cif"
    loop.symlink_to(loop)
    fifo = tmp_path / "pipe.cif"
    os.mkfifo(fifo)
    denied = tmp_path / "denied.cif"
    denied.write_text("data_x\n")
    bomb = tmp_path / "bomb.cif.gz"
    with gzip.open(bomb, "wb", compresslevel=1) as stream:
        for _ in range(80):
            stream.write(b"#" * (1 << 20))
    (tmp_path / "huge.xyz").write_text("1000000000000\n\nSi 0 0 0\n")
    (tmp_path / "POSCAR").write_text("Si\n1.0\n0 2.7 2.7\n2.7 0 2.7\n2.7 2.7 0\n2\nDirect\n0 0 0\n0.25 0.25 0.25\n")
    real_open = open

    def guarded(path, *args, **kwargs):
        if Path(path).name == "denied.cif":
            raise PermissionError(13, "Permission denied")
        return real_open(path, *args, **kwargs)

    monkeypatch.setattr(stn_plugin.io, "open", guarded, raising=False)
    files = [
        str(EXAMPLE_FILES[0]),
        str(loop),
        str(tmp_path / ("x" * 300 + ".cif")),
        str(fifo),
        str(denied),
        str(bomb),
        str(tmp_path / "huge.xyz"),
        str(tmp_path / "POSCAR"),
        str(EXAMPLE_FILES[1]),
    ]
    out = tmp_path / "out.json"
    result = runner.invoke(app, ["models", "predict", tiny_model, *files, "-o", str(out)])
    assert result.exit_code == 1, result.output
    assert "Traceback" not in result.output
    rows = json.loads(out.read_text())
    assert [row["file"] for row in rows] == files
    assert [row["ok"] for row in rows] == [True] + [False] * 7 + [True]
    expected = [
        "Too many levels of symbolic links",
        "File name too long",
        "is a FIFO (named pipe), not a regular file",
        "could not be read (PermissionError: Permission denied)",
        "bytes when decompressed",
        "declares 1000000000000 atoms",
        "has no element line (VASP 4 format)",
    ]
    for row, words in zip(rows[1:-1], expected, strict=True):
        assert words in row["error"], (row["file"][:60], row["error"])
        assert words in result.stderr
    assert "2 ok, 7 failed" in result.stderr
