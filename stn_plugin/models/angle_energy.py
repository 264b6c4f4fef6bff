"""Bond-bending energy: Keating's three-body term over the first-shell bonds of every atom (not in the paper)."""

from __future__ import annotations

import torch
from torch import Tensor, nn
from torch_geometric.data import Data
from torch_geometric.utils import scatter

from stn_plugin.layers import BesselBasis
from stn_plugin.models.bond_energy import SPRING_BIAS, first_shell_weight
from stn_plugin.models.encoder import edge_strain, graph_index
from stn_plugin.models.heads import mlp
from stn_plugin.physics.voigt import voigt_strain_matrices


def bond_pairs(center: Tensor, num_nodes: int) -> tuple[Tensor, Tensor]:
    """All unordered pairs of distinct edges that share their centre atom.

    Args:
        center: (E,) centre atom of every edge.
        num_nodes: N, atoms in the batch.

    Returns:
        (T,) and (T,) edge indices ``a`` and ``b`` of the T pairs, ``a != b`` and ``center[a] == center[b]``, each
        unordered pair once.
    """
    order = torch.argsort(center, stable=True)
    grouped = center.index_select(0, order)
    counts = torch.bincount(grouped, minlength=num_nodes)
    first = torch.cumsum(counts, 0) - counts
    position = torch.arange(len(grouped), device=center.device) - first.index_select(0, grouped)
    later = counts.index_select(0, grouped) - position - 1
    a = torch.repeat_interleave(torch.arange(len(grouped), device=center.device), later)
    offsets = torch.arange(len(a), device=center.device) - torch.repeat_interleave(
        torch.cumsum(later, 0) - later, later
    )
    b = a + 1 + offsets
    return order.index_select(0, a), order.index_select(0, b)


class BondAngleEnergy(nn.Module):
    """``U_angle = (1 / N) sum_i sum_{j < k} q_ijk (r_ij^T E r_ik / (|r_ij| |r_ik|))^2`` per graph, normalised U units.

    The sum runs over the pairs of first-shell bonds j, k of every atom i (:func:`first_shell_weight`, whose weights
    multiply ``q``); E is the state's Voigt strain matrix at unit magnitude. ``r_ij^T E r_ik`` is half the change of
    the bonds' dot product, to first order, so the term is Keating's bond-bending energy (Phys. Rev. 145, 637
    (1966)) with an environment-dependent constant ``q_ijk = softplus(MLP([x_i, x_j + x_k, x_j * x_k, cos theta_jk,
    b(r_ij) + b(r_ik)])) >= 0`` from the invariant hidden features x of the three atoms, the bond angle and the
    radial basis b of the two bond lengths. Central springs alone give C12 = C44 in a cubic crystal whose atoms are
    centres of inversion (the Cauchy relation); the bending term stiffens shear without a volume change. Strains
    that keep the bonds of a layer in their plane (across the layers, or sliding them) bend no pair of in-plane
    bonds. Rotation invariant, hence exact under the class readouts.

    Args:
        scalar_dim: C, invariant hidden features per node.
        num_basis: radial basis functions of the bond lengths.
        cutoff: radial cutoff (Angstrom) of the basis.
        hidden: width of the MLP.
        shell: relative first-shell width (``StrainTensorNetConfig.bond_shell``).
    """

    def __init__(self, scalar_dim: int, num_basis: int, cutoff: float, hidden: int, shell: float) -> None:
        super().__init__()
        self.shell = shell
        self.radial_basis = BesselBasis(num_basis, cutoff)
        self.bending = mlp([3 * scalar_dim + 1 + num_basis, hidden, 1])
        nn.init.constant_(self.bending[-1].bias, SPRING_BIAS)
        strains = torch.tensor(voigt_strain_matrices(1.0), dtype=torch.get_default_dtype())
        self.strains = nn.Buffer(strains, persistent=False)

    def forward(self, data: Data, node_scalars: Tensor) -> Tensor:
        """Graphs (contract fields ``edge_index``, ``edge_vec``, ``strain_pair``) and (N, C) invariant node
        features -> (B,) bond-bending energy per graph, normalised U units."""
        num_nodes = node_scalars.shape[0]
        edge_vec = data.edge_vec.to(node_scalars.dtype)
        length = edge_vec.norm(dim=-1)
        weight = first_shell_weight(data.edge_index, length, num_nodes, self.shell)
        bonds = torch.nonzero(weight > 0).squeeze(-1)
        neighbour, center = data.edge_index[0].index_select(0, bonds), data.edge_index[1].index_select(0, bonds)
        a, b = bond_pairs(center, num_nodes)
        edge_a, edge_b = bonds.index_select(0, a), bonds.index_select(0, b)
        atom = center.index_select(0, a)
        unit = edge_vec / length.unsqueeze(-1)
        u_a, u_b = unit.index_select(0, edge_a), unit.index_select(0, edge_b)
        batch, num_graphs = graph_index(data)
        graph_of_pair = batch.index_select(0, atom)
        strain = edge_strain(data, self.strains.to(edge_vec.dtype), graph_of_pair)
        bending = torch.einsum("ta,tab,tb->t", u_a, strain, u_b)
        x_j, x_k = (
            node_scalars.index_select(0, neighbour.index_select(0, a)),
            node_scalars.index_select(0, neighbour.index_select(0, b)),
        )
        cosine = (u_a * u_b).sum(-1, keepdim=True)
        radial = self.radial_basis(length.index_select(0, edge_a)) + self.radial_basis(length.index_select(0, edge_b))
        features = torch.cat([node_scalars.index_select(0, atom), x_j + x_k, x_j * x_k, cosine, radial], dim=-1)
        constant = nn.functional.softplus(self.bending(features).squeeze(-1))
        constant = constant * weight.index_select(0, edge_a) * weight.index_select(0, edge_b)
        energy = scatter(constant * bending.square(), graph_of_pair, dim=0, dim_size=num_graphs, reduce="sum")
        atoms = torch.bincount(batch, minlength=num_graphs).to(energy.dtype)
        return energy / atoms
