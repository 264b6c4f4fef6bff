"""Packaging: the packages pyproject.toml installs (the command line inside stn_plugin) and the installed entry points."""

from __future__ import annotations

import subprocess
import sys
import tomllib
from importlib.metadata import entry_points

import stn_plugin
from stn_plugin.cli.main import app
from stn_plugin.cli.mlflow_experiment import StnProjectExperimentProvider
from tests.test_cli_helpers import REPOSITORY


def test_every_folder_of_stn_plugin_is_a_package_and_the_cli_installs_inside_it():
    setuptools = tomllib.loads((REPOSITORY / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["setuptools"]
    root = REPOSITORY / "stn_plugin"
    folders = {
        ".".join(folder.relative_to(REPOSITORY).parts)
        for folder in [root, *root.rglob("*")]
        if folder.is_dir()
        and all(part.isidentifier() and part != "__pycache__" for part in folder.relative_to(REPOSITORY).parts)
        and any(path.name != "__pycache__" for path in folder.iterdir())
    }
    assert set(setuptools["packages"]) == folders | {"stn_plugin.cli"}
    assert setuptools["package-dir"] == {"stn_plugin.cli": "cli"}


def test_installed_entry_points_are_the_cli_and_the_experiment_provider():
    (script,) = entry_points(group="console_scripts", name="stn")
    assert script.load() is app
    (provider,) = entry_points(group="mlflow.default_experiment_provider", name="stn-train")
    assert provider.load() is StnProjectExperimentProvider


def test_the_cli_runs_outside_the_repository(tmp_path):
    done = subprocess.run(
        [sys.executable, "-m", "stn_plugin.cli.main", "--version"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == f"stn-plugin {stn_plugin.__version__}"
