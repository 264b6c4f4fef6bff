"""What each entry point imports, checked in a fresh interpreter: ``import stn_plugin`` and the ``stn`` command line
(``--help``, ``models list``, ``cache info``) load neither torch nor the training, tracking or plotting libraries; a
prediction loads no training, MLflow, evaluation or plotting code. (Lightning itself comes with matgl, whose
package imports its training utilities.)"""

from __future__ import annotations

import json
import subprocess
import sys

from tests.test_cli_helpers import EXAMPLE_FILES, save_tiny_model


def modules_after(code: str) -> set[str]:
    """Names in ``sys.modules`` after running ``code`` in a new Python process."""
    script = f"{code}\nimport json, sys\nprint(json.dumps(sorted(sys.modules)))"
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=240, check=False)
    assert done.returncode == 0, done.stderr
    return set(json.loads(done.stdout.splitlines()[-1]))


def loaded(modules: set[str], packages: tuple[str, ...]) -> list[str]:
    """The ``packages`` (or their submodules) among ``modules``."""
    return sorted(p for p in packages if any(m == p or m.startswith(p + ".") for m in modules))


def test_package_and_command_line_import_no_heavy_library(tmp_path):
    code = (
        "import stn_plugin\n"
        "from stn_plugin.cli.main import app\n"
        "for args in (['--help'], ['models', 'list'], ['cache', 'info', '--cache-dir', %r]):\n"
        "    app(args, standalone_mode=False)" % str(tmp_path)
    )
    modules = modules_after(code)
    heavy = ("torch", "lightning", "mlflow", "matplotlib", "matgl", "matcalc", "pymatgen", "torch_geometric")
    assert loaded(modules, heavy) == []


def test_a_prediction_imports_no_training_tracking_or_plotting_code(tmp_path):
    model = save_tiny_model(tmp_path / "tiny")
    code = (
        "from stn_plugin.cli.main import app\n"
        f"app(['models', 'predict', {str(model)!r}, {EXAMPLE_FILES[0]!r}, '-f', 'json'], standalone_mode=False)"
    )
    modules = modules_after(code)
    assert "stn_plugin.predictor" in modules
    unwanted = ("mlflow", "matcalc", "stn_plugin.training", "stn_plugin.evaluation", "stn_plugin.calc")
    assert loaded(modules, unwanted) == []
