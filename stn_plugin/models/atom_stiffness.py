"""Atom stiffness energy: a positive semi-definite stiffness tensor per atom, built from its bonds (not in the paper)."""

from __future__ import annotations

import torch
from torch import Tensor, nn
from torch_geometric.data import Data
from torch_geometric.utils import scatter

from stn_plugin.layers import BesselBasis
from stn_plugin.models.encoder import edge_strain, graph_index, projected_edge_strain
from stn_plugin.models.heads import mlp
from stn_plugin.physics.voigt import voigt_strain_matrices

COUPLING_INIT_SCALE: float = 0.1
"""Factor on the initial weights of the coupling MLP's last layer: the term starts small against the regressor's
output, so that training starts from the paper's network."""


class AtomStiffnessEnergy(nn.Module):
    """``U = (1 / N) sum_i eps : C_i : eps`` per graph with ``C_i = sum_k A_ik (x) A_ik``, in normalised U units.

    Each atom i carries K symmetric rank-2 tensors (l = 0 and l = 2 parts) built from its bonds,
    ``A_ik = sum_j w_ijk r_ij r_ij^T / |r_ij|^2``, so ``A_ik : E = sum_j w_ijk p_ij`` with ``p_ij = r^T E r / |r|^2``
    the strain state's unit Voigt strain matrix E projected on bond ij, and
    ``U_i = sum_k (sum_j w_ijk p_ij)^2``: a stiffness tensor per atom (l = 0, 2, 4 parts) that is positive
    semi-definite by construction and exactly quadratic in the strain direction. The couplings
    ``w_ijk = MLP([x_i, x_j, b(r)])_k u(r / r_c)`` read the invariant hidden features x of the atom and its
    neighbour, the radial basis b of the bond length and vanish smoothly at the cutoff (envelope u).

    Where the bond springs (:class:`~stn_plugin.models.bond_energy.BondStrainEnergy`) give each bond its own
    energy, this term couples the bonds of one atom: a strain that stretches one bond and shortens another can cost
    nothing or a lot, as the environment decides, so shear and the directions across a layer get their own
    stiffness. A strain that moves none of an atom's coupled bonds (the interlayer strains of a layer whose
    interlayer couplings are zero) costs exactly nothing. Rotation invariant (p, x and r are), hence exact under
    the class readouts.

    Args:
        scalar_dim: C, invariant hidden features per node.
        num_basis: radial basis functions of the bond length.
        cutoff: radial cutoff (Angstrom); couplings vanish smoothly there.
        hidden: width of the coupling MLP.
        channels: K, stiffness tensors per atom.
    """

    def __init__(self, scalar_dim: int, num_basis: int, cutoff: float, hidden: int, channels: int) -> None:
        super().__init__()
        self.radial_basis = BesselBasis(num_basis, cutoff)
        self.coupling = mlp([2 * scalar_dim + num_basis, hidden, channels])
        with torch.no_grad():
            self.coupling[-1].weight.mul_(COUPLING_INIT_SCALE)
            self.coupling[-1].bias.zero_()
        strains = torch.tensor(voigt_strain_matrices(1.0), dtype=torch.get_default_dtype())
        self.strains = nn.Buffer(strains, persistent=False)

    def forward(self, data: Data, node_scalars: Tensor) -> Tensor:
        """Graphs (contract fields ``edge_index``, ``edge_vec``, ``strain_pair``) and (N, C) invariant node
        features -> (B,) energy per graph, normalised U units."""
        neighbour, centre = data.edge_index
        edge_vec = data.edge_vec.to(node_scalars.dtype)
        batch, num_graphs = graph_index(data)
        strain = edge_strain(data, self.strains.to(edge_vec.dtype), batch.index_select(0, centre))
        projection = projected_edge_strain(edge_vec, strain)
        length = edge_vec.norm(dim=-1)
        coupling_input = torch.cat(
            [node_scalars.index_select(0, centre), node_scalars.index_select(0, neighbour), self.radial_basis(length)],
            dim=-1,
        )
        envelope = self.radial_basis.envelope(length / self.radial_basis.cutoff)
        coupling = self.coupling(coupling_input) * envelope.unsqueeze(-1)
        contraction = scatter(coupling * projection.unsqueeze(-1), centre, dim=0, dim_size=node_scalars.shape[0])
        return scatter(contraction.square().sum(-1), batch, dim=0, dim_size=num_graphs, reduce="mean")
