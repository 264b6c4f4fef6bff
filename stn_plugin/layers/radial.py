"""Smooth radial basis for edge lengths: Bessel functions times a polynomial cutoff envelope."""

from __future__ import annotations

import math

import torch
from torch import Tensor, nn


class BesselBasis(nn.Module):
    """``sqrt(2/r_c) sin(n pi r / r_c) / r * u(r / r_c)`` for ``n = 1..num_basis``.

    ``u`` is the polynomial envelope of DimeNet (exponent ``p``): ``u(0) = 1`` and ``u`` with its
    first two derivatives vanishes at ``r_c``, so every basis function goes smoothly to zero at the
    cutoff. Edges longer than ``r_c`` get an all-zero basis vector.

    Args:
        num_basis: number of Bessel functions.
        cutoff: r_c in Angstrom.
        envelope_exponent: p of the envelope.
    """

    def __init__(self, num_basis: int, cutoff: float, envelope_exponent: int = 6) -> None:
        super().__init__()
        self.num_basis = num_basis
        self.cutoff = float(cutoff)
        self.p = envelope_exponent
        self.register_buffer("frequencies", math.pi * torch.arange(1, num_basis + 1, dtype=torch.get_default_dtype()))

    def envelope(self, x: Tensor) -> Tensor:
        """Envelope u(x) for x = r / r_c, shape preserved, zero for x >= 1."""
        p = self.p
        u = 1.0 - (p + 1) * (p + 2) / 2 * x**p + p * (p + 2) * x ** (p + 1) - p * (p + 1) / 2 * x ** (p + 2)
        return torch.where(x < 1.0, u, torch.zeros_like(x))

    def forward(self, length: Tensor) -> Tensor:
        """(E,) edge lengths in Angstrom -> (E, num_basis) basis values."""
        x = (length / self.cutoff).unsqueeze(-1)
        bessel = math.sqrt(2.0 / self.cutoff) * torch.sin(self.frequencies.to(x.dtype) * x) / (x * self.cutoff)
        return bessel * self.envelope(x)

    def extra_repr(self) -> str:
        return f"num_basis={self.num_basis}, cutoff={self.cutoff}, p={self.p}"
