"""StrainTensorNet (paper Fig. 3)."""

from __future__ import annotations

import torch
from torch import Tensor
from torch_geometric.data import Data

from stn_plugin.models.angle_energy import BondAngleEnergy
from stn_plugin.models.atom_stiffness import AtomStiffnessEnergy
from stn_plugin.models.base import NUM_ATOM_SCALARS, StnModel, StnOutput, class_readouts
from stn_plugin.models.bond_energy import BondStrainEnergy
from stn_plugin.models.config import StrainTensorNetConfig
from stn_plugin.models.encoder import StnEncoder
from stn_plugin.models.heads import ConditionedHead
from stn_plugin.models.volume_energy import VolumeStrainEnergy
from stn_plugin.physics.voigt import N_PAIRS


class StrainTensorNet(StnModel):
    """Self-supervised SED model: DCV classifier and SED regressor on one equivariant encoder.

    * encoder: graph -> pooled f_class, f_reg (B, readout_dim) each;
    * classifier: ``[MLP(one-hot) | f_class]`` -> 21 DCV logits ``y``;
    * regressor: ``[MLP(DCV) | f_reg]`` -> normalised U_ij, where DCV = ``dcv_input`` (teacher
      forcing) if given, else ``sigmoid(dcv_sharpness * y)``. The one-hot never reaches the
      regressor directly; gradients of the regression loss flow into the classifier.

    With ``config.bond_energy`` the normalised U is the regressor's output plus the
    :class:`~stn_plugin.models.bond_energy.BondStrainEnergy` of the graph (on its first-shell bonds with
    ``config.bond_shell``), with ``config.bond_angles`` also plus its
    :class:`~stn_plugin.models.angle_energy.BondAngleEnergy` and with ``config.volume_energy`` plus its
    :class:`~stn_plugin.models.volume_energy.VolumeStrainEnergy`, with ``config.atom_stiffness`` plus its
    :class:`~stn_plugin.models.atom_stiffness.AtomStiffnessEnergy` (not in the paper).

    ``feature_dict`` holds the latents of the last pass: ``pooled_reg`` (A in Fig. 3),
    ``pooled_class``, ``dcv`` (and ``bond_energy``, ``angle_energy``, ``volume_energy``, ``atom_stiffness``).
    """

    config_class = StrainTensorNetConfig
    reads_class_readouts = True

    def _build(self) -> None:
        enc, head = self.config.encoder, self.config.head
        self.encoder = StnEncoder(enc, NUM_ATOM_SCALARS, readouts=("reg", "class"))
        self.classifier = ConditionedHead(enc.readout_dim, head.cond_hidden, head.hidden, N_PAIRS)
        self.regressor = ConditionedHead(enc.readout_dim, head.cond_hidden, head.hidden, 1)
        config = self.config
        self.bond_energy = (
            BondStrainEnergy(enc.channels, enc.num_radial_basis, enc.radial_cutoff, head.hidden, config.bond_shell)
            if config.bond_energy
            else None
        )
        self.angle_energy = (
            BondAngleEnergy(enc.channels, enc.num_radial_basis, enc.radial_cutoff, head.hidden, config.bond_shell)
            if config.bond_angles and config.bond_shell is not None
            else None
        )
        self.volume_energy = VolumeStrainEnergy(enc.channels, head.hidden) if config.volume_energy else None
        self.atom_stiffness = (
            AtomStiffnessEnergy(
                enc.channels, enc.num_radial_basis, enc.radial_cutoff, head.hidden, config.atom_stiffness_channels
            )
            if config.atom_stiffness
            else None
        )

    def forward(self, data: Data, atom_features: Tensor, dcv_input: Tensor | None = None) -> StnOutput:
        """B graphs (needs ``strain_onehot`` (B, 21)) and (N, 4) standardised atom scalars -> U (B,) normalised,
        DCV logits (B, 21) and the DCV the regressor read; with class readouts
        (:func:`~stn_plugin.models.base.class_readouts`) (P,) and (P, 21), one row per readout."""
        pooled, node_scalars = self.encoder.encode(data, atom_features)
        if self.bond_energy is not None:
            pooled["bond_energy"] = self.bond_energy(data, node_scalars)
        if self.angle_energy is not None:
            pooled["angle_energy"] = self.angle_energy(data, node_scalars)
        if self.volume_energy is not None:
            pooled["volume_energy"] = self.volume_energy(data, node_scalars)
        if self.atom_stiffness is not None:
            pooled["atom_stiffness"] = self.atom_stiffness(data, node_scalars)
        onehot, graph_of_readout = class_readouts(data)
        if graph_of_readout is not None:
            pooled = {name: features.index_select(0, graph_of_readout) for name, features in pooled.items()}
        logits = self.classifier(onehot, pooled["class"])
        dcv = torch.sigmoid(self.config.dcv_sharpness * logits) if dcv_input is None else dcv_input.to(logits.dtype)
        sed = self.regressor(dcv, pooled["reg"]).squeeze(-1)
        self.feature_dict = {"pooled_reg": pooled["reg"], "pooled_class": pooled["class"], "dcv": dcv}
        for name in ("bond_energy", "angle_energy", "volume_energy", "atom_stiffness"):
            if name in pooled:
                sed = sed + pooled[name]
                self.feature_dict[name] = pooled[name]
        return StnOutput(sed, logits, dcv)
