"""Predictions are continuous in the atomic positions: noise below the symmetry tolerance moves C little.

Every atom of a real crystal (several crystal systems, conventional and supercell inputs) is moved by a random
vector of fixed length (0.001-0.02 Angstrom; ``benchmarks/rattle_continuity.py`` prints the numbers) and the
bundled model's C is compared with that of the ideal crystal.
The canonical cell is made of spglib's refined positions at ``DEFAULT_SYMPREC`` (0.1 Angstrom), so a crystal
without free coordinates predicts exactly as its ideal self, and one with free coordinates (rutile's oxygen x,
wurtzite's u) moves by the network's response to the shifted free coordinate (a few percent at most).
"""

from __future__ import annotations

import numpy as np
import pytest

import stn_plugin
from benchmarks.rattle_continuity import CRYSTALS, STEPS, largest_changes, rattled
from stn_plugin.physics.symmetry import DEFAULT_SYMPREC


@pytest.fixture(scope="module")
def model():
    return stn_plugin.load("stn-mp-2023")


@pytest.mark.parametrize("name", list(CRYSTALS))
def test_rattle_below_the_tolerance_moves_c_by_at_most_a_few_percent(model, name: str) -> None:
    ideal, allowed = CRYSTALS[name]
    assert max(STEPS) < DEFAULT_SYMPREC
    _, rows = largest_changes(model, ideal)
    assert max(change for change, _ in rows) <= allowed, dict(zip(STEPS, rows, strict=True))


def test_a_rattle_at_0_004_angstrom_no_longer_lowers_nacl_to_p4nmm(model) -> None:
    """The case of the report: 0.004 Angstrom gave P4/nmm at symprec 0.01 and B_V 26 -> 35 GPa."""
    ideal = CRYSTALS["NaCl (cubic, conventional)"][0]
    ideal_prediction, noisy_prediction = model.predict_structures([ideal, rattled(ideal, 0.004, 0)])
    assert noisy_prediction.moduli["bulk_voigt"] == pytest.approx(ideal_prediction.moduli["bulk_voigt"], rel=1e-5)
    c = noisy_prediction.elastic_tensor.voigt  # projected onto m-3m: cubic pattern
    np.testing.assert_allclose(np.diag(c)[:3], c[0, 0], rtol=1e-6)
    np.testing.assert_allclose(np.diag(c)[3:], c[3, 3], rtol=1e-6)
    np.testing.assert_allclose([c[0, 1], c[0, 2], c[1, 2]], c[0, 1], rtol=1e-6)
