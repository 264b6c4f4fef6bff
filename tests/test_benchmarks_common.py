"""``benchmarks._common.load_model``: a registry name, or members joined by ``+`` as their ensemble."""

from __future__ import annotations

import numpy as np
from pymatgen.core import Lattice, Structure

from benchmarks._common import load_model
from stn_plugin.models import StnEnsemble
from stn_plugin.models.loading import save_model_dir


def test_plus_joins_members_into_an_ensemble_of_their_mean(tmp_path) -> None:
    """The two networks of the bundled stn-mp-2023, saved as folders and joined again with ``+``: the ensemble
    predicts the members' mean (C is linear in U), which is neither member's tensor, and equals the bundled
    committee."""
    si = Structure.from_spacegroup("Fd-3m", Lattice.cubic(5.47), ["Si"], [[0, 0, 0]])
    bundled = load_model("stn-mp-2023")
    folders = [save_model_dir(member, tmp_path / f"member{i}") for i, member in enumerate(bundled.members)]
    singles = [load_model(str(folder)) for folder in folders]
    assert not any(isinstance(single, StnEnsemble) for single in singles)
    pair = load_model("+".join(str(folder) for folder in folders))
    assert isinstance(pair, StnEnsemble) and len(pair.members) == 2

    def tensor(model) -> np.ndarray:
        return np.asarray(model.predict_structure(si, symmetrize=False).elastic_tensor.voigt)

    first, second = (tensor(single) for single in singles)
    assert np.abs(first - second).max() > 1.0  # GPa: two different networks
    np.testing.assert_allclose(tensor(pair), (first + second) / 2, atol=1e-4)
    np.testing.assert_allclose(tensor(pair), tensor(bundled), atol=1e-4)
