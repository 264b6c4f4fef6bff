"""The predictor: structure -> canonical cell -> strained graphs -> batches -> U -> C in the user's frame -> moduli.

As matgl's ``Potential`` wraps a plain network, :class:`ElasticPredictor` wraps a network of the family
(:class:`~stn_plugin.models.base.StnModel`: strained graphs in, normalised U and DCV logits out) and owns
everything between a pymatgen ``Structure`` and an :class:`~stn_plugin.models.prediction.ElasticPrediction`:

1. input checks, bounded before any neighbour search or spglib call (:mod:`.input_checks`);
2. the canonical cell and its edges (:mod:`stn_plugin.graph.standardize`, ``StrainedGraphConverter.prepare``);
3. the strained graphs of the 21 Voigt states along the canonical axes, or with ``class_representatives``
   (the default for networks that read class readouts) one per structure class: the strained cells of one class
   are the same crystal rotated, so the invariant encoder runs once per class and the heads once per pair on its
   features (:func:`~stn_plugin.models.base.class_readouts`); the U of all 21 pairs, as predicted from all 21
   graphs (float round-off), at 6 of 21 encoder passes for a cubic crystal;
4. forward passes of bounded edge count, denormalised U (and an ensemble's members' U);
5. U -> C (Eq. 3) -> projection onto the point group -> C in the user's frame -> moduli
   (:func:`~stn_plugin.models.prediction.elastic_prediction`; ``docs/conventions.md``, "Frames").

``StnModel.predict_structure`` / ``predict_structures`` call the model's predictor; ``model.predictor`` gives it.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Literal

import numpy as np
import torch
from pymatgen.core import Structure
from torch import Tensor
from torch_geometric.data import Data

from stn_plugin.graph.batching import DEFAULT_MAX_EDGES_PER_PASS, edge_budget_batches
from stn_plugin.graph.converter import StrainedGraphConverter
from stn_plugin.graph.material import PreparedMaterial
from stn_plugin.limits import MAX_ATOMS, MAX_EDGES
from stn_plugin.models.input_checks import StructureInputError, check_edges, check_size, check_structure
from stn_plugin.models.prediction import ElasticPrediction, elastic_prediction
from stn_plugin.physics.symmetry import structure_classes
from stn_plugin.physics.voigt import N_PAIRS

if TYPE_CHECKING:
    from stn_plugin.models.base import StnModel

ErrorMode = Literal["raise", "skip"]


class ElasticPredictor:
    """Elastic tensors of crystals from a network of the StrainTensorNet family.

    Args:
        model: the network (its edge settings, strain magnitude and normalisation are read from it).
        class_representatives: build one strained graph per structure class and read the U of every pair of the
            class from it (fewer encoder passes: 6 of 21 for a cubic crystal; the same U as all 21 graphs);
            False builds all 21 graphs; None (default) = whether the model reads class readouts
            (``StnModel.reads_class_readouts``: StrainTensorNet and Fig. 6(a), not the models that read the
            graphs' true DCV).

    Raises:
        ValueError: ``class_representatives=True`` for a model that does not read class readouts.
    """

    def __init__(self, model: StnModel, class_representatives: bool | None = None) -> None:
        if class_representatives and not model.reads_class_readouts:
            raise ValueError(
                f"{type(model).__name__} reads each strained graph's own DCV: it cannot predict one graph per "
                "structure class (class_representatives=True)."
            )
        self.model = model
        self.class_representatives = (
            model.reads_class_readouts if class_representatives is None else class_representatives
        )
        self.converter = StrainedGraphConverter(
            edges=model.config.encoder.build_edge_strategy(),
            magnitude=float(model.strain),
            true_dcv=model.reads_graph_dcv,
        )

    def strained_graphs(
        self, structure: Structure, max_atoms: int = MAX_ATOMS, max_edges: int = MAX_EDGES
    ) -> tuple[PreparedMaterial, list[Data], np.ndarray]:
        """The canonical cell of ``structure``, the strained graphs to predict, and the structure-class label
        of each of the 21 pairs (identity labels when all 21 graphs are built). With ``class_representatives``
        the graphs are one per class, each with the class readouts of its pairs (``readout_onehot``,
        ``num_readouts``), so that a forward pass returns the 21 pairs in the order ``argsort(labels)``.

        Raises:
            StructureInputError: (a subclass naming the problem and the fix) for a structure the model cannot
                predict; every check runs before the strained graphs are built.
        """
        encoder = self.model.config.encoder
        structure = check_structure(structure, encoder.max_atomic_number, max_atoms, encoder.edge_cutoff)
        check_size(structure, max_atoms, self.converter.symprec, self.converter.angle_tolerance)
        material = self.converter.prepare(structure)
        note = f"{encoder.edge_strategy} {encoder.edge_cutoff} Angstrom"
        check_edges(material, max_edges, note)
        if not self.class_representatives:
            return material, self.converter.strained_graphs(material), np.arange(N_PAIRS)
        labels = structure_classes(material.point_group, self.converter.magnitude)
        representatives = sorted(set(labels.tolist()))
        graphs = self.converter.strained_graphs(material, pairs=representatives)
        onehots = torch.eye(N_PAIRS, dtype=torch.float32)
        for graph, representative in zip(graphs, representatives, strict=True):
            pairs = np.flatnonzero(labels == representative)
            graph.readout_onehot = onehots[pairs]
            graph.num_readouts = torch.tensor([len(pairs)])
        return material, graphs, labels

    def predict_structure(
        self,
        structure: Structure,
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
        structures: Sequence[Structure],
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
            structures: crystals in any orientation and cell; results are in the Cartesian frame of each
                (predicted on the canonical cell, rotated back exactly: ``docs/conventions.md``).
            symmetrize: project C onto each crystal's point group (Neumann's principle: C must be invariant
                under it). The network's outputs do not share that symmetry exactly; the projection lowers the
                C_ij error (docs/RESULTS.md) and leaves the Voigt averages B_V, G_V unchanged. False = the raw
                network output (rotated into the user's frame).
            materials_per_batch: materials whose strained graphs are built and predicted together.
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
            StructureInputError: with ``errors="raise"``, for the first structure the model cannot predict.
        """
        if errors not in ("raise", "skip"):
            raise ValueError(f'errors must be "raise" or "skip", got {errors!r}.')
        model = self.model
        was_training, previous_threads = model.training, torch.get_num_threads()
        model.eval()
        if threads is not None:
            torch.set_num_threads(threads)
        results: list[ElasticPrediction | StructureInputError] = []
        try:
            for start in range(0, len(structures), materials_per_batch):
                items: list[ElasticPrediction | StructureInputError | None] = []
                prepared: dict[int, tuple[PreparedMaterial, list[Data], np.ndarray]] = {}  # position in items ->
                for structure in structures[start : start + materials_per_batch]:
                    try:
                        prepared[len(items)] = self.strained_graphs(structure, max_atoms, max_edges)
                        items.append(None)
                    except StructureInputError as exc:
                        if errors == "raise":
                            raise
                        items.append(exc)
                if prepared:
                    graphs = [g for _, material_graphs, _ in prepared.values() for g in material_graphs]
                    with torch.inference_mode():
                        outputs = self._predict_graphs(graphs, max_edges_per_pass)
                    chunk = structures[start : start + materials_per_batch]
                    predictions = self._elastic_predictions(
                        list(prepared.values()), *outputs, symmetrize, [chunk[i] for i in prepared]
                    )
                    for position, prediction in zip(prepared, predictions, strict=True):
                        items[position] = prediction
                results.extend(item for item in items if item is not None)
                if progress is not None:
                    progress(len(results))
        finally:
            model.train(was_training)
            torch.set_num_threads(previous_threads)
        return results

    def _elastic_predictions(
        self,
        prepared: Sequence[tuple[PreparedMaterial, list[Data], np.ndarray]],
        sed: Tensor,
        dcv: Tensor | None,
        member_sed: Tensor | None,
        symmetrize: bool,
        structures: Sequence[Structure] | None = None,
    ) -> list[ElasticPrediction]:
        """Predictions (user frames) of M materials from the :meth:`_predict_graphs` outputs of their graphs
        (material-major, 21 rows a material: pair ``argsort(labels)[r]`` in row r, see :meth:`strained_graphs`);
        ``structures`` (the user's, M) are attached to the results."""
        strain = float(self.model.strain)
        results = []
        for m, (material, _, labels) in enumerate(prepared):
            rows = slice(m * N_PAIRS, (m + 1) * N_PAIRS)
            row_of_pair = np.argsort(np.argsort(labels, kind="stable"))
            sed_rows = sed[rows].double().numpy()[row_of_pair]
            dcv_rows = None if dcv is None else dcv[rows].double().numpy()[row_of_pair]
            members = None if member_sed is None else member_sed[:, rows].double().numpy()[:, row_of_pair]
            structure = None if structures is None else structures[m]
            results.append(elastic_prediction(material, sed_rows, dcv_rows, strain, symmetrize, members, structure))
        return results

    def _predict_graphs(
        self, graphs: Sequence[Data], max_edges_per_pass: int | None
    ) -> tuple[Tensor, Tensor | None, Tensor | None]:
        """U (meV/atom, (P,)), DCV probabilities ((P, 21) or None) and, for an ensemble, its members' U
        ((K, P), else None) of the P readouts of G graphs (P = G without class readouts), in edge-bounded passes."""
        model = self.model
        seds: list[Tensor] = []
        dcvs: list[Tensor] = []
        member_seds: list[Tensor] = []
        for batch in edge_budget_batches(graphs, max_edges_per_pass):
            out = model(batch)
            seds.append(model.denormalize_sed(out.sed_normalized))
            dcv = model.feature_dict.get("dcv") if out.dcv_logits is None else torch.sigmoid(out.dcv_logits)
            if dcv is not None:
                dcvs.append(dcv)
            if out.member_sed_normalized is not None:
                member_seds.append(model.denormalize_sed(out.member_sed_normalized))
        return (
            torch.cat(seds),
            torch.cat(dcvs) if dcvs else None,
            torch.cat(member_seds, dim=1) if member_seds else None,
        )
