"""Check that a dataset's tensors are in the frame of their structures, through point-group symmetry.

If C is expressed in the Cartesian frame of its structure, C is invariant under the structure's
point group (given in that same frame), so projecting C onto the group (averaging the rotated tensor
over the group, :func:`stn_plugin.physics.symmetry.project_elastic_tensor`) changes it only by the
numerical noise of the fit. A tensor in another frame (e.g. IEEE for a cell that the IEEE convention
rotates) loses its symmetry-forbidden parts and changes by much more. The measure is the relative
Frobenius residual ||P(C) - C||_F / ||C||_F of the rank-4 tensors C_ijkl (3x3x3x3). Unlike the norm of
the 6x6 Voigt matrix, which weighs shear entries differently from normal ones, it does not depend on
the orientation of the frame.

Low-symmetry groups (triclinic -1, monoclinic 2/m) constrain C weakly, so the check has little power
there; it is decisive for cubic, hexagonal and tetragonal crystals.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Literal

import numpy as np
from numpy.typing import ArrayLike
from pydantic import BaseModel, ConfigDict
from pymatgen.core import Structure
from pymatgen.core.tensors import Tensor

from stn_plugin.data.records import CRYSTAL_SYSTEMS, ElasticRecord
from stn_plugin.physics.symmetry import point_group_operations, project_elastic_tensor

FRAME_TOLERANCE: float = 0.02
"""Largest relative Frobenius change under projection accepted as 'same frame' (2 %)."""

TensorChoice = Literal["structure", "ieee"]
"""Which tensor of a record to test: ``elastic_tensor`` (structure frame) or ``elastic_tensor_ieee``."""


class FrameConsistency(BaseModel):
    """Frame check of one crystal system.

    Attributes:
        crystal_system: the system.
        n: records tested.
        n_within: records whose residual is below the tolerance.
        fraction: n_within / n.
        worst: the largest residual (dimensionless).
    """

    model_config = ConfigDict(frozen=True)

    crystal_system: str
    n: int
    n_within: int
    fraction: float
    worst: float


def projection_residual(elastic_tensor: ArrayLike, structure: Structure) -> float:
    """||P(C) - C||_F / ||C||_F (rank-4 norms) for C projected onto the point group of ``structure``.

    Args:
        elastic_tensor: C, 6x6 Voigt matrix (any unit), in the frame of ``structure``.
        structure: the crystal; its point group is taken in its own Cartesian frame.

    Returns:
        the relative change, dimensionless (0 for a tensor with the crystal's symmetry); NaN for C = 0, which has
        every symmetry and no scale (the modulus checks refuse such a record).
    """
    C = np.asarray(elastic_tensor, dtype=float)
    norm = np.linalg.norm(np.asarray(Tensor.from_voigt(C)))
    if norm == 0:
        return float("nan")
    projected = project_elastic_tensor(C, point_group_operations(structure))
    return float(np.linalg.norm(np.asarray(Tensor.from_voigt(projected - C))) / norm)


def frame_consistency(
    records: Iterable[ElasticRecord],
    tensor: TensorChoice = "structure",
    tolerance: float = FRAME_TOLERANCE,
) -> dict[str, FrameConsistency]:
    """Fraction of records per crystal system whose tensor survives the symmetry projection.

    Args:
        records: the dataset; records without the requested tensor are not counted.
        tensor: ``"structure"`` tests ``elastic_tensor``, ``"ieee"`` tests ``elastic_tensor_ieee``.
        tolerance: accepted relative Frobenius change.

    Returns:
        crystal system -> result, in ``CRYSTAL_SYSTEMS`` order, only systems present.
    """
    residuals: dict[str, list[float]] = {}
    for record in records:
        C = record.elastic_tensor if tensor == "structure" else record.elastic_tensor_ieee
        if C is None:
            continue
        residuals.setdefault(record.crystal_system, []).append(projection_residual(C, record.structure))
    results: dict[str, FrameConsistency] = {}
    for system in (s for s in CRYSTAL_SYSTEMS if s in residuals):
        values = np.array(residuals[system])
        n_within = int(np.sum(values < tolerance))
        results[system] = FrameConsistency(
            crystal_system=system,
            n=len(values),
            n_within=n_within,
            fraction=n_within / len(values),
            worst=float(values.max()),
        )
    return results
