#!/usr/bin/env bash
# Check that the floors of pyproject.toml's dependencies install together and work: each "name>=X" of
# [project] dependencies is installed as "name==X" into a fresh virtual environment (in a temporary folder, removed
# at the end), then stn-plugin itself (editable, without dependencies), then a smoke test runs: load stn-mp-2023 and
# predict Si, `stn models predict`, the Voigt/SED tests, and a tiny tracked, registered training.
#
#   scripts/check_dependency_floors.sh          # PYTHON=python3.11 scripts/check_dependency_floors.sh
#
# The environment is created with --system-site-packages: torch is the environment's own build (the CPU build is
# installed by hand first, README), and a package no floor constrains stays as the environment has it. pytest and
# pytest-xdist come from the environment as well. Exit code 0: the floors install and the smoke test passes.
set -euo pipefail
cd "$(dirname "$0")/.."
repository=$PWD
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

"${PYTHON:-python3}" -m venv --system-site-packages "$work/venv"
venv=$work/venv/bin/python
floors=$("$venv" - <<'EOF'
import re
import tomllib

with open("pyproject.toml", "rb") as f:
    dependencies = tomllib.load(f)["project"]["dependencies"]
for dependency in dependencies:
    match = re.fullmatch(r"([A-Za-z0-9_.-]+)>=([0-9][^,;\s]*)", dependency)
    if match is None:
        raise SystemExit(f"no single floor in {dependency!r}")
    if match.group(1) != "torch":
        print(f"{match.group(1)}=={match.group(2)}")
EOF
)
echo "floors:" $floors
"$venv" -m pip install -q --disable-pip-version-check $floors
"$venv" -m pip install -q --disable-pip-version-check --no-deps -e "$repository"
echo "installed in the virtual environment (the floors and what they needed):"
"$venv" -m pip list --disable-pip-version-check --path "$("$venv" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')"

export OMP_NUM_THREADS=1
cd "$work"  # the package as installed, not the checkout's folder on the path
"$venv" - <<EOF
import numpy as np
from pymatgen.core import Structure

import stn_plugin

result = stn_plugin.load("stn-mp-2023").predict_structure(Structure.from_file("$repository/examples/structures/Si.cif"))
c = np.asarray(result.elastic_tensor.voigt)
print(f"Si: C11 {c[0, 0]:.1f}, C12 {c[0, 1]:.1f}, C44 {c[3, 3]:.1f} GPa")
assert 120 < c[0, 0] < 200 and 30 < c[0, 1] < 90 and 50 < c[3, 3] < 110, c
EOF
"$work/venv/bin/stn" models predict stn-mp-2023 "$repository/examples/structures/Si.cif" --format json >/dev/null
cd "$repository"
"$venv" -m pytest -q -n 0 -p no:cacheprovider tests/test_physics_voigt_sed.py \
    "tests/test_cli_train.py::test_train_prints_run_id_and_model_dir"
echo "dependency floors: OK"
