"""MLP heads of Fig. 3 / Fig. 6."""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import Tensor, nn

from stn_plugin.physics.voigt import N_PAIRS


def mlp(dims: Sequence[int]) -> nn.Sequential:
    """``Linear(d0, d1) - ReLU - ... - Linear(d_{n-1}, d_n)`` (no activation after the last layer)."""
    layers: list[nn.Module] = []
    for k, (d_in, d_out) in enumerate(zip(dims[:-1], dims[1:], strict=True)):
        if k:
            layers.append(nn.ReLU())
        layers.append(nn.Linear(d_in, d_out))
    return nn.Sequential(*layers)


class ConditionedHead(nn.Module):
    """``MLP([cond (21) -> h -> h] | pooled (F)) -> hidden -> out`` (Fig. 3 classifier and regressor).

    Args:
        feature_dim: F, size of the pooled graph features.
        cond_hidden: h, embedding size of the 21-dim condition (one-hot or DCV).
        hidden: hidden width after the concatenation.
        out_dim: 21 (DCV logits) or 1 (normalised U).
    """

    def __init__(self, feature_dim: int, cond_hidden: int, hidden: int, out_dim: int) -> None:
        super().__init__()
        self.condition = mlp([N_PAIRS, cond_hidden, cond_hidden])
        self.output = mlp([cond_hidden + feature_dim, hidden, out_dim])

    def forward(self, condition: Tensor, pooled: Tensor) -> Tensor:
        """(B, 21), (B, F) -> (B, out_dim)."""
        return self.output(torch.cat([self.condition(condition.to(pooled.dtype)), pooled], dim=-1))
