"""Elastic prediction of one crystal from its 21 predicted strain energy densities."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray
from pymatgen.analysis.elasticity import ElasticTensor
from pymatgen.core import Structure

from stn_plugin.physics.moduli import elastic_moduli
from stn_plugin.physics.sed import elastic_to_sed, sed_to_elastic
from stn_plugin.physics.symmetry import point_group_operations, project_elastic_tensor
from stn_plugin.physics.voigt import from_upper_triangle


@dataclass(frozen=True)
class ElasticPrediction:
    """Prediction for one crystal, in the Cartesian frame of the structure passed in.

    Attributes:
        sed: U, (6, 6) symmetric, meV/atom (recomputed from the projected C when symmetrized).
        elastic_tensor: C, pymatgen ``ElasticTensor``, GPa.
        moduli: ``bulk_voigt, shear_voigt, bulk_reuss, shear_reuss, bulk_vrh, shear_vrh, young``
            (GPa) and ``poisson`` (dimensionless).
        dcv: (21, 21); row k = predicted class probabilities for the strain ``VOIGT_PAIRS[k]``
            (StrainTensorNet), the known DCV the model was given (Fig. 6 b, c), or None (Fig. 6 a).
        strain: strain magnitude used for the strained graphs and Eq. 3.
        symmetrized: whether C was projected onto the crystal's point group.
    """

    sed: NDArray[np.float64]
    elastic_tensor: ElasticTensor
    moduli: Mapping[str, float]
    dcv: NDArray[np.float64] | None
    strain: float
    symmetrized: bool


def elastic_prediction(
    structure: Structure,
    sed_components: NDArray[np.floating],
    dcv: NDArray[np.floating] | None,
    strain: float,
    symmetrize: bool = True,
) -> ElasticPrediction:
    """Assemble an :class:`ElasticPrediction` from the 21 predicted U_ij (meV/atom, VOIGT_PAIRS order)."""
    volume_per_atom = structure.volume / len(structure)
    sed = from_upper_triangle(np.asarray(sed_components, dtype=float))
    C = sed_to_elastic(sed, volume_per_atom, strain)
    if symmetrize:
        C = project_elastic_tensor(C, point_group_operations(structure))
        sed = elastic_to_sed(C, volume_per_atom, strain)
    return ElasticPrediction(
        sed=sed,
        elastic_tensor=ElasticTensor.from_voigt(C),
        moduli=elastic_moduli(C).as_mapping(),
        dcv=None if dcv is None else np.asarray(dcv, dtype=float),
        strain=float(strain),
        symmetrized=symmetrize,
    )
