"""The predictor: the saved model. Structure -> canonical cell -> strained graphs -> U -> C in the user's frame -> moduli.

As matgl's ``Potential`` wraps a plain network, :class:`ElasticPredictor` wraps one or more networks of the family
(:class:`~stn_plugin.models.base.StnModel`: strained graphs in, normalised U and DCV logits out; several networks
are a committee, their mean U) and owns everything between a pymatgen ``Structure`` and an
:class:`~stn_plugin.predictor.prediction.ElasticPrediction`: the networks' normalisation statistics, the strain
magnitude, the graph settings and the symmetry tolerance, all saved with it (matgl ``IOMixIn``):

1. input checks, bounded before any neighbour search or spglib call (:mod:`stn_plugin.structure.checks`,
   :mod:`stn_plugin.graph.checks`);
2. the canonical cell and its edges (:mod:`stn_plugin.structure.canonical`, ``StrainedGraphConverter.prepare``),
   found once per crystal and passed on;
3. the strained graphs of the 21 Voigt states along the canonical axes, or with ``class_representatives``
   (the default for networks that read class readouts) one per structure class: the strained cells of one class
   are the same crystal rotated, so the invariant encoder runs once per class and the heads once per pair on its
   features (:func:`~stn_plugin.models.base.class_readouts`); the U of all 21 pairs, as predicted from all 21
   graphs (float round-off), at 6 of 21 encoder passes for a cubic crystal;
4. forward passes of bounded edge count, denormalised U of every network and their mean;
5. U -> C (Eq. 3) -> projection onto the point group -> C in the user's frame -> moduli
   (:func:`~stn_plugin.predictor.prediction.elastic_prediction`; ``docs/conventions.md``, "Frames").
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, Literal, NamedTuple

import numpy as np
import torch
from matgl.utils.io import IOMixIn
from pydantic import BaseModel, ConfigDict
from pymatgen.core import Structure
from torch import Tensor, nn
from torch_geometric.data import Data

from stn_plugin.graph.batching import DEFAULT_MAX_EDGES_PER_PASS, edge_budget_batches
from stn_plugin.graph.checks import check_edges, check_structure
from stn_plugin.graph.converter import StrainedGraphConverter
from stn_plugin.graph.material import PreparedMaterial
from stn_plugin.limits import MAX_ATOMS, MAX_EDGES
from stn_plugin.models import ARCHITECTURES, GRAPH_SETTINGS, StnModel, StnOutput
from stn_plugin.models.config import EncoderConfig
from stn_plugin.physics.symmetry import DEFAULT_ANGLE_TOLERANCE, DEFAULT_SYMPREC, structure_classes
from stn_plugin.physics.voigt import DEFAULT_STRAIN, N_PAIRS
from stn_plugin.predictor.prediction import ElasticPrediction, elastic_prediction
from stn_plugin.structure.checks import StructureInputError, as_structure, check_size

if TYPE_CHECKING:
    from ase import Atoms

ErrorMode = Literal["raise", "skip"]


class NormalizationStats(BaseModel):
    """Standardisation statistics of one network, fitted on its training split.

    Attributes:
        atom_scalar_mean: means of the raw atom scalars [mass amu, electronegativity, polarizability a.u.,
            radius Angstrom] (``data.atom_scalars``).
        atom_scalar_std: their standard deviations (positive).
        sed_mean: mean of the training U_ij, meV/atom.
        sed_std: standard deviation of the training U_ij, meV/atom (positive).
    """

    model_config = ConfigDict(frozen=True)

    atom_scalar_mean: tuple[float, float, float, float] = (0.0, 0.0, 0.0, 0.0)
    atom_scalar_std: tuple[float, float, float, float] = (1.0, 1.0, 1.0, 1.0)
    sed_mean: float = 0.0
    sed_std: float = 1.0

    def model_post_init(self, context: Any) -> None:
        if min(self.atom_scalar_std) <= 0 or not self.sed_std > 0:
            raise ValueError(f"standard deviations must be positive, got {self.atom_scalar_std} and {self.sed_std}.")


STATISTICS: tuple[str, ...] = tuple(NormalizationStats.model_fields)
"""Names of the statistics: buffers of :class:`ElasticPredictor`, (K, 4) or (K,) for K networks."""


class SedPrediction(NamedTuple):
    """U of P strain readouts from a predictor's networks.

    Attributes:
        sed: (P,) U in meV/atom, the mean over the networks.
        member_sed: (K, P) each network's U in meV/atom; None for one network.
        dcv: (P, 21) DCV class probabilities: sigmoid of the networks' mean classifier logits (StrainTensorNet),
            the known DCV the networks read (Fig. 6 b, c), or None (Fig. 6 a).
    """

    sed: Tensor
    member_sed: Tensor | None
    dcv: Tensor | None


class ElasticPredictor(nn.Module, IOMixIn):
    """Elastic tensors of crystals from one network, or the mean U of a committee of networks.

    Every constructor argument is a plain value (configs and statistics as mappings), so ``save`` /
    ``matgl.load_model`` / :func:`stn_plugin.load` round-trip the predictor and a saved ``model.pt`` holds no
    object for a loader to construct. Build one from trained networks with :meth:`from_networks`, a committee of
    saved predictors with :meth:`committee`.

    Args:
        networks: the architecture config of every network (``StrainTensorNetConfig``, ``TrialModelConfig`` or
            their dicts); all must build the same graphs (:data:`~stn_plugin.models.config.GRAPH_SETTINGS`).
        statistics: the :class:`NormalizationStats` (or dict) of every network, in the same order.
        strain: strain magnitude of the strained graphs and of Eq. 3 (dimensionless, 0.02 in the paper).
        symprec: spglib distance tolerance (Angstrom) of the canonical cell and of the point group.
        angle_tolerance: spglib angle tolerance (degrees).

    Raises:
        ValueError: no network, a statistics entry per network missing, or networks of several architectures or
            that build other graphs.
    """

    __version__ = 2

    def __init__(
        self,
        networks: Sequence[BaseModel | Mapping[str, Any]],
        statistics: Sequence[NormalizationStats | Mapping[str, Any]],
        strain: float = DEFAULT_STRAIN,
        symprec: float = DEFAULT_SYMPREC,
        angle_tolerance: float = DEFAULT_ANGLE_TOLERANCE,
    ) -> None:
        super().__init__()
        configs = [c.model_dump(mode="json") if isinstance(c, BaseModel) else dict(c) for c in networks]
        stats = [s if isinstance(s, NormalizationStats) else NormalizationStats.model_validate(s) for s in statistics]
        if not configs or len(configs) != len(stats):
            raise ValueError(f"need one statistics entry per network, got {len(configs)} networks, {len(stats)}.")
        if len({config["architecture"] for config in configs}) > 1:
            architectures = sorted({config["architecture"] for config in configs})
            raise ValueError(f"the networks of a predictor must share one architecture, got {architectures}.")
        self.networks = nn.ModuleList(ARCHITECTURES[config["architecture"]](config) for config in configs)
        for key in GRAPH_SETTINGS:
            values = {getattr(network.config.encoder, key) for network in self.networks}
            if len(values) > 1:
                raise ValueError(f"the networks must build the same graphs; they differ in {key}: {values}.")
        self.strain = float(strain)
        self.symprec = float(symprec)
        self.angle_tolerance = float(angle_tolerance)
        self.save_args(
            {
                "networks": [network.config.model_dump(mode="json") for network in self.networks],
                "statistics": [s.model_dump(mode="json") for s in stats],
                "strain": self.strain,
                "symprec": self.symprec,
                "angle_tolerance": self.angle_tolerance,
            }
        )
        dtype = torch.get_default_dtype()
        for name in STATISTICS:  # also in the state (and so in training checkpoints), equal to the arguments
            self.register_buffer(name, torch.tensor([getattr(s, name) for s in stats], dtype=dtype))
        self.class_representatives = self.reads_class_readouts
        self.converter = StrainedGraphConverter(
            edges=self.encoder_config.build_edge_strategy(),
            magnitude=self.strain,
            symprec=self.symprec,
            angle_tolerance=self.angle_tolerance,
            true_dcv=self.reads_graph_dcv,
        )

    @classmethod
    def from_networks(
        cls,
        networks: Sequence[StnModel],
        statistics: Sequence[NormalizationStats | Mapping[str, Any]],
        **settings: Any,
    ) -> ElasticPredictor:
        """The predictor of trained ``networks`` (weights copied) with their ``statistics``; ``settings``:
        ``strain``, ``symprec``, ``angle_tolerance``."""
        predictor = cls([network.config for network in networks], statistics, **settings)
        for target, network in zip(predictor.networks, networks, strict=True):
            target.load_state_dict(network.state_dict())
        return predictor.to(dtype=next(networks[0].parameters()).dtype)

    @classmethod
    def committee(cls, predictors: Sequence[ElasticPredictor]) -> ElasticPredictor:
        """One predictor of the networks of ``predictors`` (U = the mean over all of them; weights copied).

        Each network keeps its own statistics, so the committee's U is the mean of what each predicts alone.

        Raises:
            ValueError: fewer than two networks, the same network twice, or predictors that differ in strain,
                symmetry tolerance or graph settings.
        """
        networks = [network for predictor in predictors for network in predictor.networks]
        if len(networks) < 2:
            raise ValueError(f"a committee needs at least two networks, got {len(networks)}.")
        first = predictors[0]
        for predictor in predictors[1:]:
            for name in ("strain", "symprec", "angle_tolerance"):
                if getattr(predictor, name) != getattr(first, name):
                    raise ValueError(
                        f"committee members must share {name}: {getattr(predictor, name)} vs {getattr(first, name)}."
                    )
        fingerprints = [
            tuple(float(v.detach().float().sum()) for v in network.state_dict().values()) for network in networks
        ]
        if len(set(fingerprints)) < len(fingerprints):
            raise ValueError("the same network is in the committee twice; pass different networks.")
        statistics = [s for predictor in predictors for s in predictor.statistics]
        settings = {"strain": first.strain, "symprec": first.symprec, "angle_tolerance": first.angle_tolerance}
        return cls.from_networks(networks, statistics, **settings)

    @property
    def class_representatives(self) -> bool:
        """Build one strained graph per structure class and read the U of every pair of the class from it (fewer
        encoder passes: 6 of 21 for a cubic crystal; the same U as all 21 graphs to float round-off); False builds
        all 21 graphs. Defaults to whether every network reads class readouts (StrainTensorNet and Fig. 6(a), not
        the models that read the graphs' true DCV).

        Raises:
            ValueError: set to True for networks that read each graph's own DCV.
        """
        return self._class_representatives

    @class_representatives.setter
    def class_representatives(self, value: bool) -> None:
        if value and not self.reads_class_readouts:
            raise ValueError(
                "a network of this predictor reads each strained graph's own DCV: it cannot predict one graph per "
                "structure class (class_representatives=True)."
            )
        self._class_representatives = bool(value)

    @property
    def statistics(self) -> list[NormalizationStats]:
        """The standardisation statistics of every network."""
        return [NormalizationStats.model_validate(s) for s in self._init_args["statistics"]]

    @property
    def encoder_config(self) -> EncoderConfig:
        """Encoder settings of the first network (every network builds the same graphs)."""
        return self.networks[0].config.encoder

    @property
    def reads_graph_dcv(self) -> bool:
        """Whether a network reads the graphs' true DCV (Fig. 6 b, c)."""
        return any(network.reads_graph_dcv for network in self.networks)

    @property
    def reads_class_readouts(self) -> bool:
        """Whether every network reads class readouts (:func:`~stn_plugin.models.base.class_readouts`)."""
        return all(network.reads_class_readouts for network in self.networks)

    def atom_features(self, data: Data, network: int = 0) -> Tensor:
        """(N, 4) raw ``data.atom_scalars`` standardised with the statistics of network ``network``."""
        mean, std = self.atom_scalar_mean[network], self.atom_scalar_std[network]
        return (data.atom_scalars.to(mean.dtype) - mean) / std

    def normalize_sed(self, sed: Tensor, network: int = 0) -> Tensor:
        """U (meV/atom) -> the normalised target of network ``network``."""
        return (sed.to(self.sed_mean.dtype) - self.sed_mean[network]) / self.sed_std[network]

    def denormalize_sed(self, sed_normalized: Tensor, network: int = 0) -> Tensor:
        """Normalised output of network ``network`` -> U in meV/atom."""
        return sed_normalized * self.sed_std[network] + self.sed_mean[network]

    def network_outputs(self, data: Data, dcv_input: Tensor | None = None) -> list[StnOutput]:
        """Every network's :class:`~stn_plugin.models.base.StnOutput` on the graphs ``data`` (normalised U)."""
        return [network(data, self.atom_features(data, k), dcv_input) for k, network in enumerate(self.networks)]

    def forward(self, data: Data, dcv_input: Tensor | None = None) -> SedPrediction:
        """B strained graphs -> :class:`SedPrediction` (U in meV/atom), one row per graph or class readout."""
        outputs = self.network_outputs(data, dcv_input)
        member_sed = torch.stack([self.denormalize_sed(out.sed_normalized, k) for k, out in enumerate(outputs)])
        if outputs[0].dcv_logits is not None:
            dcv = torch.sigmoid(torch.stack([out.dcv_logits for out in outputs]).mean(0))
        elif outputs[0].dcv is not None:
            dcv = torch.stack([out.dcv for out in outputs]).mean(0)
        else:
            dcv = None
        return SedPrediction(member_sed.mean(0), member_sed if len(outputs) > 1 else None, dcv)

    def strained_graphs(
        self, structure: Structure, max_atoms: int = MAX_ATOMS, max_edges: int = MAX_EDGES
    ) -> tuple[PreparedMaterial, list[Data], np.ndarray]:
        """The canonical cell of ``structure``, the strained graphs to predict and the structure-class label of
        each of the 21 pairs (:meth:`material_graphs`).

        Raises:
            StructureInputError: (a subclass naming the problem and the fix) for a structure the model cannot
                predict; every check runs before the strained graphs are built.
        """
        encoder = self.encoder_config
        structure = check_structure(
            structure, encoder.max_atomic_number, max_atoms, encoder.edge_cutoff, self.converter.element_types
        )
        check_size(structure, max_atoms, self.symprec, self.angle_tolerance)
        material = self.converter.prepare(structure)
        note = f"{encoder.edge_strategy} {encoder.edge_cutoff} Angstrom"
        check_edges(material, max_edges, note)
        return (material, *self.material_graphs(material))

    def material_graphs(self, material: PreparedMaterial) -> tuple[list[Data], np.ndarray]:
        """The strained graphs of a prepared (canonical) material and the structure-class label of each of the
        21 pairs (identity labels when all 21 graphs are built). With ``class_representatives`` the graphs are
        one per class, each with the class readouts of its pairs (``readout_onehot``, ``num_readouts``), so that
        a forward pass returns the 21 pairs in the order ``argsort(labels)``."""
        if not self.class_representatives:
            return self.converter.strained_graphs(material), np.arange(N_PAIRS)
        labels = structure_classes(material.point_group, self.strain)
        representatives = sorted(set(labels.tolist()))
        graphs = self.converter.strained_graphs(material, pairs=representatives)
        onehots = torch.eye(N_PAIRS, dtype=torch.float32)
        for graph, representative in zip(graphs, representatives, strict=True):
            pairs = np.flatnonzero(labels == representative)
            graph.readout_onehot = onehots[pairs]
            graph.num_readouts = torch.tensor([len(pairs)])
        return graphs, labels

    def predict_structure(
        self,
        structure: Structure | Atoms,
        symmetrize: bool = True,
        max_atoms: int = MAX_ATOMS,
        max_edges: int = MAX_EDGES,
        threads: int | None = 1,
    ) -> ElasticPrediction:
        """Elastic tensor, SED and moduli of one crystal, in its Cartesian frame (see :meth:`predict_structures`).

        Raises:
            StructureInputError: (a subclass naming the problem and the fix) if the model cannot predict it.
        """
        (result,) = self.predict_structures(
            [structure], symmetrize, max_atoms=max_atoms, max_edges=max_edges, threads=threads
        )
        assert isinstance(result, ElasticPrediction)
        return result

    def predict_structures(
        self,
        structures: Sequence[Structure | Atoms],
        symmetrize: bool = True,
        materials_per_batch: int = 8,
        max_atoms: int = MAX_ATOMS,
        max_edges: int = MAX_EDGES,
        max_edges_per_pass: int | None = DEFAULT_MAX_EDGES_PER_PASS,
        errors: ErrorMode = "raise",
        progress: Callable[[int], None] | None = None,
        threads: int | None = 1,
    ) -> list[ElasticPrediction] | list[ElasticPrediction | StructureInputError]:
        """Predict several crystals: graphs of ``materials_per_batch`` materials at a time, forward passes of at
        most ``max_edges_per_pass`` edges (bounded memory for large cells; results do not depend on either).

        Args:
            structures: crystals (pymatgen ``Structure`` or periodic ASE ``Atoms``) in any orientation and cell;
                results are in the Cartesian frame of each (predicted on the canonical cell, rotated back exactly:
                ``docs/conventions.md``); anything else gets a
                :class:`~stn_plugin.structure.checks.NotACrystalError`.
            symmetrize: project C onto each crystal's point group (Neumann's principle: C must be invariant
                under it). The network's outputs do not share that symmetry exactly; the projection lowers the
                C_ij error and leaves the Voigt averages B_V, G_V unchanged. False = the raw network output
                (rotated into the user's frame).
            materials_per_batch: materials whose strained graphs are built and predicted together.
            max_atoms: limit on the atoms of the cell the graphs are built on (:mod:`stn_plugin.structure.checks`).
            max_edges: limit on the directed edges of one strained graph.
            max_edges_per_pass: edge budget of one forward pass (None: one pass per ``materials_per_batch``).
            errors: ``"raise"``: raise for the first structure the model cannot predict; ``"skip"``: put that
                structure's :class:`~stn_plugin.structure.checks.StructureInputError` in its place of the
                result and predict the others (``isinstance(item, ElasticPrediction)`` tells them apart).
            progress: called with the number of structures finished after each group of ``materials_per_batch``.
            threads: torch intra-op threads during the call, restored afterwards (default 1: on a 2-core machine a
                second thread saves little); None = torch's current setting.

        Returns:
            one item per structure, in input order: an :class:`ElasticPrediction`, or with ``errors="skip"``
            the typed error of a structure the model cannot predict.

        Raises:
            StructureInputError: with ``errors="raise"``, for the first structure the model cannot predict.
        """
        if errors not in ("raise", "skip"):
            raise ValueError(f'errors must be "raise" or "skip", got {errors!r}.')
        if materials_per_batch < 1:
            raise ValueError(f"materials_per_batch must be at least 1, got {materials_per_batch}.")
        results: list[ElasticPrediction | StructureInputError] = []
        with self._inference(threads):
            for start in range(0, len(structures), materials_per_batch):
                chunk = structures[start : start + materials_per_batch]
                items: list[ElasticPrediction | StructureInputError | None] = []
                prepared: dict[int, tuple[PreparedMaterial, list[Data], np.ndarray]] = {}  # position in items ->
                crystals: list[Structure | None] = []  # the pymatgen structure of each item, attached to its result
                for item in chunk:
                    crystal = None
                    try:
                        crystal = as_structure(item)
                        prepared[len(items)] = self.strained_graphs(crystal, max_atoms, max_edges)
                        items.append(None)
                    except StructureInputError as exc:
                        if errors == "raise":
                            raise
                        items.append(exc)
                    crystals.append(crystal)
                if prepared:
                    predictions = self._predict_prepared(
                        list(prepared.values()), symmetrize, max_edges_per_pass, [crystals[i] for i in prepared]
                    )
                    for position, prediction in zip(prepared, predictions, strict=True):
                        items[position] = prediction
                results.extend(item for item in items if item is not None)
                if progress is not None:
                    progress(len(results))
        return results

    def predict_materials(
        self,
        materials: Sequence[PreparedMaterial],
        symmetrize: bool = True,
        materials_per_batch: int = 8,
        max_edges_per_pass: int | None = DEFAULT_MAX_EDGES_PER_PASS,
        threads: int | None = None,
    ) -> list[ElasticPrediction]:
        """Predict crystals already prepared by this predictor's converter (canonical cell and edges, e.g. from
        the training data's cache), each in the frame its ``rotation`` gives: the same numbers as
        :meth:`predict_structures` on the structures they were prepared from, without preparing them again."""
        results: list[ElasticPrediction] = []
        with self._inference(threads):
            for start in range(0, len(materials), materials_per_batch):
                prepared = [(m, *self.material_graphs(m)) for m in materials[start : start + materials_per_batch]]
                results.extend(self._predict_prepared(prepared, symmetrize, max_edges_per_pass))
        return results

    @contextmanager
    def _inference(self, threads: int | None) -> Iterator[None]:
        """Evaluation mode, ``torch.inference_mode`` and ``threads`` torch threads (None: unchanged) for the
        duration of a prediction; the training flag and torch's thread count are restored afterwards."""
        was_training, previous_threads = self.training, torch.get_num_threads()
        self.eval()
        if threads is not None:
            torch.set_num_threads(threads)
        try:
            with torch.inference_mode():
                yield
        finally:
            self.train(was_training)
            torch.set_num_threads(previous_threads)

    def _predict_prepared(
        self,
        prepared: Sequence[tuple[PreparedMaterial, list[Data], np.ndarray]],
        symmetrize: bool,
        max_edges_per_pass: int | None,
        structures: Sequence[Structure | None] | None = None,
    ) -> list[ElasticPrediction]:
        """Predictions (user frames) of M prepared materials from their graphs; ``structures`` (the user's, M) are
        attached to the results."""
        graphs = [g for _, material_graphs, _ in prepared for g in material_graphs]
        return self._elastic_predictions(
            prepared, self._predict_graphs(graphs, max_edges_per_pass), symmetrize, structures
        )

    def _elastic_predictions(
        self,
        prepared: Sequence[tuple[PreparedMaterial, list[Data], np.ndarray]],
        outputs: SedPrediction,
        symmetrize: bool,
        structures: Sequence[Structure | None] | None = None,
    ) -> list[ElasticPrediction]:
        """The :class:`ElasticPrediction` of each prepared material from the outputs of its graphs, which come in the
        order ``argsort(labels)`` (:meth:`material_graphs`) and are put back in ``VOIGT_PAIRS`` order."""
        sed, member_sed, dcv = outputs
        results = []
        for m, (material, _, labels) in enumerate(prepared):
            rows = slice(m * N_PAIRS, (m + 1) * N_PAIRS)
            row_of_pair = np.argsort(np.argsort(labels, kind="stable"))
            sed_rows = sed[rows].double().numpy()[row_of_pair]
            dcv_rows = None if dcv is None else dcv[rows].double().numpy()[row_of_pair]
            members = None if member_sed is None else member_sed[:, rows].double().numpy()[:, row_of_pair]
            structure = None if structures is None else structures[m]
            results.append(
                elastic_prediction(material, sed_rows, dcv_rows, self.strain, symmetrize, members, structure)
            )
        return results

    def _predict_graphs(self, graphs: Sequence[Data], max_edges_per_pass: int | None) -> SedPrediction:
        """:class:`SedPrediction` of the P readouts of G graphs (P = G without class readouts), in edge-bounded
        passes."""
        parts = [self(batch) for batch in edge_budget_batches(graphs, max_edges_per_pass)]
        return SedPrediction(
            torch.cat([part.sed for part in parts]),
            None if parts[0].member_sed is None else torch.cat([part.member_sed for part in parts], dim=1),
            None if parts[0].dcv is None else torch.cat([part.dcv for part in parts]),
        )
