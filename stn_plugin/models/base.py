"""Common base of the model family: normalisation buffers, serialisation, structure prediction."""

from __future__ import annotations

import abc
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, ClassVar, NamedTuple

import numpy as np
import torch
from matgl.models import MatGLModel
from pydantic import BaseModel
from pymatgen.core import Structure
from torch import Tensor
from torch_geometric.data import Data

from stn_plugin.models.input_checks import StructureInputError
from stn_plugin.models.prediction import ElasticPrediction
from stn_plugin.physics.voigt import DEFAULT_STRAIN

if TYPE_CHECKING:
    from stn_plugin.models.predictor import ElasticPredictor

NUM_ATOM_SCALARS = 4

STATISTICS: tuple[str, ...] = ("atom_scalar_mean", "atom_scalar_std", "sed_mean", "sed_std")
"""Normalisation statistics of a model (constructor arguments and buffers of :class:`StnModel`)."""


class StnOutput(NamedTuple):
    """Model output for B strained graphs: one row per graph, or per class readout (P rows, :func:`class_readouts`).

    Attributes:
        sed_normalized: (B,) or (P,) normalised U_ij; U (meV/atom) = sed_normalized * sed_std + sed_mean.
        dcv_logits: (B, 21) or (P, 21) DCV logits of the classifier; None for models without one.
        member_sed_normalized: (K, B) or (K, P) the normalised U of each member of an ensemble; None for one network.
    """

    sed_normalized: Tensor
    dcv_logits: Tensor | None
    member_sed_normalized: Tensor | None = None


