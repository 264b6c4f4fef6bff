"""The equivariant encoder shared by StrainTensorNet and the Fig. 6 trial models."""

from __future__ import annotations

from collections.abc import Sequence

import torch
from e3nn import o3
from torch import Tensor, nn
from torch_geometric.data import Data
from torch_geometric.utils import scatter

from stn_plugin.layers import (
    BesselBasis,
    EquivariantAttention,
    NormNonlinearity,
    TFNConvolution,
    hidden_irreps,
    sh_irreps,
)
from stn_plugin.layers.irreps import scalar_indices
from stn_plugin.models.config import EncoderConfig


def projected_edge_strain(edge_vec: Tensor, edge_strain: Tensor) -> Tensor:
    """``r^T eps r / |r|^2`` per edge: (E, 3) vectors and (E, 3, 3) strain tensors -> (E,)."""
    return torch.einsum("ea,eab,eb->e", edge_vec, edge_strain, edge_vec) / (edge_vec * edge_vec).sum(-1)


def edge_strain(data: Data, strains: Tensor, graph_of_edge: Tensor) -> Tensor:
    """(E, 3, 3) strain tensor of each edge's graph: ``strains`` (21, 3, 3) indexed by the graph's ``strain_pair``."""
    return strains[data.strain_pair.index_select(0, graph_of_edge)]


def graph_index(data: Data) -> tuple[Tensor, int]:
    """(N,) graph index of every node and the number of graphs B (a lone ``Data`` is one graph)."""
    batch = getattr(data, "batch", None)
    if batch is None:
        return torch.zeros(data.num_nodes, dtype=torch.long, device=data.atomic_numbers.device), 1
    return batch, int(data.num_graphs)


class StnEncoder(nn.Module):
    """Strained crystal graph -> max-pooled invariant features, one per readout (Fig. 3, left).

    node input = Linear([Embedding(Z) (embedding_dim) | node_features (F)]) -> ``C x 0e``;
    ``num_attention_layers`` x [EquivariantAttention -> NormNonlinearity] on ``C x (0..lmax)``;
    per readout name a separate TFNConvolution to ``readout_dim x 0e`` (f_reg, f_class), then a
    max over the nodes of each graph. The input projection (instead of feeding the 516 raw scalars
    to the first tensor product) keeps layer 1 as cheap as the others.

    Args:
        config: encoder hyperparameters.
        node_feature_dim: F, scalar features per node besides Z (4 atom scalars, + DCV embedding).
        readouts: names of the pooled outputs.
    """

    def __init__(self, config: EncoderConfig, node_feature_dim: int, readouts: Sequence[str]) -> None:
        super().__init__()
        self.config = config
        irreps_sh = sh_irreps(config.lmax, config.symmetry)
        irreps_hidden = hidden_irreps(config.channels, config.lmax, config.symmetry)
        irreps_scalar = o3.Irreps(f"{config.channels}x0e")
        self.embedding = nn.Embedding(config.max_atomic_number + 1, config.embedding_dim)
        self.input = nn.Linear(config.embedding_dim + node_feature_dim, config.channels)
        self.spherical_harmonics = o3.SphericalHarmonics(irreps_sh, normalize=True, normalization="component")
        self.radial_basis = BesselBasis(config.num_radial_basis, config.radial_cutoff)
        radial = {
            "irreps_sh": irreps_sh,
            "num_basis": config.num_radial_basis,
            "radial_hidden": config.radial_hidden,
            "radial_layers": config.radial_layers,
            "tp_kind": config.tensor_product,
        }
        self.attention = nn.ModuleList()
        self.nonlinearities = nn.ModuleList()
        for layer in range(config.num_attention_layers):
            irreps_in = irreps_scalar if layer == 0 else irreps_hidden
            self.attention.append(
                EquivariantAttention(
                    irreps_in, irreps_hidden, num_heads=config.num_heads, key_dim=config.key_dim, **radial
                )
            )
            self.nonlinearities.append(NormNonlinearity(irreps_hidden, zero_threshold=config.vector_zero_threshold))
        self.scalar_index = nn.Buffer(torch.tensor(scalar_indices(irreps_hidden)), persistent=False)
        self.readouts = nn.ModuleDict(
            {name: TFNConvolution(irreps_hidden, o3.Irreps(f"{config.readout_dim}x0e"), **radial) for name in readouts}
        )

    def _radial_inputs(self, edge_vec: Tensor) -> tuple[Tensor, Tensor]:
        """Radial MLP inputs once per distinct edge length (exact float equality, so the per-edge values are
        unchanged) and each edge's row."""
        unique, index = torch.unique(edge_vec.norm(dim=-1), return_inverse=True)
        return self.radial_basis(unique), index

    def forward(self, data: Data, node_features: Tensor) -> dict[str, Tensor]:
        """Graph (contract fields ``atomic_numbers``, ``edge_index``, ``edge_vec``) and (N, F) features
        -> ``{readout: (B, readout_dim)}`` max-pooled invariant features."""
        return self.encode(data, node_features)[0]

    def encode(self, data: Data, node_features: Tensor) -> tuple[dict[str, Tensor], Tensor]:
        """As :meth:`forward`, and also the (N, channels) invariant (``0e``) hidden features of the nodes after
        the last attention layer."""
        edge_index = data.edge_index
        edge_vec = data.edge_vec.to(node_features.dtype)
        edge_sh = self.spherical_harmonics(edge_vec)
        edge = (edge_index, edge_sh, *self._radial_inputs(edge_vec))
        x = self.input(torch.cat([self.embedding(data.atomic_numbers), node_features], dim=-1))
        for attention, nonlinearity in zip(self.attention, self.nonlinearities, strict=True):
            x = nonlinearity(attention(x, *edge))
        batch, num_graphs = graph_index(data)
        pooled = {
            name: scatter(conv(x, *edge), batch, dim=0, dim_size=num_graphs, reduce="max")
            for name, conv in self.readouts.items()
        }
        return pooled, x.index_select(1, self.scalar_index)
