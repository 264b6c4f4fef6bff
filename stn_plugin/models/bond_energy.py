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

SHELL_FADE: float = 0.25
"""Width of the first shell's smooth edge, in units of the nearest-neighbour distance (see first_shell_weight)."""


def nearest_neighbour_distance(edge_index: Tensor, length: Tensor, num_nodes: int) -> Tensor:
    """(N,) distance (Angstrom) from every atom to its nearest neighbour: the shortest of its (E,) edge lengths."""
    return scatter(length, edge_index[1], dim=0, dim_size=num_nodes, reduce="min")


def first_shell_weight(edge_index: Tensor, length: Tensor, num_nodes: int, shell: float) -> Tensor:
    """(E,) weight in [0, 1] of every edge as a first-shell bond.

    With ``x = r / max(d_i, d_j)`` (d the nearest-neighbour distances of the bond's two atoms) the weight is 1 for
    ``x <= shell``, ``(1 + cos(pi (x - shell) / SHELL_FADE)) / 2`` up to ``shell + SHELL_FADE`` and 0 beyond. The
    larger of the two distances keeps the longer bonds of an atom whose partner has a short bond elsewhere (the
    metal-oxygen bonds of a hydroxide). Shell 1.15 keeps both shells of bcc (ratio 1.155) and drops the second
    shell of fcc and rock salt (1.414) and the interlayer edges of graphite (3.35 / 1.42 = 2.4).
    """
    nearest = nearest_neighbour_distance(edge_index, length, num_nodes)
    scale = torch.maximum(nearest.index_select(0, edge_index[0]), nearest.index_select(0, edge_index[1]))
    x = ((length / scale - shell) / SHELL_FADE).clamp(0.0, 1.0)
    return 0.5 * (1.0 + torch.cos(torch.pi * x))


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
        shell: springs on first-shell bonds only (:func:`first_shell_weight`); None = every edge.
    """

    def __init__(self, scalar_dim: int, num_basis: int, cutoff: float, hidden: int, shell: float | None = None) -> None:
        super().__init__()
        self.shell = shell
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
        if self.shell is not None:
            spring = spring * first_shell_weight(data.edge_index, length, node_scalars.shape[0], self.shell)
        energy = scatter(spring * projection.square(), graph_of_edge, dim=0, dim_size=num_graphs, reduce="sum")
        atoms = torch.bincount(batch, minlength=num_graphs).to(energy.dtype)
        return energy / atoms
