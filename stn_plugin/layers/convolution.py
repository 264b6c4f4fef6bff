"""Equivariant message passing: SE(3)-Transformer-style attention block and TFN convolution.

Edge convention (graph contract): ``edge_index[0]`` = source = neighbour j, ``edge_index[1]`` =
target = centre i; messages are aggregated at ``edge_index[1]``. ``edge_sh`` are the spherical
harmonics of ``edge_vec`` (neighbour minus centre) and ``edge_basis`` the radial basis of its length:
either one row per edge, or one row per *distinct* length with ``basis_index`` (E,) giving each edge
its row. The radial MLP then runs once per distinct length (symmetry-equivalent edges of a crystal
share their length; the 21 strained graphs of the test materials have about 15 edges per distinct
length) and its output is gathered per edge, with the same result.
"""

from __future__ import annotations

import math

import torch
from e3nn import o3
from e3nn.nn import FullyConnectedNet
from torch import Tensor, nn
from torch_geometric.utils import scatter, softmax

from stn_plugin.layers.irreps import channel_groups, scalar_indices
from stn_plugin.layers.tensor_product import EdgeTensorProduct, TensorProductKind


def radial_mlp(num_basis: int, hidden: int, num_layers: int, num_outputs: int) -> FullyConnectedNet:
    """e3nn MLP ``num_basis -> hidden (x num_layers, SiLU) -> num_outputs`` producing TP weights."""
    return FullyConnectedNet([num_basis] + [hidden] * num_layers + [num_outputs], torch.nn.functional.silu)


def edge_weights(radial: nn.Module, edge_basis: Tensor, basis_index: Tensor | None) -> Tensor:
    """Per-edge TP weights (E, weight_numel): the radial MLP on the basis rows, gathered by ``basis_index``."""
    weights = radial(edge_basis)
    return weights if basis_index is None else weights.index_select(0, basis_index)


class EdgeMessageBlock(nn.Module):
    """The part the two blocks share (MACE's ``InteractionBlock`` habit): per edge, the tensor product of the
    neighbour's features with the edge's spherical harmonics, weighted by a radial MLP of the edge length,
    ``TP(x_j, Y(r_ij); w(|r_ij|))``. Subclasses add their aggregation and residual; the submodule names ``tp`` and
    ``radial`` are part of the saved models' state dicts.

    Args:
        irreps_in: node feature irreps.
        irreps_out: output irreps of the block.
        irreps_sh: spherical-harmonic irreps.
        num_basis: radial basis size.
        radial_hidden: width of the radial MLP.
        radial_layers: hidden layers of the radial MLP.
        tp_kind: ``"uvu"`` or ``"fc"`` (see :class:`EdgeTensorProduct`).
    """

    def __init__(
        self,
        irreps_in: o3.Irreps,
        irreps_out: o3.Irreps,
        irreps_sh: o3.Irreps,
        num_basis: int,
        radial_hidden: int,
        radial_layers: int,
        tp_kind: TensorProductKind,
    ) -> None:
        super().__init__()
        self.irreps_in, self.irreps_out = o3.Irreps(irreps_in), o3.Irreps(irreps_out)
        self.tp = EdgeTensorProduct(self.irreps_in, irreps_sh, self.irreps_out, tp_kind)
        self.radial = radial_mlp(num_basis, radial_hidden, radial_layers, self.tp.weight_numel)

    def edge_messages(
        self, x: Tensor, src: Tensor, edge_sh: Tensor, edge_basis: Tensor, basis_index: Tensor | None
    ) -> Tensor:
        """(E, tp.irreps_out.dim) messages of the edges from their sources ``src`` (E,) (see the module docstring)."""
        return self.tp(x.index_select(0, src), edge_sh, edge_weights(self.radial, edge_basis, basis_index))


class TFNConvolution(EdgeMessageBlock):
    """Tensor field network convolution (paper Eq. A1).

    ``out_i = Lin_out(mean_{j->i} TP(x_j, Y(r_ij); w(|r_ij|))) + Lin_self(x_i)``: mean aggregation
    over the incoming edges as in the authors' GConvSE3 ("skip" flavour), a self-interaction linear.
    Arguments as :class:`EdgeMessageBlock` (``irreps_out`` e.g. ``"128x0e"`` for f_reg / f_class).
    """

    def __init__(
        self,
        irreps_in: o3.Irreps,
        irreps_out: o3.Irreps,
        irreps_sh: o3.Irreps,
        num_basis: int,
        radial_hidden: int,
        radial_layers: int,
        tp_kind: TensorProductKind,
    ) -> None:
        super().__init__(irreps_in, irreps_out, irreps_sh, num_basis, radial_hidden, radial_layers, tp_kind)
        self.output = o3.Linear(self.tp.irreps_out, self.irreps_out)
        self.self_interaction = o3.Linear(self.irreps_in, self.irreps_out)

    def forward(
        self, x: Tensor, edge_index: Tensor, edge_sh: Tensor, edge_basis: Tensor, basis_index: Tensor | None = None
    ) -> Tensor:
        """x (N, irreps_in.dim), edge_index (2, E), edge_sh (E, sh.dim), edge_basis (E or L, B), basis_index
        (E,) or None (see the module docstring) -> (N, irreps_out.dim)."""
        src, dst = edge_index
        messages = self.edge_messages(x, src, edge_sh, edge_basis, basis_index)
        aggregated = scatter(messages, dst, dim=0, dim_size=x.shape[0], reduce="mean")
        return self.output(aggregated) + self.self_interaction(x)


