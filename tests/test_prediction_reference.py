"""The optimised prediction path reproduces the shipped model's numbers from before the speed work (issue 7).

``fixtures/reference_predictions.json`` holds U, C, the moduli and the DCV of five test-split materials
computed by the unoptimised code (see ``fixtures/make_reference_predictions.py``). Every batching
choice must give the same numbers to float32 round-off.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from pymatgen.core import Structure

import stn_plugin

torch.set_num_threads(1)

REFERENCE = json.loads((Path(__file__).parent / "fixtures" / "reference_predictions.json").read_text())
MATERIALS = REFERENCE["materials"]
STRUCTURES = [Structure.from_dict(m["structure"]) for m in MATERIALS]
SED_ATOL = 2e-4
"""meV/atom; the reference U are 0.3 to 20 meV/atom and come from a float32 network."""
C_ATOL = 0.05
"""GPa; C is a difference of U over eps^2 V/N (about 0.04 meV/atom per GPa), so it amplifies U's round-off."""


@pytest.fixture(scope="module")
def model() -> torch.nn.Module:
    return stn_plugin.load(REFERENCE["model"])


@pytest.mark.parametrize("materials_per_batch", [1, 2, 8])
def test_predictions_match_the_unoptimised_reference(model: torch.nn.Module, materials_per_batch: int) -> None:
    predictions = model.predict_structures(STRUCTURES, materials_per_batch=materials_per_batch)
    for reference, prediction in zip(MATERIALS, predictions, strict=True):
        name = reference["material_id"]
        np.testing.assert_allclose(prediction.sed, reference["sed"], rtol=0, atol=SED_ATOL, err_msg=name)
        np.testing.assert_allclose(
            prediction.elastic_tensor.voigt, reference["elastic_tensor"], atol=C_ATOL, err_msg=name
        )
        for key, value in reference["moduli"].items():
            assert prediction.moduli[key] == pytest.approx(value, rel=1e-4, abs=C_ATOL), (name, key)
        np.testing.assert_allclose(prediction.dcv, reference["dcv"], atol=1e-4, err_msg=name)


def test_symmetrized_predictions_match_the_reference(model: torch.nn.Module) -> None:
    pairs = [(m, s) for m, s in zip(MATERIALS, STRUCTURES, strict=True) if "elastic_tensor_symmetrized" in m]
    predictions = model.predict_structures([s for _, s in pairs], symmetrize=True)
    for (reference, _), prediction in zip(pairs, predictions, strict=True):
        np.testing.assert_allclose(
            prediction.elastic_tensor.voigt,
            reference["elastic_tensor_symmetrized"],
            atol=C_ATOL,
            err_msg=reference["material_id"],
        )
