"""Volume energy: a learned per-atom stiffness against the change of volume (not in the paper)."""

from __future__ import annotations

import torch
from torch import Tensor, nn
from torch_geometric.data import Data
from torch_geometric.utils import scatter

from stn_plugin.models.bond_energy import SPRING_BIAS
from stn_plugin.models.encoder import graph_index
from stn_plugin.models.heads import mlp
from stn_plugin.physics.voigt import voigt_strain_matrices


class VolumeStrainEnergy(nn.Module):
    """``U_volume = (1 / N) sum_i v_i (tr E)^2`` per graph, in units of the normalised U.

    E is the state's Voigt strain matrix at unit magnitude, so ``tr E`` is its relative volume change per unit strain;
    ``v_i = softplus(MLP(x_i)) >= 0`` reads the invariant hidden features of atom i. This is the energy of an
    embedding or electron-gas term that depends on the volume alone: it adds equally to C11 and C12 and nothing to
    C44, the positive Cauchy pressure C12 - C44 of metals that neither central springs (C12 = C44) nor bond bending
    (C44 > C12) can give. Rotation invariant, hence exact under the class readouts.

    Args:
        scalar_dim: C, invariant hidden features per node.
        hidden: width of the MLP.
    """

    def __init__(self, scalar_dim: int, hidden: int) -> None:
        super().__init__()
        self.stiffness = mlp([scalar_dim, hidden, 1])
        nn.init.constant_(self.stiffness[-1].bias, SPRING_BIAS)
        traces = torch.tensor(voigt_strain_matrices(1.0).trace(axis1=1, axis2=2), dtype=torch.get_default_dtype())
        self.volume_change = nn.Buffer(traces, persistent=False)

    def forward(self, data: Data, node_scalars: Tensor) -> Tensor:
        """Graphs (contract field ``strain_pair``) and (N, C) invariant node features -> (B,) volume energy per
        graph, normalised U units."""
        batch, num_graphs = graph_index(data)
        stiffness = nn.functional.softplus(self.stiffness(node_scalars).squeeze(-1))
        energy = scatter(stiffness, batch, dim=0, dim_size=num_graphs, reduce="mean")
        trace = self.volume_change.to(energy.dtype)[data.strain_pair]
        return energy * trace.square()
