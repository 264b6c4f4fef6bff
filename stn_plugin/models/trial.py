"""The trial models of paper Fig. 6 (same encoder as StrainTensorNet, no classifier)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

import torch
from pydantic import BaseModel
from torch import Tensor
from torch_geometric.data import Data

from stn_plugin.models.base import NUM_ATOM_SCALARS, StnModel, StnOutput, class_readouts
from stn_plugin.models.config import TrialModelConfig
from stn_plugin.models.encoder import StnEncoder, graph_index
from stn_plugin.models.heads import ConditionedHead, mlp
from stn_plugin.physics.voigt import N_PAIRS


class _TrialModel(StnModel):
    """Shared parts of the Fig. 6 models; ``architecture`` fixes the variant."""

    config_class = TrialModelConfig
    architecture: ClassVar[str]

    @classmethod
    def _validate_config(cls, config: BaseModel | Mapping[str, Any] | None) -> TrialModelConfig:
        config = dict(config.model_dump() if isinstance(config, BaseModel) else (config or {}))
        config.setdefault("architecture", cls.architecture)
        if config["architecture"] != cls.architecture:
            raise ValueError(f"{cls.__name__} needs architecture {cls.architecture!r}, got {config['architecture']!r}.")
        return super()._validate_config(config)

    def _known_dcv(self, data: Data, atom_features: Tensor, dcv_input: Tensor | None) -> Tensor:
        if getattr(data, "readout_onehot", None) is not None:
            raise ValueError(f"{type(self).__name__} reads each graph's own DCV and cannot predict class readouts.")
        dcv = data.dcv if dcv_input is None else dcv_input
        return dcv.to(atom_features.dtype)


class MinimalModel(_TrialModel):
    """Fig. 6(a): graph only -> pooled f_reg -> MLP -> normalised U_ij (``dcv_input`` is ignored)."""

    architecture = "fig6a"
    reads_class_readouts = True

    def _build(self) -> None:
        enc, head = self.config.encoder, self.config.head
        self.encoder = StnEncoder(enc, NUM_ATOM_SCALARS, readouts=("reg",))
        self.regressor = mlp([enc.readout_dim, head.hidden, 1])

    def forward(self, data: Data, atom_features: Tensor, dcv_input: Tensor | None = None) -> StnOutput:
        """B graphs -> U (B,) normalised ((P,) with class readouts); no logits."""
        pooled = self.encoder(data, atom_features)["reg"]
        _, graph_of_readout = class_readouts(data)
        if graph_of_readout is not None:
            pooled = pooled.index_select(0, graph_of_readout)
        self.feature_dict = {"pooled_reg": pooled}
        return StnOutput(self.regressor(pooled).squeeze(-1), None, None)


class DcvPooledModel(_TrialModel):
    """Fig. 6(b): ``[MLP(known DCV) | pooled f_reg]`` -> MLP -> normalised U_ij.

    The DCV is ``dcv_input`` if given, else ``data.dcv`` (the converter fills it from the crystal's
    point group, :func:`stn_plugin.physics.symmetry.analyze_symmetry`, also at prediction time).
    """

    architecture = "fig6b"
    reads_graph_dcv = True

    def _build(self) -> None:
        enc, head = self.config.encoder, self.config.head
        self.encoder = StnEncoder(enc, NUM_ATOM_SCALARS, readouts=("reg",))
        self.regressor = ConditionedHead(enc.readout_dim, head.cond_hidden, head.hidden, 1)

    def forward(self, data: Data, atom_features: Tensor, dcv_input: Tensor | None = None) -> StnOutput:
        """B graphs and DCV (B, 21) -> U (B,) normalised; no logits."""
        pooled = self.encoder(data, atom_features)["reg"]
        dcv = self._known_dcv(data, atom_features, dcv_input)
        self.feature_dict = {"pooled_reg": pooled, "dcv": dcv}
        return StnOutput(self.regressor(dcv, pooled).squeeze(-1), None, dcv)


class DcvNodeModel(_TrialModel):
    """Fig. 6(c): MLP(known DCV) appended to every node's attributes -> encoder -> MLP -> U_ij.

    DCV source as in :class:`DcvPooledModel`.
    """

    architecture = "fig6c"
    reads_graph_dcv = True

    def _build(self) -> None:
        enc, head = self.config.encoder, self.config.head
        self.dcv_embedding = mlp([N_PAIRS, head.cond_hidden, head.cond_hidden])
        self.encoder = StnEncoder(enc, NUM_ATOM_SCALARS + head.cond_hidden, readouts=("reg",))
        self.regressor = mlp([enc.readout_dim, head.hidden, 1])

    def forward(self, data: Data, atom_features: Tensor, dcv_input: Tensor | None = None) -> StnOutput:
        """B graphs and DCV (B, 21) -> U (B,) normalised; no logits."""
        dcv = self._known_dcv(data, atom_features, dcv_input)
        batch, _ = graph_index(data)
        node_features = torch.cat([atom_features, self.dcv_embedding(dcv)[batch]], dim=-1)
        pooled = self.encoder(data, node_features)["reg"]
        self.feature_dict = {"pooled_reg": pooled, "dcv": dcv}
        return StnOutput(self.regressor(pooled).squeeze(-1), None, dcv)
