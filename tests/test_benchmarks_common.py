"""``benchmarks._common.load_model``: a registry name or folder, or models joined by ``+`` as the committee of their
networks."""

from __future__ import annotations

import numpy as np
from pymatgen.core import Lattice, Structure

from benchmarks._common import load_model
from tests.test_cli_helpers import save_tiny_model


def test_plus_joins_models_into_the_committee_of_their_networks(tmp_path) -> None:
    """Two different networks joined: C is linear in U, so the committee's C is the mean of theirs and differs from
    each; the same network twice is refused."""
    nacl = Structure.from_spacegroup("Fm-3m", Lattice.cubic(5.64), ["Na", "Cl"], [[0, 0, 0], [0.5, 0.5, 0.5]])
    first, second = (str(save_tiny_model(tmp_path / f"tiny{seed}", seed=seed)) for seed in (0, 1))
    c_first, c_second = (load_model(name).predict_structure(nacl).elastic_tensor.voigt for name in (first, second))
    joined = load_model(f"{first}+{second}")
    assert len(joined.networks) == 2
    c_joined = joined.predict_structure(nacl).elastic_tensor.voigt
    np.testing.assert_allclose(c_joined, (c_first + c_second) / 2, atol=1e-4)
    assert np.abs(c_joined - c_first).max() > 1e-3 and np.abs(c_joined - c_second).max() > 1e-3
    assert len(load_model("stn-mp-2023").networks) == 2
