"""``benchmarks._common.load_model``: a registry name, or members joined by ``+`` as their ensemble."""

from __future__ import annotations

import numpy as np
from pymatgen.core import Lattice, Structure

from benchmarks._common import load_model
from stn_plugin.models import StnEnsemble


def test_plus_joins_members_into_an_ensemble_of_their_mean() -> None:
    si = Structure.from_spacegroup("Fd-3m", Lattice.cubic(5.47), ["Si"], [[0, 0, 0]])
    single = load_model("stn-mp-2023-fast")
    assert not isinstance(single, StnEnsemble)
    pair = load_model("stn-mp-2023-fast+stn-mp-2023-fast")
    assert isinstance(pair, StnEnsemble) and len(pair.members) == 2
    np.testing.assert_allclose(
        pair.predict_structure(si).elastic_tensor.voigt, single.predict_structure(si).elastic_tensor.voigt, atol=1e-6
    )
