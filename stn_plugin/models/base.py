"""Common base of the networks of the family: strained graphs in, normalised U_ij and DCV logits out.

A network is a plain ``nn.Module`` built from its pydantic config. It knows nothing of structures, statistics or
strain magnitudes: :class:`~stn_plugin.predictor.ElasticPredictor` owns one or more networks (a committee is a
list), their normalisation statistics, the strain magnitude, the graph settings and the symmetry tolerance, as
matgl's ``Potential`` owns a plain network.
"""

from __future__ import annotations

import abc
from collections.abc import Mapping
from typing import Any, ClassVar, NamedTuple

import torch
from pydantic import BaseModel
from torch import Tensor, nn
from torch_geometric.data import Data

from stn_plugin.models.config import EncoderConfig

NUM_ATOM_SCALARS = 4
"""Raw atom scalars per node: mass (amu), Pauling electronegativity, static dipole polarizability (a.u.), atomic
radius (Angstrom); the predictor standardises them with its statistics before a network reads them."""


class StnOutput(NamedTuple):
    """Network output for B strained graphs: one row per graph, or per class readout (P rows, :func:`class_readouts`).

    Attributes:
        sed_normalized: (B,) or (P,) normalised U_ij; the predictor turns it into meV/atom with its statistics.
        dcv_logits: (B, 21) or (P, 21) DCV logits of the classifier; None for networks without one.
        dcv: the (B, 21) or (P, 21) degeneracy class vector the regressor read: the classifier's probabilities
            ``sigmoid(dcv_sharpness * logits)`` (StrainTensorNet), the known DCV (Fig. 6 b, c); None (Fig. 6 a).
    """

    sed_normalized: Tensor
    dcv_logits: Tensor | None
    dcv: Tensor | None


def class_readouts(data: Data) -> tuple[Tensor, Tensor | None]:
    """The strain one-hots whose U a forward pass returns, and the graph each is read from.

    The strained cells of one structure class are the same crystal rotated (``docs/conventions.md``), so an
    invariant encoder gives them the same pooled features; only the one-hot differs. A graph may therefore stand
    for its whole class: ``readout_onehot`` (n, 21) holds the one-hots of the class's pairs and ``num_readouts``
    (1,) their number n (the predictor attaches them). The heads then run once per one-hot on the features of
    its graph, which is the prediction of all 21 strained graphs at the encoder cost of one per class.

    Returns:
        (P, 21) one-hots and (P,) the index of the graph of each (readouts of graph 0 first), or the graphs' own
        ``strain_onehot`` (B, 21) and None when the batch carries no readouts.
    """
    onehot = getattr(data, "readout_onehot", None)
    if onehot is None:
        return data.strain_onehot, None
    counts = data.num_readouts
    return onehot, torch.repeat_interleave(torch.arange(len(counts), device=counts.device), counts)


class StnModel(nn.Module):
    """Base class of the networks: strained crystal graphs and standardised atom scalars -> :class:`StnOutput`.

    ``feature_dict`` holds the latents of the last forward pass (matgl's convention; for inspection only).

    Args:
        config: architecture config (pydantic model or its dict); None = defaults.
    """

    config_class: ClassVar[type[BaseModel]]
    reads_graph_dcv: ClassVar[bool] = False
    """Whether ``forward`` reads the graphs' true ``dcv`` field; if not, prediction skips the symmetry analysis."""
    reads_class_readouts: ClassVar[bool] = False
    """Whether ``forward`` reads the graphs' class readouts (:func:`class_readouts`); the predictor then builds one
    strained graph per structure class instead of 21."""

    def __init__(self, config: BaseModel | Mapping[str, Any] | None = None) -> None:
        super().__init__()
        self.config = self._validate_config(config)
        self.feature_dict: dict[str, Tensor] = {}
        self._build()

    @classmethod
    def _validate_config(cls, config: BaseModel | Mapping[str, Any] | None) -> Any:
        if isinstance(config, BaseModel):
            config = config.model_dump()
        return cls.config_class.model_validate(config or {})

    @abc.abstractmethod
    def _build(self) -> None:
        """Create the submodules from ``self.config``."""

    @abc.abstractmethod
    def forward(self, data: Data, atom_features: Tensor, dcv_input: Tensor | None = None) -> StnOutput:
        """B strained graphs (graph contract, batched) -> :class:`StnOutput` (one row per graph, or per class
        readout for a network that :attr:`reads_class_readouts`).

        Args:
            data: a PyG ``Batch`` (or one ``Data``) following the graph contract.
            atom_features: (N, 4) standardised atom scalars of the nodes (the predictor's statistics).
            dcv_input: (B, 21) DCV for the regressor (teacher forcing / known DCV); None = the network's own
                choice (predicted for StrainTensorNet, ``data.dcv`` for Fig. 6 b, c).
        """

    @property
    def encoder_config(self) -> EncoderConfig:
        """The encoder hyperparameters (edge settings included)."""
        return self.config.encoder
