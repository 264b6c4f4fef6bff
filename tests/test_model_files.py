"""Safe model files: hash-checked bundled models, clear errors for broken files, crafted pickles refused.

The crafted files try to create a marker file when loaded (``os.system("touch ...")``); every test checks that
the marker does not appear and that the error names the file and the problem.
"""

from __future__ import annotations

import json
import os
import pickle
import shutil
from pathlib import Path

import pytest
import torch
from typer.testing import CliRunner

import stn_plugin
from stn_plugin.cli.main import app
from stn_plugin.predictor.loading import ModelFileError, UnsafeModelFileError, load_model_dir
from stn_plugin.registry import ModelIntegrityError, Registry, load_registry, sha256_of
from stn_plugin.training import train
from tests.test_cli_helpers import EXAMPLE_FILES, save_tiny_model
from tests.test_training_helpers import tiny_config

torch.set_num_threads(1)


class RunsCode:
    """Unpickling this calls ``os.system(command)`` (what a malicious model file would do)."""

    def __init__(self, command: str) -> None:
        self.command = command

    def __reduce__(self):
        return (os.system, (self.command,))


@pytest.fixture(scope="module")
def saved(tmp_path_factory) -> Path:
    return save_tiny_model(tmp_path_factory.mktemp("model") / "tiny")


@pytest.fixture()
def model_dir(saved, tmp_path) -> Path:
    """A fresh copy of the saved tiny model, to be damaged by the test."""
    return Path(shutil.copytree(saved, tmp_path / "model"))


def _truncate(path: Path) -> None:
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])


def test_saved_model_loads_through_the_checks(saved) -> None:
    model = stn_plugin.load(saved)
    assert type(model).__name__ == "ElasticPredictor" and len(model.networks) == 1
    reference = torch.load(saved / "state.pt", weights_only=True)
    for key, value in model.state_dict().items():
        torch.testing.assert_close(value, reference[key], msg=key)


def test_registry_hash_mismatch_refuses(saved, tmp_path, monkeypatch) -> None:
    folder = Path(shutil.copytree(saved, tmp_path / "tiny-mp"))
    entry = {
        "architecture": "strain-tensor-net",
        "directory": "tiny-mp",
        "files": {name: sha256_of(folder / name) for name in ("model.json", "model.pt", "state.pt")},
    }
    registry = Registry.model_validate({**load_registry().model_dump(by_alias=True), "pretrained": {"tiny-mp": entry}})
    monkeypatch.setattr("stn_plugin.registry.load_registry", lambda: registry)
    monkeypatch.setattr("stn_plugin.registry.pretrained_root", lambda: tmp_path)
    reference = torch.load(saved / "state.pt", weights_only=True)
    for key, value in stn_plugin.load("tiny-mp").state_dict().items():
        torch.testing.assert_close(value, reference[key], rtol=0, atol=0, msg=key)
    with open(folder / "state.pt", "ab") as stream:
        stream.write(b"\0")
    with pytest.raises(ModelIntegrityError, match=r"sha256 of state.pt is [0-9a-f]{64}, registry.yaml says"):
        stn_plugin.load("tiny-mp")
    (folder / "model.pt").unlink()
    with pytest.raises(ModelIntegrityError, match="model.pt is missing; reinstall stn-plugin"):
        stn_plugin.load("tiny-mp")


@pytest.mark.parametrize(
    ("damage", "words"),
    [
        (
            lambda d: _truncate(d / "state.pt"),
            r"state.pt: the file is truncated or corrupted, not a readable PyTorch file",
        ),
        (lambda d: (d / "model.pt").write_bytes(b""), r"model.pt: the file is truncated or corrupted.*EOFError"),
        (lambda d: _truncate(d / "model.json"), r"model.json: not a model description \(truncated or edited"),
        (lambda d: (d / "state.pt").unlink(), r"not a saved model directory: state.pt missing"),
        (
            lambda d: torch.save({"encoder.embedding.weight": torch.zeros(3, 3)}, d / "state.pt"),
            r"the files do not fit together \(RuntimeError: .*",
        ),
    ],
    ids=["truncated-state", "empty-model-pt", "truncated-json", "missing-state", "tampered-weights"],
)
def test_broken_model_files_give_clear_errors(model_dir, damage, words) -> None:
    damage(model_dir)
    with pytest.raises(ModelFileError, match=words) as info:
        stn_plugin.load(model_dir)
    assert not isinstance(info.value, UnsafeModelFileError)
    assert "Save the model again or copy the complete directory" in str(info.value)


