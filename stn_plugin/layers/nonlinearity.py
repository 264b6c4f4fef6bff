"""Equivariant norm nonlinearity (the authors' GNormSE3 with a smooth activation)."""

from __future__ import annotations

from collections.abc import Callable

import torch
from e3nn import o3
from torch import Tensor, nn


class NormNonlinearity(nn.Module):
    """Per irrep block ``mul x ir``: LayerNorm over channels, then an activation.

    * ``l = 0``: ``act(LayerNorm(x))`` on the scalars themselves (keeps their sign, unlike the
      authors' ``ReLU(LN(|x|)) sign(x)``);
    * ``l > 0``: channel norms ``n_u = sqrt(|x_u|^2 + eps^2)``, ``x_u * act(LayerNorm(n))_u / n_u``,
      i.e. every ``(2l+1)``-vector is rescaled by an invariant, so the map is equivariant. Vectors with
      ``|x_u| <= zero_threshold`` are set to zero.

    Why the threshold: the rescaling gives every nonzero vector a length of order one whatever its
    size, so a vector that symmetry makes zero (an l = 1 feature on an atom with inversion or
    tetrahedral site symmetry) but that float round-off leaves at 1e-7 comes out as a unit vector in
    a random direction. Without the threshold, predictions for such crystals change by several GPa
    between float32 and float64 or when the crystal is translated. Strain-induced features are of
    order strain (1e-2) times the feature scale, far above the default threshold.

    Args:
        irreps: feature irreps (input = output).
        activation: scalar activation.
        eps: norm regulariser (keeps the gradient finite at ``x = 0``).
        zero_threshold: vector norms at or below it count as zero (feature units; 0 = off).
    """

    def __init__(
        self,
        irreps: o3.Irreps,
        activation: Callable[[Tensor], Tensor] = nn.functional.silu,
        eps: float = 1e-6,
        zero_threshold: float = 1e-4,
    ):
        super().__init__()
        self.irreps_in = self.irreps_out = o3.Irreps(irreps)
        self.activation = activation
        self.eps = eps
        self.zero_threshold = zero_threshold
        self.norms = nn.ModuleList(nn.LayerNorm(mul) for mul, _ in self.irreps_in)

    def forward(self, x: Tensor) -> Tensor:
        """(N, irreps.dim) -> (N, irreps.dim)."""
        blocks = []
        for (mul, ir), sl, norm in zip(self.irreps_in, self.irreps_in.slices(), self.norms, strict=True):
            block = x[:, sl]
            if ir.l == 0:
                blocks.append(self.activation(norm(block)))
                continue
            block = block.reshape(-1, mul, ir.dim)
            squared = block.pow(2).sum(-1)
            length = torch.sqrt(squared + self.eps**2)
            scale = self.activation(norm(length)) / length
            scale = torch.where(squared > self.zero_threshold**2, scale, torch.zeros_like(scale))
            blocks.append((block * scale.unsqueeze(-1)).reshape(-1, mul * ir.dim))
        return torch.cat(blocks, dim=-1)
