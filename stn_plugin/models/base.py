"""Common base of the model family: normalisation buffers, serialisation, structure prediction."""

from __future__ import annotations

import abc
from collections.abc import Callable, Mapping, Sequence
from typing import Any, ClassVar, Literal, NamedTuple

import numpy as np
import torch
from matgl.models import MatGLModel
from pydantic import BaseModel
from pymatgen.core import Structure
from torch import Tensor
from torch_geometric.data import Data

from stn_plugin.graph.batching import DEFAULT_MAX_EDGES_PER_PASS, edge_budget_batches
from stn_plugin.limits import MAX_ATOMS, MAX_EDGES
from stn_plugin.models.config import EncoderConfig
from stn_plugin.models.input_checks import StructureInputError, check_edges, check_size, check_structure
from stn_plugin.models.prediction import ElasticPrediction, elastic_prediction
from stn_plugin.physics.voigt import DEFAULT_STRAIN, N_PAIRS

NUM_ATOM_SCALARS = 4

STATISTICS: tuple[str, ...] = ("atom_scalar_mean", "atom_scalar_std", "sed_mean", "sed_std")
"""Normalisation statistics of a model (constructor arguments and buffers of :class:`StnModel`)."""


class StnOutput(NamedTuple):
    """Model output for B strained graphs.

    Attributes:
        sed_normalized: (B,) normalised U_ij; U (meV/atom) = sed_normalized * sed_std + sed_mean.
        dcv_logits: (B, 21) DCV logits of the classifier; None for models without one.
    """

    sed_normalized: Tensor
    dcv_logits: Tensor | None


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
        """B strained graphs (graph contract, batched) -> :class:`StnOutput`.

        Args:
            data: a PyG ``Batch`` (or one ``Data``) following the graph contract.
            dcv_input: (B, 21) DCV for the regressor (teacher forcing / known DCV); None = the
                model's own choice (predicted for StrainTensorNet, ``data.dcv`` for Fig. 6 b, c).
        """

    @property
    def encoder_config(self) -> EncoderConfig:
        """The encoder hyperparameters (edge settings included)."""
        return self.config.encoder

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

    def with_vector_zero_threshold(self, threshold: float) -> StnModel:
        """A copy with ``encoder.vector_zero_threshold = threshold`` (a prediction-time setting of the norm
        nonlinearity, ``docs/model.md``) and the same weights and statistics."""
        encoder = self.config.encoder.model_copy(update={"vector_zero_threshold": threshold})
        config = self.config.model_copy(update={"encoder": encoder})
        statistics = {
            key: self._init_args[key] for key in ("atom_scalar_mean", "atom_scalar_std", "sed_mean", "sed_std")
        }
        copy = type(self)(config, strain=float(self.strain), **statistics)
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

    def _strained_graphs(
        self, structure: Structure, max_atoms: int = MAX_ATOMS, max_edges: int = MAX_EDGES
    ) -> list[Data]:
        """The 21 strained graphs of ``structure`` (VOIGT_PAIRS order) with the model's edge settings and strain.

        Raises a :class:`~stn_plugin.models.input_checks.StructureInputError` for a structure the model cannot
        predict; the size limits are checked before the strained graphs are built.
        """
        from stn_plugin.graph import StrainedGraphConverter

        if getattr(self, "_converter", None) is None:
            edges = self.config.encoder.build_edge_strategy()
            self._converter = StrainedGraphConverter(
                edges=edges, magnitude=float(self.strain), true_dcv=self.reads_graph_dcv
            )
        converter = self._converter
        check_structure(structure, self.config.encoder.max_atomic_number)
        check_size(structure, max_atoms, converter.symprec, converter.angle_tolerance)
        material = converter.prepare(structure)
        note = f"{self.edge_strategy} {self.edge_cutoff} Angstrom"
        check_edges(material, max_edges, note, converter.edges.distance_based)
        return converter.strained_graphs(material)

    def predict_structure(  # type: ignore[override]
        self,
        structure: Structure,
        symmetrize: bool = True,
        max_atoms: int = MAX_ATOMS,
        max_edges: int = MAX_EDGES,
        threads: int | None = 1,
    ) -> ElasticPrediction:
        """Elastic tensor, SED and moduli of one crystal from one batched pass over its 21 strained graphs.

        Args:
            structure: the crystal; the result is in its Cartesian frame.
            symmetrize: project C onto the crystal's point group (default); False = the raw network output.
            max_atoms: limit on the atoms of the cell the graphs are built on (:mod:`.input_checks`).
            max_edges: limit on the directed edges of one strained graph.
            threads: torch threads during the call (see :meth:`predict_structures`).

        Raises:
            StructureInputError: (a subclass naming the problem and the fix) if the model cannot predict it.
        """
        (result,) = self.predict_structures(
            [structure], symmetrize, max_atoms=max_atoms, max_edges=max_edges, threads=threads
        )
        return result

    def predict_structures(
        self,
        structures: Sequence[Structure],
        symmetrize: bool = True,
        materials_per_batch: int = 8,
        max_atoms: int = MAX_ATOMS,
        max_edges: int = MAX_EDGES,
        max_edges_per_pass: int | None = DEFAULT_MAX_EDGES_PER_PASS,
        errors: Literal["raise", "skip"] = "raise",
        progress: Callable[[int], None] | None = None,
        threads: int | None = 1,
    ) -> list[ElasticPrediction] | list[ElasticPrediction | StructureInputError]:
        """Predict several crystals: graphs of ``materials_per_batch`` materials at a time, forward passes of at
        most ``max_edges_per_pass`` edges (bounded memory for large cells; results do not depend on either).

        Args:
            structures: crystals; results are in the Cartesian frame of each.
            symmetrize: project C onto each crystal's point group (Neumann's principle: C must be invariant
                under it). The network's 21 outputs do not share that symmetry exactly; the projection
                lowers the C_ij error (docs/RESULTS.md) and leaves the Voigt averages B_V, G_V unchanged.
                False = the raw network output.
            materials_per_batch: materials whose 21 strained graphs are built and predicted together.
            max_atoms: limit on the atoms of the cell the graphs are built on (:mod:`.input_checks`).
            max_edges: limit on the directed edges of one strained graph.
            max_edges_per_pass: edge budget of one forward pass (None: one pass per ``materials_per_batch``).
            errors: ``"raise"``: raise for the first structure the model cannot predict; ``"skip"``: put that
                structure's :class:`~stn_plugin.models.input_checks.StructureInputError` in its place of the
                result and predict the others (``isinstance(item, ElasticPrediction)`` tells them apart).
            progress: called with the number of structures finished after each group of ``materials_per_batch``.
            threads: torch intra-op threads during the call, restored afterwards (default 1: on the project's
                2-core machine a second thread saved little, docs/RESULTS.md "Performance"); None = torch's
                current setting.

        Returns:
            one item per structure, in input order: an :class:`ElasticPrediction`, or with ``errors="skip"``
            the typed error of a structure the model cannot predict.

        Raises:
            StructureInputError: (a subclass naming the problem and the fix) with ``errors="raise"``, for the first
                structure the model cannot predict.
        """
        if errors not in ("raise", "skip"):
            raise ValueError(f'errors must be "raise" or "skip", got {errors!r}.')
        was_training, previous_threads = self.training, torch.get_num_threads()
        self.eval()
        if threads is not None:
            torch.set_num_threads(threads)
        results: list[ElasticPrediction | StructureInputError] = []
        try:
            for start in range(0, len(structures), materials_per_batch):
                items: list[ElasticPrediction | StructureInputError | None] = []
                graphs: list[Data] = []
                checked: dict[int, Structure] = {}  # position in items -> the structure wrapped into its cell
                for structure in structures[start : start + materials_per_batch]:
                    try:  # bounded checks and the wrap into the cell come before any neighbour search or spglib
                        wrapped = check_structure(
                            structure, self.config.encoder.max_atomic_number, max_atoms, self.edge_cutoff
                        )
                        graphs.extend(self._strained_graphs(wrapped, max_atoms, max_edges))
                        checked[len(items)] = wrapped
                        items.append(None)
                    except StructureInputError as exc:
                        if errors == "raise":
                            raise
                        items.append(exc)
                if checked:
                    with torch.inference_mode():
                        outputs = self._predict_graphs(graphs, max_edges_per_pass)
                    predictions = self._elastic_predictions(list(checked.values()), *outputs, symmetrize)
                    for position, prediction in zip(checked, predictions, strict=True):
                        items[position] = prediction
                results.extend(item for item in items if item is not None)
                if progress is not None:
                    progress(len(results))
        finally:
            self.train(was_training)
            torch.set_num_threads(previous_threads)
        return results

    def _elastic_predictions(
        self,
        structures: Sequence[Structure],
        sed: Tensor,
        dcv: Tensor | None,
        member_sed: Tensor | None,
        symmetrize: bool,
    ) -> list[ElasticPrediction]:
        """Predictions of M structures from the :meth:`_predict_graphs` outputs of their 21 M graphs (material-major)."""
        n = len(structures)
        sed_rows = sed.view(n, N_PAIRS).double().numpy()
        dcv_rows = [None] * n if dcv is None else dcv.view(n, N_PAIRS, N_PAIRS).double().numpy()
        members = [None] * n if member_sed is None else member_sed.view(-1, n, N_PAIRS).transpose(0, 1).double().numpy()
        strain = float(self.strain)
        return [
            elastic_prediction(s, sed_rows[m], dcv_rows[m], strain, symmetrize, members[m])
            for m, s in enumerate(structures)
        ]

    def _predict_graphs(
        self, graphs: Sequence[Data], max_edges_per_pass: int | None
    ) -> tuple[Tensor, Tensor | None, Tensor | None]:
        """U (meV/atom, (G,)), DCV probabilities ((G, 21) or None) and, for an ensemble, its members' U
        ((K, G), else None) of G graphs, in edge-bounded passes."""
        seds: list[Tensor] = []
        dcvs: list[Tensor] = []
        member_seds: list[Tensor] = []
        for batch in edge_budget_batches(graphs, max_edges_per_pass):
            out = self(batch)
            seds.append(self.denormalize_sed(out.sed_normalized))
            dcv = self.feature_dict.get("dcv") if out.dcv_logits is None else torch.sigmoid(out.dcv_logits)
            if dcv is not None:
                dcvs.append(dcv)
            if "member_sed_normalized" in self.feature_dict:
                member_seds.append(self.denormalize_sed(self.feature_dict["member_sed_normalized"]))
        return (
            torch.cat(seds),
            torch.cat(dcvs) if dcvs else None,
            torch.cat(member_seds, dim=1) if member_seds else None,
        )