class EquivariantAttention(EdgeMessageBlock):
    """Equivariant graph attention block (paper Eqs. A4-A8), multi-head.

    * values ``v_ij = TP(x_j, Y(r_ij); w_V(|r_ij|))`` (equivariant, per edge);
    * keys ``k_ij = W_K s(v_ij)`` from the invariant ``0e`` part ``s`` of the values (cheap: no
      second tensor product; docs/cpu-measurements.md, section 2); queries ``q_i = W_Q s(x_i)``;
    * logits ``q_i . k_ij / sqrt(key_dim)`` per head, softmax over the incoming edges of ``i``
      (``torch_geometric.utils.softmax`` with ``index = edge_index[1]``);
    * ``out_i = Lin_out(sum_j alpha_ij^h v_ij) + Lin_skip(x_i)``: the value channels of every irrep
      block are split evenly between the heads; the skip linear is the authors' concatenate-and-
      project residual.

    Arguments as :class:`EdgeMessageBlock` (``irreps_in`` must contain ``0e`` for the queries), and

    Args:
        num_heads: attention heads; every multiplicity of the value irreps must be divisible by it.
        key_dim: key/query size per head.
    """

    def __init__(
        self,
        irreps_in: o3.Irreps,
        irreps_out: o3.Irreps,
        irreps_sh: o3.Irreps,
        num_basis: int,
        radial_hidden: int,
        radial_layers: int,
        num_heads: int,
        key_dim: int,
        tp_kind: TensorProductKind,
    ) -> None:
        super().__init__(irreps_in, irreps_out, irreps_sh, num_basis, radial_hidden, radial_layers, tp_kind)
        self.num_heads, self.key_dim = num_heads, key_dim
        irreps_value = self.tp.irreps_out
        if any(mul % num_heads for mul, _ in irreps_value):
            raise ValueError(f"Value multiplicities {irreps_value} are not divisible by num_heads={num_heads}.")
        query_scalars, value_scalars = scalar_indices(self.irreps_in), scalar_indices(irreps_value)
        if not query_scalars or not value_scalars:
            raise ValueError("Attention needs 0e features in the input and in the values.")
        self.register_buffer("query_scalars", torch.tensor(query_scalars), persistent=False)
        self.register_buffer("value_heads", torch.tensor(channel_groups(irreps_value, num_heads)), persistent=False)
        self.query = nn.Linear(len(query_scalars), num_heads * key_dim, bias=False)
        self.key = nn.Linear(len(value_scalars), num_heads * key_dim, bias=False)
        self.output = o3.Linear(irreps_value, self.irreps_out)
        self.skip = o3.Linear(self.irreps_in, self.irreps_out)
        # Column ranges of the 0e blocks of the values and their columns in the key weight: keys from column
        # slices (views) instead of a gather of the scalar columns.
        self.key_blocks: list[tuple[int, int, int]] = []
        for (_, ir), sl in zip(irreps_value, irreps_value.slices(), strict=True):
            if ir == o3.Irrep("0e"):
                offset = sum(stop - start for start, stop, _ in self.key_blocks)
                self.key_blocks.append((sl.start, sl.stop, offset))

    def forward(
        self, x: Tensor, edge_index: Tensor, edge_sh: Tensor, edge_basis: Tensor, basis_index: Tensor | None = None
    ) -> Tensor:
        """x (N, irreps_in.dim), edge_index (2, E), edge_sh (E, sh.dim), edge_basis (E or L, B), basis_index
        (E,) or None (see the module docstring) -> (N, irreps_out.dim)."""
        src, dst = edge_index
        num_nodes, heads = x.shape[0], self.num_heads
        values = self.edge_messages(x, src, edge_sh, edge_basis, basis_index)
        keys = sum(
            nn.functional.linear(values[:, start:stop], self.key.weight[:, offset : offset + stop - start])
            for start, stop, offset in self.key_blocks
        )
        keys = keys.view(-1, heads, self.key_dim)
        queries = self.query(x[:, self.query_scalars]).view(-1, heads, self.key_dim)
        logits = (queries.index_select(0, dst) * keys).sum(-1) / math.sqrt(self.key_dim)
        alpha = softmax(logits, index=dst, num_nodes=num_nodes)
        # index_select (not advanced indexing) and contiguous operands: 3x faster on CPU for (E, 256) tensors.
        weighted = values * alpha.index_select(1, self.value_heads)
        aggregated = scatter(weighted, dst, dim=0, dim_size=num_nodes, reduce="sum")
        return self.output(aggregated) + self.skip(x)