def _pickle_in_torch_file(path: Path, command: str) -> None:
    torch.save({"config": RunsCode(command)}, path)


def _plain_pickle(path: Path, command: str) -> None:
    path.write_bytes(pickle.dumps({"encoder.embedding.weight": RunsCode(command)}, protocol=2))


def _json_names_os_system(path: Path, command: str) -> None:
    description = json.loads((path / "model.json").read_text())
    description.update({"@module": "os", "@class": "system", "kwargs": {"command": command}})
    (path / "model.json").write_text(json.dumps(description))


def _constructor_object(path: Path, command: str) -> None:
    arguments = torch.load(path / "model.pt", weights_only=True)
    arguments["config"] = {"@module": "os", "@class": "system", "init_args": {"command": command}}
    torch.save(arguments, path / "model.pt")


@pytest.mark.parametrize(
    ("craft", "words"),
    [
        (lambda d, c: _pickle_in_torch_file(d / "model.pt", c), r"model.pt: refused to load: .*\(posix.system\)"),
        (lambda d, c: _plain_pickle(d / "state.pt", c), r"state.pt: refused to load: the file holds Python code"),
        (_json_names_os_system, r"model.json: refused to load: it names os.system, which is not a model"),
        (_constructor_object, r"model.pt: refused to load: it is not a plain mapping of constructor arguments"),
    ],
    ids=["reduce-in-model-pt", "plain-pickle-state-pt", "json-class", "constructor-object"],
)
def test_files_that_would_run_code_are_refused(model_dir, tmp_path, craft, words) -> None:
    marker = tmp_path / "MARKER"
    craft(model_dir, f"touch {marker}")
    with pytest.raises(UnsafeModelFileError, match=words) as info:
        load_model_dir(model_dir)
    assert "Do not use this file" in info.value.fix
    assert not marker.exists()


def test_cli_reports_an_unsafe_model_directory(model_dir, tmp_path) -> None:
    marker = tmp_path / "MARKER"
    _pickle_in_torch_file(model_dir / "model.pt", f"touch {marker}")
    result = CliRunner().invoke(app, ["models", "predict", str(model_dir), EXAMPLE_FILES[0]])
    assert result.exit_code == 1
    assert f"could not load the model '{model_dir}': UnsafeModelFileError: {model_dir / 'model.pt'}: refused" in (
        " ".join(result.stderr.split())
    )
    assert not marker.exists()


@pytest.mark.parametrize(
    ("craft", "error", "words"),
    [
        (lambda p, c: _pickle_in_torch_file(p, c), UnsafeModelFileError, r"last.ckpt: refused to load"),
        (lambda p, c: p.write_bytes(b"PK\x03\x04 cut off"), ModelFileError, r"last.ckpt: the file is truncated"),
        (lambda p, c: torch.save({"weights": torch.ones(2)}, p), ModelFileError, r"not a Lightning checkpoint"),
    ],
    ids=["crafted", "truncated", "not-a-checkpoint"],
)
def test_resume_checks_the_checkpoint_before_anything_else(tmp_path, craft, error, words) -> None:
    marker = tmp_path / "MARKER"
    last = tmp_path / "run" / "checkpoints" / "last.ckpt"
    last.parent.mkdir(parents=True)
    craft(last, f"touch {marker}")
    with pytest.raises(error, match=words) as info:  # data=... does not exist: the check comes first
        train(config=tiny_config(), data=tmp_path / "no-data.jsonl", output_dir=tmp_path / "run", track=False)
    if error is ModelFileError:
        assert f"Delete {last} to start the training over" in str(info.value)
    assert not marker.exists()
