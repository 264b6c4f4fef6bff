"""The prediction path reproduces the bundled models' pinned numbers for every batching choice.

``fixtures/reference_predictions.json`` holds U, C, the moduli, the DCV and (for the two-network ``stn-mp-2023``)
the members' spread of five test-split materials, raw and projected onto the point group
(``fixtures/make_reference_predictions.py``). Every batching choice must give the same numbers to float32
round-off.
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
MATERIAL_IDS = list(REFERENCE["structures"])
STRUCTURES = [Structure.from_dict(REFERENCE["structures"][m]) for m in MATERIAL_IDS]
SED_ATOL = 2e-3
"""meV/atom (reference U: 0.3 to 20 meV/atom). Reordered float32 sums (batching, sliced matmuls) move U by
<= 8e-4 meV/atom for Al13Os4 and <= 2e-5 meV/atom for the other materials; a real bug changes U by far more."""
C_ATOL = 0.1
"""GPa; C = (U_ij - U_ii - U_jj) / (eps^2 V/N) amplifies U's round-off."""
DCV_ATOL = 1e-2
"""Class probabilities sigmoid(10 logit): near 0.5 they move 2.5x as much as the logits."""


def assert_matches(reference: dict, prediction, name: str) -> None:
    np.testing.assert_allclose(prediction.sed, reference["sed"], rtol=0, atol=SED_ATOL, err_msg=name)
    np.testing.assert_allclose(prediction.elastic_tensor.voigt, reference["elastic_tensor"], atol=C_ATOL, err_msg=name)
    for key, value in reference["moduli"].items():
        assert prediction.moduli[key] == pytest.approx(value, rel=1e-3, abs=C_ATOL), (name, key)
    np.testing.assert_allclose(prediction.dcv, reference["dcv"], atol=DCV_ATOL, err_msg=name)
    if "moduli_std" in reference:
        np.testing.assert_allclose(
            prediction.elastic_tensor_std, reference["elastic_tensor_std"], atol=C_ATOL, err_msg=name
        )
        for key, value in reference["moduli_std"].items():
            assert prediction.moduli_std[key] == pytest.approx(value, rel=1e-3, abs=C_ATOL), (name, key)
    else:
        assert prediction.moduli_std is None


@pytest.fixture(scope="module", params=sorted(REFERENCE["predictions"]))
def named_model(request: pytest.FixtureRequest):
    return request.param, stn_plugin.load(request.param)


@pytest.mark.parametrize(("materials_per_batch", "max_edges_per_pass"), [(1, None), (2, 200_000), (8, 3_000)])
def test_raw_predictions_match_the_reference(named_model, materials_per_batch: int, max_edges_per_pass) -> None:
    """Any grouping of materials and any edge budget (3,000 edges cuts passes inside the graphs of a material)."""
    name, model = named_model
    predictions = model.predict_structures(
        STRUCTURES, symmetrize=False, materials_per_batch=materials_per_batch, max_edges_per_pass=max_edges_per_pass
    )
    for material_id, prediction in zip(MATERIAL_IDS, predictions, strict=True):
        assert_matches(REFERENCE["predictions"][name][material_id]["raw"], prediction, f"{name} {material_id}")


def test_symmetrized_predictions_match_the_reference(named_model) -> None:
    name, model = named_model
    predictions = model.predict_structures(STRUCTURES, symmetrize=True)
    for material_id, prediction in zip(MATERIAL_IDS, predictions, strict=True):
        assert_matches(REFERENCE["predictions"][name][material_id]["symmetrized"], prediction, f"{name} {material_id}")
