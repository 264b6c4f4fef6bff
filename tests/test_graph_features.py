"""Node features: values for every supported element, clear errors, standardiser round trip."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from pymatgen.core import Element

from stn_plugin.graph import ATOM_SCALAR_NAMES, AtomScalarStandardizer, ElementDataError, atom_scalars, element_scalars
from tests.graph_fixtures import bundled_structures

torch.set_num_threads(1)

# pymatgen has no Pauling electronegativity for He, Ne, Ar and no radius for At, Fr
MISSING = {
    "He": "electronegativity",
    "Ne": "electronegativity",
    "Ar": "electronegativity",
    "At": "radius",
    "Fr": "radius",
}


@pytest.mark.parametrize("z", range(1, 95))
def test_every_element_has_values_or_a_clear_error(z: int) -> None:
    symbol = Element.from_Z(z).symbol
    if symbol in MISSING:
        with pytest.raises(ElementDataError) as info:
            element_scalars(z)
        assert symbol in str(info.value) and MISSING[symbol] in str(info.value)
    else:
        values = np.array(element_scalars(z))
        assert values.shape == (len(ATOM_SCALAR_NAMES),) and np.all(np.isfinite(values)) and np.all(values > 0)


def test_known_values() -> None:
    mass, x, alpha, radius = element_scalars(6)
    assert mass == pytest.approx(12.011, abs=1e-3) and x == pytest.approx(2.55)
    assert alpha == pytest.approx(11.3, abs=0.1) and radius == pytest.approx(0.7)
    assert element_scalars(1)[2] == pytest.approx(4.50711)


def test_out_of_range() -> None:
    with pytest.raises(ElementDataError, match="95"):
        element_scalars(95)


def test_standardizer_fit_and_round_trip() -> None:
    structures = list(bundled_structures().values())[:50]
    standardizer = AtomScalarStandardizer.fit(structures)
    x = torch.as_tensor(np.concatenate([atom_scalars(s.atomic_numbers) for s in structures]), dtype=torch.float32)
    z = standardizer(x)
    torch.testing.assert_close(z.mean(0), torch.zeros(4), atol=1e-4, rtol=0)
    torch.testing.assert_close(z.std(0, unbiased=False), torch.ones(4), atol=1e-4, rtol=0)
    again = AtomScalarStandardizer.from_dict(standardizer.to_dict())
    torch.testing.assert_close(again(x), z)
    loaded = AtomScalarStandardizer([0.0] * 4, [1.0] * 4)
    loaded.load_state_dict(standardizer.state_dict())
    torch.testing.assert_close(loaded(x), z)
