"""The equivariant encoder shared by StrainTensorNet and the Fig. 6 trial models."""

from __future__ import annotations

from collections.abc import Sequence

import torch
from e3nn import o3
from torch import Tensor, nn
from torch_geometric.data import Data
from torch_geometric.utils import scatter

from stn_plugin.graph.features import element_descriptor_table
from stn_plugin.layers import (
    BesselBasis,
    EquivariantAttention,
    NormNonlinearity,
    TFNConvolution,
    hidden_irreps,
    sh_irreps,
)
from stn_plugin.models.config import EncoderConfig


def graph_index(data: Data) -> tuple[Tensor, int]:
    """(N,) graph index of every node and the number of graphs B (a lone ``Data`` is one graph)."""
    batch = getattr(data, "batch", None)
    if batch is None:
        return torch.zeros(data.num_nodes, dtype=torch.long, device=data.atomic_numbers.device), 1
    return batch, int(data.num_graphs)


class StnEncoder(nn.Module):
    """Strained crystal graph -> max-pooled invariant features, one per readout (Fig. 3, left).

    node input = Linear([Embedding(Z) (embedding_dim) | node_features (F) (| group, period, valence
    electrons of Z, with ``config.element_descriptors``)]) -> ``C x 0e``;
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
        descriptors = element_descriptor_table(config.max_atomic_number) if config.element_descriptors else None
        self.element_descriptors = None if descriptors is None else nn.Buffer(torch.as_tensor(descriptors).float())
        extra = 0 if descriptors is None else descriptors.shape[1]
        self.input = nn.Linear(config.embedding_dim + node_feature_dim + extra, config.channels)
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
        self.readouts = nn.ModuleDict(
            {name: TFNConvolution(irreps_hidden, o3.Irreps(f"{config.readout_dim}x0e"), **radial) for name in readouts}
        )

    def forward(self, data: Data, node_features: Tensor) -> dict[str, Tensor]:
        """Graph (contract fields ``atomic_numbers``, ``edge_index``, ``edge_vec``) and (N, F) features
        -> ``{readout: (B, readout_dim)}`` max-pooled invariant features."""
        edge_index = data.edge_index
        edge_vec = data.edge_vec.to(node_features.dtype)
        edge_sh = self.spherical_harmonics(edge_vec)
        # Radial basis (and every layer's radial MLP) once per distinct edge length; exact float equality,
        # so the per-edge values are unchanged.
        lengths, basis_index = torch.unique(edge_vec.norm(dim=-1), return_inverse=True)
        edge = (edge_index, edge_sh, self.radial_basis(lengths), basis_index)
        inputs = [self.embedding(data.atomic_numbers), node_features]
        if self.element_descriptors is not None:
            inputs.append(self.element_descriptors[data.atomic_numbers].to(node_features.dtype))
        x = self.input(torch.cat(inputs, dim=-1))
        for attention, nonlinearity in zip(self.attention, self.nonlinearities, strict=True):
            x = nonlinearity(attention(x, *edge))
        batch, num_graphs = graph_index(data)
        return {
            name: scatter(conv(x, *edge), batch, dim=0, dim_size=num_graphs, reduce="max")
            for name, conv in self.readouts.items()
        }
