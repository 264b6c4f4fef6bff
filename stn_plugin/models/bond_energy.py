"""Bond-strain energy: the part of U_ij that a sum of learned bond springs carries (not in the paper)."""

from __future__ import annotations

import torch
from torch import Tensor, nn
from torch_geometric.data import Data
from torch_geometric.utils import scatter

from stn_plugin.layers import BesselBasis
from stn_plugin.models.encoder import edge_strain, graph_index, projected_edge_strain
from stn_plugin.models.heads import mlp
from stn_plugin.physics.voigt import voigt_strain_matrices

SPRING_BIAS: float = -3.0
"""Initial bias of the spring MLP's output: springs start at softplus(-3) = 0.05 (normalised U per unit p^2), small
against the regressor's output, so that training starts from the paper's network."""


class BondStrainEnergy(nn.Module):
    """``U_bond = (1 / N) sum_e k_e p_e^2`` per graph, in units of the normalised U (the model's ``sed_std``).

    ``p_e = r^T E r / |r|^2`` is the strain state's Voigt strain matrix E at unit magnitude (the model's strain
    magnitude is fixed, so its square is in ``k``) projected on edge e, the relative length change of the bond
    per unit strain; ``N`` the graph's atoms. The spring ``k_e = softplus(MLP([x_i + x_j, x_i * x_j, b(r)]))``
    (>= 0, the same for both directions of a bond) reads the invariant hidden features x of the two atoms and the
    radial basis b of the bond length. This is a harmonic pair potential with springs that depend on the
    environment: its energy is large only for the strains that stretch the stiff bonds, so the SED of a layered
    crystal strained across its layers (in-plane bonds at p = 0, only the long interlayer edges stretched) can be
    small while in-plane strain is stiff, without the max-pooled features having to resolve a 2 % change of edge
    lengths. Rotation invariant (p, x and r are), hence exact under the class readouts.

    Args:
        scalar_dim: C, invariant hidden features per node.
        num_basis: radial basis functions of the bond length.
        cutoff: radial cutoff (Angstrom); springs vanish smoothly there.
        hidden: width of the spring MLP.
    """

    def __init__(self, scalar_dim: int, num_basis: int, cutoff: float, hidden: int) -> None:
        super().__init__()
        self.radial_basis = BesselBasis(num_basis, cutoff)
        self.spring = mlp([2 * scalar_dim + num_basis, hidden, 1])
        nn.init.constant_(self.spring[-1].bias, SPRING_BIAS)
        strains = torch.tensor(voigt_strain_matrices(1.0), dtype=torch.get_default_dtype())
        self.strains = nn.Buffer(strains, persistent=False)

    def forward(self, data: Data, node_scalars: Tensor) -> Tensor:
        """Graphs (contract fields ``edge_index``, ``edge_vec``, ``strain_pair``) and (N, C) invariant node
        features -> (B,) bond energy per graph, normalised U units."""
        source, target = data.edge_index
        edge_vec = data.edge_vec.to(node_scalars.dtype)
        batch, num_graphs = graph_index(data)
        graph_of_edge = batch.index_select(0, target)
        strain = edge_strain(data, self.strains.to(edge_vec.dtype), graph_of_edge)
        projection = projected_edge_strain(edge_vec, strain)
        x_i, x_j = node_scalars.index_select(0, source), node_scalars.index_select(0, target)
        length = edge_vec.norm(dim=-1)
        spring_input = torch.cat([x_i + x_j, x_i * x_j, self.radial_basis(length)], dim=-1)
        envelope = self.radial_basis.envelope(length / self.radial_basis.cutoff)
        spring = nn.functional.softplus(self.spring(spring_input).squeeze(-1)) * envelope
        energy = scatter(spring * projection.square(), graph_of_edge, dim=0, dim_size=num_graphs, reduce="sum")
        atoms = torch.bincount(batch, minlength=num_graphs).to(energy.dtype)
        return energy / atoms
