"""stn_plugin.calc against the real matcalc: the result format of ElasticityCalc and its ElasticityBenchmark.

Needs the optional extra ``stn-plugin[matcalc]``; skipped with the reason when matcalc is not installed.
"""

from __future__ import annotations

import importlib.util
import subprocess
import sys

import numpy as np
import pytest
import torch
from pymatgen.analysis.elasticity import ElasticTensor
from pymatgen.core import Lattice, Structure

from tests.test_cli_helpers import EXAMPLE_FILES, save_tiny_model

torch.set_num_threads(1)


OPTIONAL = 'matcalc is an optional extra: pip install "stn-plugin[matcalc]"'
NEEDS_MATCALC = pytest.mark.skipif(importlib.util.find_spec("matcalc") is None, reason=OPTIONAL)


@pytest.fixture(scope="module")
def matcalc():
    pytest.importorskip("stn_plugin.calc", reason=OPTIONAL)  # imports matcalc without its Hugging Face Hub request
    import matcalc

    return matcalc


NO_HUB = """
import matgl.utils.io

asked = []


class NoHub:
    def __init__(self, *args, **kwargs):
        asked.append("HfApi")

    def list_models(self, *args, **kwargs):
        raise OSError("no network")


matgl.utils.io.HfApi = NoHub
listing = matgl.get_available_pretrained_models
import stn_plugin.calc

assert asked == [], asked
assert matgl.get_available_pretrained_models is listing
"""


@NEEDS_MATCALC
def test_importing_the_calculator_asks_no_server():
    """matcalc lists MatGL's online models when it is imported (retried for about 20 s on a machine without
    network); stn_plugin.calc imports it without that request and leaves matgl as it was."""
    done = subprocess.run([sys.executable, "-c", NO_HUB], capture_output=True, text=True, timeout=240, check=False)
    assert done.returncode == 0, done.stderr


@pytest.fixture(scope="module")
def model(tmp_path_factory):
    import stn_plugin

    return stn_plugin.load(save_tiny_model(tmp_path_factory.mktemp("model") / "tiny"))


def test_result_has_the_keys_and_units_of_matcalc_elasticity_calc(matcalc, model):
    from ase.calculators.emt import EMT

    from stn_plugin.calc import StnElasticityCalc

    copper = Structure.from_spacegroup("Fm-3m", Lattice.cubic(3.61), ["Cu"], [[0, 0, 0]])
    reference = matcalc.ElasticityCalc(EMT(), relax_structure=False).calc(copper)
    ours = StnElasticityCalc(model).calc(copper)
    assert isinstance(StnElasticityCalc(model), matcalc.PropCalc)
    assert set(reference) <= set(ours)
    assert ours["_units"] == reference["_units"] == {k: "eV/A^3" for k in reference["_units"]}
    assert isinstance(ours["elastic_tensor"], ElasticTensor) and ours["structure"] == copper
    in_gpa = StnElasticityCalc(model, units_GPa=True).calc({"final_structure": copper})
    assert set(in_gpa["_units"].values()) == {"GPa"}
    expected = model.predict_structure(copper)
    np.testing.assert_allclose(in_gpa["elastic_tensor"].voigt, expected.elastic_tensor.voigt, rtol=1e-6)
    assert in_gpa["bulk_modulus_vrh"] == pytest.approx(expected.moduli["bulk_vrh"])
    assert in_gpa["shear_modulus_vrh"] == pytest.approx(expected.moduli["shear_vrh"])
    assert ours["bulk_modulus_vrh"] == pytest.approx(in_gpa["bulk_modulus_vrh"] * ElasticTensor.GPa_to_eV_A3)
    k, g = in_gpa["bulk_modulus_vrh"], in_gpa["shear_modulus_vrh"]
    assert in_gpa["youngs_modulus"] == pytest.approx(9 * k * g / (3 * k + g))
    assert in_gpa["born_stable"] == expected.stability.stable


def test_calc_many_batches_and_keeps_order_and_errors(matcalc, model):
    from ase.io import read

    from stn_plugin.calc import StnElasticityCalc
    from stn_plugin.io import read_structure

    structures = [read_structure(f) for f in EXAMPLE_FILES]
    atoms = read(EXAMPLE_FILES[0])  # ASE Atoms are accepted as by matcalc
    oganesson = Structure(Lattice.cubic(5.0), ["Og"], [[0, 0, 0]])  # no atomic features: fails
    calc = StnElasticityCalc(model, units_GPa=True, batch_size=2)
    results = list(calc.calc_many([*structures, atoms, oganesson], allow_errors=True))
    assert results[-1] is None and len(results) == 6
    for structure, result in zip([*structures, structures[0]], results[:-1], strict=True):
        assert result["structure"].composition.reduced_formula == structure.composition.reduced_formula
        single = calc.calc(structure)
        assert result["bulk_modulus_vrh"] == pytest.approx(single["bulk_modulus_vrh"], rel=1e-5)
    with pytest.raises(Exception, match="Og"):
        list(calc.calc_many([oganesson]))


def test_matcalc_elasticity_benchmark_scores_the_model(matcalc, model, tmp_path):
    from monty.serialization import dumpfn

    from stn_plugin.calc import elasticity_benchmark
    from stn_plugin.io import read_structure

    pytest.importorskip("matminer", reason="matcalc.benchmark needs matcalc[benchmark] (matminer, pandas < 3)")
    entries = [
        {"mp_id": f"mp-{i}", "formula": s.composition.reduced_formula, "structure": s, "bulk_modulus_vrh": 100.0,
         "shear_modulus_vrh": 50.0}
        for i, s in enumerate(read_structure(f) for f in EXAMPLE_FILES[:2])
    ]  # fmt: skip
    path = tmp_path / "benchmark.json"
    dumpfn(entries, path)
    frame = elasticity_benchmark(benchmark_name=path).run(model, "stn", n_jobs=1)
    assert list(frame["mp_id"]) == ["mp-0", "mp-1"]
    assert {"K_vrh_DFT", "G_vrh_DFT", "K_vrh_stn", "G_vrh_stn"} <= set(frame.columns)
    expected = model.predict_structure(entries[1]["structure"])
    assert frame["K_vrh_stn"].iloc[1] == pytest.approx(expected.moduli["bulk_vrh"], rel=1e-5)
