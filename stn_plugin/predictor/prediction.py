"""Elastic prediction of one crystal from its 21 predicted strain energy densities."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from functools import cached_property

import numpy as np
from numpy.typing import NDArray
from pymatgen.analysis.elasticity import ElasticTensor
from pymatgen.core import Structure

from stn_plugin.graph.material import PreparedMaterial
from stn_plugin.physics.acoustics import AcousticProperties, acoustic_properties
from stn_plugin.physics.directional import Extremum, directional_extrema
from stn_plugin.physics.frames import rotate_elastic_tensor
from stn_plugin.physics.moduli import elastic_moduli
from stn_plugin.physics.sed import elastic_to_sed, sed_to_elastic
from stn_plugin.physics.stability import BornStability, born_stability
from stn_plugin.physics.symmetry import project_elastic_tensor
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
        structure: the crystal predicted (for the properties that need its density); None when not attached
            (then pass it to :meth:`acoustic_properties`).
        canonical_rotation: (3, 3) R taking the canonical frame the networks work in to the structure's frame
            (``r_user = R @ r_canonical``; :meth:`to_canonical_frame`); None when not known.
        point_group: (n, 3, 3) the crystal's point-group operations, Cartesian in the canonical frame (what
            ``symmetrized`` projects onto); None when not known.

    Derived from ``elastic_tensor`` on first use: :attr:`stability` (Born criterion, always defined),
    :attr:`directional_extrema` (ELATE-style min/max of E, linear compressibility, G and nu; None unless C is
    stable) and :meth:`acoustic_properties` (sound velocities, Debye temperature, minimum thermal conductivities).
    """

    sed: NDArray[np.float64]
    elastic_tensor: ElasticTensor
    moduli: Mapping[str, float]
    dcv: NDArray[np.float64] | None
    strain: float
    symmetrized: bool
    elastic_tensor_std: NDArray[np.float64] | None = None
    moduli_std: Mapping[str, float] | None = None
    structure: Structure | None = None
    canonical_rotation: NDArray[np.float64] | None = None
    point_group: NDArray[np.float64] | None = None

    def to_canonical_frame(self, elastic_tensor: NDArray[np.floating] | None = None) -> NDArray[np.float64]:
        """A Voigt C (6, 6) GPa in the structure's frame (default: the predicted one) expressed in the canonical
        frame (for a uniaxial crystal the unique axis is z, so C33 is its stiffness along c).

        Raises:
            ValueError: the prediction does not know its canonical frame.
        """
        if self.canonical_rotation is None:
            raise ValueError("this prediction carries no canonical_rotation.")
        C = self.elastic_tensor.voigt if elastic_tensor is None else elastic_tensor
        return rotate_elastic_tensor(C, self.canonical_rotation.T)

    @cached_property
    def stability(self) -> BornStability:
        """Born stability of C: verdict, eigenvalues (GPa) and the failing conditions."""
        return born_stability(self.elastic_tensor.voigt)

    @cached_property
    def directional_extrema(self) -> dict[str, Extremum] | None:
        """Min/max of the directional E (GPa), linear compressibility (1/TPa), G (GPa) and Poisson ratio with
        their directions (frame of the structure); None unless C is Born stable (an unstable C has directions
        where E passes through infinity, a singular one no compliance)."""
        return directional_extrema(self.elastic_tensor) if self.stability.stable else None

    def acoustic_properties(self, structure: Structure | None = None) -> AcousticProperties:
        """Sound velocities (m/s), Debye temperature (K), Clarke/Cahill conductivity (W/(m K)) and universal
        anisotropy, from pymatgen's ``ElasticTensor`` for ``structure`` (default: the attached one); all None,
        with the reason, for an unstable C or without a structure."""
        structure = structure if structure is not None else self.structure
        reason = self.stability.reason or (None if structure is not None else "no structure attached")
        if reason is not None or structure is None:
            return AcousticProperties(None, None, None, None, None, None, reason=reason)
        return acoustic_properties(self.elastic_tensor, structure)


def elastic_prediction(
    material: PreparedMaterial,
    sed_components: NDArray[np.floating],
    dcv: NDArray[np.floating] | None,
    strain: float,
    symmetrize: bool = True,
    member_sed_components: NDArray[np.floating] | None = None,
    structure: Structure | None = None,
) -> ElasticPrediction:
    """Assemble an :class:`ElasticPrediction` in the user's frame from the 21 U_ij predicted in the canonical frame.

    The network predicts U_ij (meV/atom, VOIGT_PAIRS order) of the canonical cell strained along its own
    axes (:mod:`stn_plugin.graph.material`); Eq. 3 gives C there (projected onto the canonical cell's point
    group when ``symmetrize``), the exact rank-4 rotation by ``material.rotation`` brings C into the user's
    frame, and Eq. 2 gives U in the user's frame from that C. So a rotated input gives the rotated tensor,
    and every cell of one crystal (primitive, conventional, supercell) the same tensor.

    ``member_sed_components`` (K, 21): the U_ij of each member of an ensemble (``sed_components`` is their
    mean); their spread gives ``elastic_tensor_std`` and ``moduli_std``. ``structure``: the user's structure,
    attached to the result (``ElasticPrediction.structure``).
    """
    volume_per_atom = material.volume_per_atom
    operations = material.point_group if symmetrize else None

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
        structure=structure,
        canonical_rotation=material.rotation,
        point_group=material.point_group,
    )
