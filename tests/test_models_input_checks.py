"""Bad structures get typed errors that name the problem and the fix; valid unusual cells pass."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from pymatgen.core import Lattice, Structure

from stn_plugin.models.input_checks import (
    DisorderedStructureError,
    InvalidLatticeError,
    IsolatedAtomsError,
    OverlappingAtomsError,
    StructureInputError,
    UnsupportedElementError,
)

from .test_models_straintensornet import tiny_model

torch.set_num_threads(1)


def rocksalt() -> Structure:
    return Structure.from_spacegroup("Fm-3m", Lattice.cubic(5.64), ["Na", "Cl"], [[0, 0, 0], [0.5, 0.5, 0.5]]).get_primitive_structure()


@pytest.fixture(scope="module")
def model() -> torch.nn.Module:
    return tiny_model().eval()


@pytest.mark.parametrize(
    ("structure", "error", "words"),
    [
        (
            Structure(Lattice.cubic(4.0), [{"Fe": 0.5, "Ni": 0.5}], [[0, 0, 0]]),
            DisorderedStructureError,
            "partial occupancies",
        ),
        (Structure(Lattice.cubic(4.0), ["Na", "Cl"], [[0, 0, 0], [0.05, 0, 0]]), OverlappingAtomsError, "0.200 Angstrom"),
        (Structure(Lattice([[4, 0, 0], [0, 4, 0], [4, 4, 0]]), ["Na"], [[0, 0, 0]]), InvalidLatticeError, "zero volume"),
        (Structure(Lattice.cubic(4.0), ["Og"], [[0, 0, 0]]), UnsupportedElementError, "Og"),
        (Structure(Lattice.cubic(4.0), ["Ar"], [[0, 0, 0]]), UnsupportedElementError, "Ar"),
        (Structure(Lattice.cubic(20.0), ["Na"], [[0, 0, 0]]), IsolatedAtomsError, "no neighbour"),
    ],
    ids=["disordered", "overlap", "collapsed", "beyond-embedding", "no-features", "atom-in-vacuum"],
)
def test_bad_structures_raise_typed_errors_with_a_fix(model, structure: Structure, error: type, words: str) -> None:
    with pytest.raises(error, match=words) as info:
        model.predict_structure(structure)
    assert isinstance(info.value, StructureInputError) and "Fix:" in str(info.value)


def test_nan_lattice_is_rejected(model) -> None:
    s = rocksalt()
    broken = Structure(Lattice(np.where(np.eye(3, dtype=bool), np.nan, s.lattice.matrix)), s.species, s.frac_coords)
    with pytest.raises(InvalidLatticeError, match="NaN"):
        model.predict_structure(broken)


def test_left_handed_and_non_reduced_cells_are_valid_crystals(model) -> None:
    s = rocksalt()
    reference = model.predict_structure(s).moduli["bulk_voigt"]
    a, b, c = s.lattice.matrix
    left = Structure(Lattice([b, a, c]), s.species, s.frac_coords[:, [1, 0, 2]])
    assert np.linalg.det(left.lattice.matrix) < 0
    skewed = Structure(Lattice([a, b + a, c + a + b]), s.species, s.cart_coords, coords_are_cartesian=True)
    for cell in (left, skewed):
        assert model.predict_structure(cell).moduli["bulk_voigt"] == pytest.approx(reference, rel=1e-4)
