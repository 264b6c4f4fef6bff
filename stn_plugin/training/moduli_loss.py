"""Differentiable U -> C -> Voigt-Reuss-Hill moduli, for training on crystals with only K_VRH and G_VRH known.

A moduli-only record (e.g. the Materials Project binaries of matcalc's benchmark) has no tensor, so Eq. 9 has
no target; the 21 predicted U_ij still give C by Eq. 3 (:func:`stn_plugin.physics.sed.sed_to_elastic`, which
takes torch tensors) and C gives K_VRH and G_VRH (Voigt from C, Reuss from its inverse S = C^-1:
:func:`stn_plugin.physics.moduli.voigt_averages`, :func:`~stn_plugin.physics.moduli.reuss_averages`), which are
rotation invariant and can be compared with the DFT values.

Near-singular C (an untrained network easily predicts one) would make S and the Reuss moduli explode: C is
shifted by ``(floor - lambda_min) I`` for the Reuss part only when its smallest eigenvalue lambda_min is below
``floor`` (GPa), which leaves every positive-definite C above the floor untouched.
"""

from __future__ import annotations

import torch
from torch import Tensor

from stn_plugin.physics.moduli import reuss_averages, voigt_averages

REUSS_EIGENVALUE_FLOOR_GPA: float = 1.0
"""Smallest eigenvalue of C (GPa) allowed into the compliance of the Reuss averages."""


def vrh_moduli(elastic_tensor: Tensor, floor_gpa: float = REUSS_EIGENVALUE_FLOOR_GPA) -> tuple[Tensor, Tensor]:
    """K_VRH and G_VRH (GPa, each (M,)) of stiffnesses C (M, 6, 6) GPa, differentiable.

    Voigt from C and Reuss from S = C^-1 (:func:`stn_plugin.physics.moduli.voigt_averages`,
    :func:`~stn_plugin.physics.moduli.reuss_averages`); Hill = the means. S is taken of C shifted up to the
    eigenvalue floor ``floor_gpa`` (module docstring).
    """
    C = 0.5 * (elastic_tensor + elastic_tensor.transpose(-1, -2))
    bulk_voigt, shear_voigt = voigt_averages(C)
    shift = torch.relu(floor_gpa - torch.linalg.eigvalsh(C)[:, 0])
    bulk_reuss, shear_reuss = reuss_averages(
        torch.linalg.inv(C + shift[:, None, None] * torch.eye(6, dtype=C.dtype, device=C.device))
    )
    return 0.5 * (bulk_voigt + bulk_reuss), 0.5 * (shear_voigt + shear_reuss)


def expand_class_representatives(sed_representatives: Tensor, structure_classes: Tensor) -> Tensor:
    """The 21 U_ij of M materials from the U of one representative strain per structure class.

    Strain states in one structure class give the same crystal up to a rotation, hence the same U
    (:func:`stn_plugin.physics.symmetry.structure_classes`; the label of a pair is its class's first pair).

    Args:
        sed_representatives: (M, 21), U at the representative pairs (other entries are ignored).
        structure_classes: (M, 21) int64 labels.

    Returns:
        (M, 21) U_ij, ``VOIGT_PAIRS`` order.
    """
    return torch.gather(sed_representatives, 1, structure_classes)
