"""A committee of trained StnModels: the mean U_ij of its members (a deep ensemble).

Models trained on the same training split with different seeds or settings make partly independent
errors; averaging their U_ij lowers the error of U and of everything computed from it (Eq. 3 is linear
in U). The members share the normalisation statistics of that split, so the mean of their normalised
outputs is the normalised mean U. Save and load as any matgl model (``IOMixIn``).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np
import torch
from torch import Tensor, nn
from torch_geometric.data import Data

from stn_plugin.models.base import STATISTICS, StnModel, StnOutput
from stn_plugin.models.config import EnsembleConfig

if TYPE_CHECKING:
    from stn_plugin.models.config import ModelConfig


STATISTICS_RTOL: float = 1e-4
"""Relative difference of two members' normalisation statistics accepted as "the same training split"."""


class StnEnsemble(StnModel):
    """Mean of several trained models of one architecture on the same graphs.

    ``sed_normalized`` is the mean of the members' U (each denormalised with its own statistics, expressed in
    the ensemble's normalisation, i.e. the first member's); ``dcv_logits`` the mean of their classifier logits
    (None without a classifier); ``member_sed_normalized`` the members' outputs (K, B); ``feature_dict`` holds the
    mean DCV their regressors read (``dcv``). Predictions carry the spread of the members' C and moduli
    (``ElasticPrediction.elastic_tensor_std``, ``moduli_std``). Build one from trained models with
    :meth:`from_models`. See :class:`StnModel` for the constructor.
    """

    config_class = EnsembleConfig

    @property
    def reads_graph_dcv(self) -> bool:  # type: ignore[override]
        """Whether a member reads the graphs' true DCV (Fig. 6 b, c)."""
        return any(member.reads_graph_dcv for member in self.members)

    @property
    def reads_class_readouts(self) -> bool:  # type: ignore[override]
        """Whether every member reads class readouts (:func:`~stn_plugin.models.base.class_readouts`)."""
        return all(member.reads_class_readouts for member in self.members)

    def _build(self) -> None:
        from stn_plugin.models import ARCHITECTURES

        statistics = self.statistics
        member_configs: list[ModelConfig] = self.config.members
        self.members = nn.ModuleList(
            ARCHITECTURES[config.architecture](config, strain=float(self.strain), **statistics)
            for config in member_configs
        )

    def forward(self, data: Data, dcv_input: Tensor | None = None) -> StnOutput:
        """B graphs -> mean normalised U (B,) and mean DCV logits (B, 21) or None."""
        outputs = [member(data, dcv_input) for member in self.members]
        # each member's U with its own statistics, in the ensemble's normalisation (the identity when they agree)
        member_sed = torch.stack(
            [
                (member.denormalize_sed(out.sed_normalized) - self.sed_mean) / self.sed_std
                for member, out in zip(self.members, outputs, strict=True)
            ]
        )
        logits = None if outputs[0].dcv_logits is None else torch.stack([out.dcv_logits for out in outputs]).mean(0)
        self.feature_dict = {}
        dcvs = [member.feature_dict.get("dcv") for member in self.members]
        if dcvs[0] is not None:
            self.feature_dict["dcv"] = torch.stack(dcvs).mean(0)
        return StnOutput(member_sed.mean(0), logits, member_sed)

    def with_vector_zero_threshold(self, threshold: float) -> StnEnsemble:
        """A copy whose members all use ``encoder.vector_zero_threshold = threshold`` (same weights)."""
        members = [member.with_vector_zero_threshold(threshold) for member in self.members]
        return StnEnsemble.from_models(members, check_statistics=False)  # already checked when it was built

    @classmethod
    def from_models(cls, models: Sequence[StnModel], check_statistics: bool = True) -> StnEnsemble:
        """The ensemble of trained ``models`` (their weights are copied).

        Args:
            models: two or more trained models of one architecture, graph settings and strain.
            check_statistics: require equal normalisation statistics (up to ``STATISTICS_RTOL``) as a sign that the
                members were trained on the same split. False for members trained on the same split with other
                labels (a student of ``stn data distill`` next to its teacher's members): each member keeps its own
                statistics, so the ensemble's U is exact either way, and the caller checks the split (as
                ``scripts/ship_pretrained.py`` does with each run's ``split.json``).

        Raises:
            ValueError: fewer than two models, an ensemble among them, or models that differ in architecture,
                graph settings, strain or (with ``check_statistics``) normalisation statistics (i.e. were not
                trained on the same split). The statistics may differ by ``STATISTICS_RTOL``: one split
                canonicalised with another symmetry tolerance moves a few crystals' U.
        """
        if len(models) < 2:
            raise ValueError(f"an ensemble needs at least two models, got {len(models)}.")
        if any(isinstance(model, StnEnsemble) for model in models):
            raise ValueError("ensembles cannot be members of an ensemble; pass their members instead.")
        first = models[0]
        for i, model in enumerate(models[1:], start=1):
            for name in (*STATISTICS, "strain") if check_statistics else ("strain",):
                a, b = getattr(first, name), getattr(model, name)
                rtol = STATISTICS_RTOL if name in STATISTICS else 1e-6
                if not np.allclose(a.detach().cpu().numpy(), b.detach().cpu().numpy(), rtol=rtol, atol=0.0):
                    raise ValueError(
                        f"model {i} differs from model 0 in {name} ({b.tolist()} vs {a.tolist()}): ensemble members "
                        "must be trained on the same training split with the same strain."
                    )
        config = EnsembleConfig(members=[model.config for model in models])
        statistics = first.statistics
        ensemble = cls(config, strain=float(first.strain), **statistics)
        for target, model in zip(ensemble.members, models, strict=True):
            target.load_state_dict(model.state_dict())
        return ensemble.to(dtype=first.sed_mean.dtype)
