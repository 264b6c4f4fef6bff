"""Elastic prediction of one crystal from its 21 predicted strain energy densities."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray
from pymatgen.analysis.elasticity import ElasticTensor

from stn_plugin.graph.material import PreparedMaterial
from stn_plugin.physics.frames import rotate_elastic_tensor
from stn_plugin.physics.moduli import elastic_moduli
from stn_plugin.physics.sed import elastic_to_sed, sed_to_elastic
from stn_plugin.physics.symmetry import point_group_operations, project_elastic_tensor
from stn_plugin.physics.voigt import from_upper_triangle


@dataclass(frozen=True)
class ElasticPrediction:
    """Prediction for one crystal, in the Cartesian frame of the structure passed in.

    Attributes:
        sed: U, (6, 6) symmetric, meV/atom, of the user-frame strains (Eq. 2 from ``elastic_tensor``).
        elastic_tensor: C, pymatgen ``ElasticTensor``, GPa.
        moduli: ``bulk_voigt, shear_voigt, bulk_reuss, shear_reuss, bulk_vrh, shear_vrh, young``
            (GPa) and ``poisson`` (dimensionless).
        dcv: (21, 21); row k = predicted class probabilities for the strain ``VOIGT_PAIRS[k]`` of the canonical
            cell (the frame the network works in, ``docs/conventions.md``)
            (StrainTensorNet), the known DCV the model was given (Fig. 6 b, c), or None (Fig. 6 a).
        strain: strain magnitude used for the strained graphs and Eq. 3.
        symmetrized: whether C was projected onto the crystal's point group.
        elastic_tensor_std: for an ensemble, the standard deviation of its members' C, (6, 6) GPa (each
            member's C projected too when symmetrized); None for a single model.
        moduli_std: for an ensemble, the standard deviation of its members' moduli (keys of ``moduli``);
            None for a single model.
    """

    sed: NDArray[np.float64]
    elastic_tensor: ElasticTensor
    moduli: Mapping[str, float]
    dcv: NDArray[np.float64] | None
    strain: float
    symmetrized: bool
    elastic_tensor_std: NDArray[np.float64] | None = None
    moduli_std: Mapping[str, float] | None = None


def elastic_prediction(
    material: PreparedMaterial,
    sed_components: NDArray[np.floating],
    dcv: NDArray[np.floating] | None,
    strain: float,
    symmetrize: bool = True,
    member_sed_components: NDArray[np.floating] | None = None,
) -> ElasticPrediction:
    """Assemble an :class:`ElasticPrediction` in the user's frame from the 21 U_ij predicted in the canonical frame.

    The network predicts U_ij (meV/atom, VOIGT_PAIRS order) of the canonical cell strained along its own
    axes (:mod:`stn_plugin.graph.material`); Eq. 3 gives C there (projected onto the canonical cell's point
    group when ``symmetrize``), the exact rank-4 rotation by ``material.rotation`` brings C into the user's
    frame, and Eq. 2 gives U in the user's frame from that C. So a rotated input gives the rotated tensor,
    and every cell of one crystal (primitive, conventional, supercell) the same tensor.

    ``member_sed_components`` (K, 21): the U_ij of each member of an ensemble (``sed_components`` is their
    mean); their spread gives ``elastic_tensor_std`` and ``moduli_std``.
    """
    volume_per_atom = material.volume_per_atom
    operations = point_group_operations(material.structure()) if symmetrize else None

    def elastic_tensor(components: NDArray[np.floating]) -> NDArray[np.float64]:
        C = sed_to_elastic(from_upper_triangle(np.asarray(components, dtype=float)), volume_per_atom, strain)
        if operations is not None:
            C = project_elastic_tensor(C, operations)
        return rotate_elastic_tensor(C, material.rotation)

    C = elastic_tensor(sed_components)
    elastic_tensor_std = moduli_std = None
    if member_sed_components is not None:
        members = np.stack([elastic_tensor(components) for components in member_sed_components])
        elastic_tensor_std = members.std(axis=0)
        member_moduli = [elastic_moduli(member).as_mapping() for member in members]
        moduli_std = {key: float(np.std([m[key] for m in member_moduli])) for key in member_moduli[0]}
    return ElasticPrediction(
        sed=elastic_to_sed(C, volume_per_atom, strain),
        elastic_tensor=ElasticTensor.from_voigt(C),
        moduli=elastic_moduli(C).as_mapping(),
        dcv=None if dcv is None else np.asarray(dcv, dtype=float),
        strain=float(strain),
        symmetrized=symmetrize,
        elastic_tensor_std=elastic_tensor_std,
        moduli_std=moduli_std,
    )
