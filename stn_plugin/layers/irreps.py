"""Irreps conventions shared by the blocks.

``"O(3)"``: natural parity, hidden features ``C x (0e + 1o + 2e + ...)``, spherical harmonics with
parity ``(-1)^l``; the network is invariant under rotations and inversion (so is a strain energy).
``"SO(3)"``: all-even irreps as in the SE(3)-Transformer of the paper; every triangle-allowed path
``(l_in, J) -> l_out`` exists, which costs about 1.6x at lmax 2 (docs/cpu-measurements.md, section 2).
"""

from __future__ import annotations

from typing import Literal

from e3nn import o3

SymmetryGroup = Literal["O(3)", "SO(3)"]


def sh_irreps(lmax: int, group: SymmetryGroup) -> o3.Irreps:
    """Irreps of the spherical harmonics ``Y_0..Y_lmax`` of an edge vector."""
    if group == "O(3)":
        return o3.Irreps.spherical_harmonics(lmax, p=-1)
    return o3.Irreps([(1, (l, 1)) for l in range(lmax + 1)])


def hidden_irreps(channels: int, lmax: int, group: SymmetryGroup) -> o3.Irreps:
    """``channels`` copies of every degree ``0..lmax`` with the parity convention of ``group``."""
    return o3.Irreps([(channels, ir) for _, ir in sh_irreps(lmax, group)])


def scalar_indices(irreps: o3.Irreps) -> list[int]:
    """Feature positions of the ``0e`` components of ``irreps`` (rotation and inversion invariant)."""
    indices: list[int] = []
    for (_mul, ir), sl in zip(irreps, irreps.slices(), strict=True):
        if ir == o3.Irrep("0e"):
            indices.extend(range(sl.start, sl.stop))
    return indices


def channel_groups(irreps: o3.Irreps, num_groups: int) -> list[int]:
    """Group id (e.g. attention head) of every feature position of ``irreps``.

    Within each ``mul x ir`` block, channel ``u`` belongs to group ``u * num_groups // mul``;
    all ``2l + 1`` components of a channel share the group, so scaling per group is equivariant.
    """
    groups: list[int] = []
    for mul, ir in irreps:
        for u in range(mul):
            groups.extend([u * num_groups // mul] * ir.dim)
    return groups