def class_readouts(data: Data) -> tuple[Tensor, Tensor | None]:
    """The strain one-hots whose U a forward pass returns, and the graph each is read from.

    The strained cells of one structure class are the same crystal rotated (``docs/conventions.md``), so an
    invariant encoder gives them the same pooled features; only the one-hot differs. A graph may therefore stand
    for its whole class: ``readout_onehot`` (n, 21) holds the one-hots of the class's pairs and ``num_readouts``
    (1,) their number n (``ElasticPredictor`` attaches them). The heads then run once per one-hot on the features of
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


class StnModel(MatGLModel):
    """Base class: a MatGL model mapping strained crystal graphs to normalised U_ij.

    All constructor arguments are plain values so that ``IOMixIn.save`` / ``matgl.load_model``
    round-trip the model; the statistics also live in buffers (``atom_scalar_mean`` / ``_std`` (4,),
    ``sed_mean`` / ``sed_std`` (meV/atom), ``strain``), so a loaded model is self-contained.

    Args:
        config: architecture config (pydantic model or its dict); None = defaults.
        atom_scalar_mean: means of the raw atom scalars [mass amu, electronegativity,
            polarizability a.u., radius Angstrom] used to standardise ``data.atom_scalars``.
        atom_scalar_std: their standard deviations.
        sed_mean: mean of the training U_ij, meV/atom.
        sed_std: standard deviation of the training U_ij, meV/atom.
        strain: strain magnitude of the strained graphs.
    """

    __version__ = 1
    config_class: ClassVar[type[BaseModel]]
    reads_graph_dcv: ClassVar[bool] = False
    """Whether ``forward`` reads the graphs' true ``dcv`` field; if not, prediction skips the symmetry analysis."""
    reads_class_readouts: ClassVar[bool] = False
    """Whether ``forward`` reads the graphs' class readouts (:func:`class_readouts`); the predictor then builds one
    strained graph per structure class instead of 21."""

    def __init__(
        self,
        config: BaseModel | Mapping[str, Any] | None = None,
        atom_scalar_mean: Sequence[float] = (0.0, 0.0, 0.0, 0.0),
        atom_scalar_std: Sequence[float] = (1.0, 1.0, 1.0, 1.0),
        sed_mean: float = 0.0,
        sed_std: float = 1.0,
        strain: float = DEFAULT_STRAIN,
    ) -> None:
        super().__init__()
        self.config = self._validate_config(config)
        self.save_args({"config": self.config.model_dump(mode="json"), "strain": float(strain)})
        dtype = torch.get_default_dtype()
        self.register_buffer("atom_scalar_mean", torch.zeros(NUM_ATOM_SCALARS, dtype=dtype))
        self.register_buffer("atom_scalar_std", torch.ones(NUM_ATOM_SCALARS, dtype=dtype))
        self.register_buffer("sed_mean", torch.zeros((), dtype=dtype))
        self.register_buffer("sed_std", torch.ones((), dtype=dtype))
        self.register_buffer("strain", torch.tensor(float(strain), dtype=dtype))
        self.set_normalization(atom_scalar_mean, atom_scalar_std, sed_mean, sed_std)
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
    def forward(self, data: Data, dcv_input: Tensor | None = None) -> StnOutput:
        """B strained graphs (graph contract, batched) -> :class:`StnOutput` (one row per graph, or per class
        readout for a model that :attr:`reads_class_readouts`).

        Args:
            data: a PyG ``Batch`` (or one ``Data``) following the graph contract.
            dcv_input: (B, 21) DCV for the regressor (teacher forcing / known DCV); None = the
                model's own choice (predicted for StrainTensorNet, ``data.dcv`` for Fig. 6 b, c).
        """

    @property
    def edge_strategy(self) -> str:
        """Edge strategy of the graphs the model was trained on."""
        return self.config.encoder.edge_strategy

    @property
    def edge_cutoff(self) -> float:
        """Edge cutoff (Angstrom) of the graphs the model was trained on."""
        return self.config.encoder.edge_cutoff

    def set_normalization(
        self,
        atom_scalar_mean: Sequence[float],
        atom_scalar_std: Sequence[float],
        sed_mean: float,
        sed_std: float,
    ) -> None:
        """Set the standardisation statistics (buffers and saved constructor arguments), also of the StnModels
        this one is made of (the members of an ensemble)."""
        mean, std = np.asarray(atom_scalar_mean, dtype=float), np.asarray(atom_scalar_std, dtype=float)
        if mean.shape != (NUM_ATOM_SCALARS,) or std.shape != (NUM_ATOM_SCALARS,) or np.any(std <= 0):
            raise ValueError("atom_scalar_mean/std must have 4 entries and a positive std.")
        if not sed_std > 0:
            raise ValueError(f"sed_std must be positive, got {sed_std}.")
        with torch.no_grad():
            self.atom_scalar_mean.copy_(torch.as_tensor(mean))
            self.atom_scalar_std.copy_(torch.as_tensor(std))
            self.sed_mean.fill_(float(sed_mean))
            self.sed_std.fill_(float(sed_std))
        self._init_args.update(
            atom_scalar_mean=mean.tolist(),
            atom_scalar_std=std.tolist(),
            sed_mean=float(sed_mean),
            sed_std=float(sed_std),
        )
        for module in self.modules():
            if module is not self and isinstance(module, StnModel):
                module.set_normalization(atom_scalar_mean, atom_scalar_std, sed_mean, sed_std)

    @property
    def statistics(self) -> dict[str, Any]:
        """The standardisation statistics, as :meth:`set_normalization` takes them (``atom_scalar_mean`` and
        ``atom_scalar_std``: 4 entries each; ``sed_mean``, ``sed_std``: meV/atom)."""
        return {key: self._init_args[key] for key in STATISTICS}

    def with_vector_zero_threshold(self, threshold: float) -> StnModel:
        """A copy with ``encoder.vector_zero_threshold = threshold`` (a prediction-time setting of the norm
        nonlinearity, ``docs/model.md``) and the same weights and statistics."""
        encoder = self.config.encoder.model_copy(update={"vector_zero_threshold": threshold})
        config = self.config.model_copy(update={"encoder": encoder})
        copy = type(self)(config, strain=float(self.strain), **self.statistics)
        copy.load_state_dict(self.state_dict())
        return copy.to(dtype=self.sed_mean.dtype)

    def standardized_atom_scalars(self, data: Data) -> Tensor:
        """(N, 4) raw ``data.atom_scalars`` -> standardised, in the model's dtype."""
        return (data.atom_scalars.to(self.atom_scalar_mean.dtype) - self.atom_scalar_mean) / self.atom_scalar_std

    def normalize_sed(self, sed: Tensor) -> Tensor:
        """U (meV/atom) -> normalised target."""
        return (sed.to(self.sed_mean.dtype) - self.sed_mean) / self.sed_std

    def denormalize_sed(self, sed_normalized: Tensor) -> Tensor:
        """Normalised output -> U in meV/atom."""
        return sed_normalized * self.sed_std + self.sed_mean

    @property
    def predictor(self) -> ElasticPredictor:
        """The :class:`~stn_plugin.models.predictor.ElasticPredictor` of this network (built once)."""
        if getattr(self, "_predictor", None) is None:
            from stn_plugin.models.predictor import ElasticPredictor

            self._predictor = ElasticPredictor(self)
        return self._predictor

    def predict_structure(  # type: ignore[override]
        self, structure: Structure, symmetrize: bool = True, **options: Any
    ) -> ElasticPrediction:
        """Elastic tensor, SED and moduli of one crystal in its Cartesian frame; options (``max_atoms``,
        ``max_edges``, ``threads``) as
        :meth:`ElasticPredictor.predict_structure <stn_plugin.models.predictor.ElasticPredictor.predict_structure>`.

        Raises:
            StructureInputError: (a subclass naming the problem and the fix) if the model cannot predict it.
        """
        return self.predictor.predict_structure(structure, symmetrize, **options)

    def predict_structures(
        self, structures: Sequence[Structure], symmetrize: bool = True, **options: Any
    ) -> list[ElasticPrediction] | list[ElasticPrediction | StructureInputError]:
        """Predict several crystals, batched; options and results as
        :meth:`ElasticPredictor.predict_structures <stn_plugin.models.predictor.ElasticPredictor.predict_structures>`
        (``errors="skip"`` keeps going past structures the model cannot predict)."""
        return self.predictor.predict_structures(structures, symmetrize, **options)
