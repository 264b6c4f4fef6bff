"""Predictions are continuous in the atomic positions: noise below the symmetry tolerance moves C little.

Every atom of a real crystal (several crystal systems, conventional and supercell inputs) is moved by a random
vector of fixed length (0.001-0.02 Angstrom) and the bundled model's C is compared with that of the ideal crystal.
The canonical cell is made of spglib's refined positions at ``DEFAULT_SYMPREC`` (0.1 Angstrom), so a crystal
without free coordinates predicts exactly as its ideal self, and one with free coordinates (rutile's oxygen x,
wurtzite's u) moves by the network's response to the shifted free coordinate (a few percent at most).
"""

from __future__ import annotations

import numpy as np
import pytest
from pymatgen.core import Lattice, Structure

import stn_plugin
from stn_plugin.physics.symmetry import DEFAULT_SYMPREC

STEPS = (0.001, 0.005, 0.01, 0.02)
"""Length of every atom's random displacement, Angstrom."""

CRYSTALS: dict[str, tuple[Structure, float]] = {
    # name: (ideal structure, largest relative Frobenius change of C allowed)
    "NaCl (cubic, conventional)": (
        Structure.from_spacegroup("Fm-3m", Lattice.cubic(5.69), ["Na", "Cl"], [[0, 0, 0], [0.5, 0.5, 0.5]]),
        1e-4,
    ),
    "Si (cubic, 2x1x1 supercell)": (
        Structure.from_spacegroup("Fd-3m", Lattice.cubic(5.47), ["Si"], [[0, 0, 0]]) * (2, 1, 1),
        1e-4,
    ),
    "Ti (hexagonal, hcp)": (
        Structure.from_spacegroup("P6_3/mmc", Lattice.hexagonal(2.95, 4.68), ["Ti"], [[1 / 3, 2 / 3, 0.25]]),
        1e-4,
    ),
    "TiO2 rutile (tetragonal, free O x)": (
        Structure.from_spacegroup(
            "P4_2/mnm", Lattice.tetragonal(4.59, 2.96), ["Ti", "O"], [[0, 0, 0], [0.305, 0.305, 0]]
        ),
        0.08,
    ),
    "ZnO wurtzite (hexagonal, free u)": (
        Structure.from_spacegroup(
            "P6_3mc", Lattice.hexagonal(3.25, 5.21), ["Zn", "O"], [[1 / 3, 2 / 3, 0], [1 / 3, 2 / 3, 0.382]]
        ),
        0.08,
    ),
}


@pytest.fixture(scope="module")
def model():
    return stn_plugin.load("stn-mp-2023")


def rattled(structure: Structure, step: float, seed: int) -> Structure:
    """Every atom of ``structure`` moved ``step`` Angstrom in a random direction."""
    moves = np.random.default_rng(seed).normal(size=(len(structure), 3))
    moves *= step / np.linalg.norm(moves, axis=1, keepdims=True)
    return Structure(structure.lattice, structure.species, structure.cart_coords + moves, coords_are_cartesian=True)


@pytest.mark.parametrize("name", list(CRYSTALS))
def test_rattle_below_the_tolerance_moves_c_by_at_most_a_few_percent(model, name: str) -> None:
    ideal, allowed = CRYSTALS[name]
    assert max(STEPS) < DEFAULT_SYMPREC
    reference = model.predict_structures([ideal])[0].elastic_tensor.voigt
    noisy = [rattled(ideal, step, seed) for step in STEPS for seed in (0, 1)]
    changes = [
        np.linalg.norm(p.elastic_tensor.voigt - reference) / np.linalg.norm(reference)
        for p in model.predict_structures(noisy)
    ]
    assert max(changes) <= allowed, dict(zip([f"{s} A" for s in STEPS for _ in (0, 1)], changes, strict=True))


def test_a_rattle_at_0_004_angstrom_no_longer_lowers_nacl_to_p4nmm(model) -> None:
    """The case of the report: 0.004 Angstrom gave P4/nmm at symprec 0.01 and B_V 26 -> 35 GPa."""
    ideal = CRYSTALS["NaCl (cubic, conventional)"][0]
    ideal_prediction, noisy_prediction = model.predict_structures([ideal, rattled(ideal, 0.004, 0)])
    assert noisy_prediction.moduli["bulk_voigt"] == pytest.approx(ideal_prediction.moduli["bulk_voigt"], rel=1e-5)
    c = noisy_prediction.elastic_tensor.voigt  # projected onto m-3m: cubic pattern
    np.testing.assert_allclose(np.diag(c)[:3], c[0, 0], rtol=1e-6)
    np.testing.assert_allclose(np.diag(c)[3:], c[3, 3], rtol=1e-6)
    np.testing.assert_allclose([c[0, 1], c[0, 2], c[1, 2]], c[0, 1], rtol=1e-6)
