"""Training data: records -> validation -> seeded split -> per-material strained graphs -> PyG loaders.

Every material is converted once (:class:`~stn_plugin.graph.StrainedGraphConverter`, edges chosen on
the unstrained cell, the 21 strained graphs sharing their edge tensors) and kept in memory as a
:class:`MaterialGraphs`. What an epoch sees is a pure function of ``(seed, epoch)``:

* **training** (paper Sec. III D, reference notes §1.6, §2.5): per material either one strain state
  drawn uniformly from its minimal index set (``strains_per_material="one"``) or every state of that
  set (``"all"``); the one-hot fed to the classifier is re-drawn uniformly inside the degeneracy class
  of the strain (``redraw_onehot``), while the graph, the target U_ij and the DCV stay those of the
  original strain. The order is a permutation seeded by ``(seed, epoch)``.
* **validation / test**: all 21 strain states of every material with the true one-hot, fixed order.

The :class:`EpochSampler` yields ``(epoch, item)`` keys, so a sample never depends on state outside
the key: an interrupted run resumes with exactly the batches it would have seen, and Lightning's
``DistributedSamplerWrapper`` shards the same keys across processes under DDP.

Normalisation (fitted on the training split only, :func:`fit_normalization`): U is standardised with
the mean and (population) standard deviation of U_ij over all training samples, i.e. every training
material's minimal index set (not the reference code's sample-weighted mean of per-system stds, D8);
the four atom scalars with :meth:`AtomScalarStandardizer.fit` over the training materials' graph atoms.
"""

from __future__ import annotations

import copy
import logging
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import lightning as pl
import numpy as np
import torch
from lightning.pytorch.utilities import CombinedLoader
from numpy.typing import NDArray
from pymatgen.core import Structure
from torch.utils.data import DataLoader as TorchDataLoader
from torch.utils.data import Dataset, Sampler
from torch_geometric.data import Batch, Data
from torch_geometric.loader import DataLoader

from stn_plugin.data import SOURCES, DataSplit, ElasticRecord, combined_split, deduplicate, filter_records
from stn_plugin.data.dedup import DeduplicationReport
from stn_plugin.data.filters import (
    FRAME_MISMATCH_TOLERANCE,
    STIFFNESS_LIMIT_GPA,
    OnInvalid,
    RejectedRecord,
    ValidationReport,
    default_on_invalid,
)
from stn_plugin.data.loaders import read_bundled, read_jsonl
from stn_plugin.data.records import ALL_SOURCES, MP2026
from stn_plugin.data.splits import DEFAULT_FRACTIONS, PARTS
from stn_plugin.graph import AtomScalarStandardizer, MaterialCache, StrainedGraphConverter
from stn_plugin.graph.material import PreparedMaterial
from stn_plugin.models.config import EncoderConfig
from stn_plugin.physics.frames import rotate_elastic_tensor
from stn_plugin.physics.moduli import elastic_moduli
from stn_plugin.physics.sed import elastic_to_sed
from stn_plugin.physics.symmetry import analyze_symmetry
from stn_plugin.physics.voigt import DEFAULT_STRAIN, N_PAIRS, upper_triangle
from stn_plugin.predictor import NormalizationStats
from stn_plugin.training.config import TrainingConfig

logger = logging.getLogger(__name__)

_SHUFFLE, _DRAW = 0, 1
"""Stream tags of the seed sequences ``[seed, epoch, tag, ...]`` (shuffling vs strain/one-hot draws)."""


def load_records(
    data: str | Path | Sequence[ElasticRecord] | None, sources: Sequence[str] | None = None
) -> tuple[list[ElasticRecord], list[RejectedRecord]]:
    """Records from a JSON-lines file (``.jsonl`` / ``.jsonl.gz``), a list of records, or None (bundled data),
    and the lines that are not valid records (:func:`~stn_plugin.data.loaders.read_jsonl`).

    Args:
        data: the dataset; None = the bundled sources ``sources``, read one after another.
        sources: bundled sources to read when ``data`` is None (default: the three of ``stn_plugin.data.SOURCES``;
            ``["dejong2015"]`` is the data of the original model; ``ALL_SOURCES`` adds ``mp2026``). Only for the
            bundled data.

    Returns:
        the records, and the invalid lines with their positions in the concatenated input (records and invalid
        lines of each source in file order, the sources in the order given).

    Raises:
        ValueError: ``sources`` given with ``data``, or an unknown or empty list of sources.
    """
    if data is not None:
        if sources is not None:
            raise ValueError("sources= selects bundled data; it cannot be combined with data=.")
        if isinstance(data, (str, Path)):
            return read_jsonl(data)
        return list(data), []
    names = list(dict.fromkeys(SOURCES if sources is None else sources))
    unknown = [name for name in names if name not in ALL_SOURCES]
    if unknown or not names:
        raise ValueError(f"unknown or no bundled sources {unknown}; choose from {list(ALL_SOURCES)}.")
    records: list[ElasticRecord] = []
    rejected: list[RejectedRecord] = []
    for name in names:
        loaded = read_bundled(name)
        offset = len(records) + len(rejected)
        rejected += [r.model_copy(update={"index": r.index + offset}) for r in loaded.rejected]
        records += loaded.records
    return records, rejected


@dataclass(frozen=True)
class PreparedData:
    """Filtered, de-duplicated records and their split.

    Attributes:
        records: the records that passed :func:`~stn_plugin.data.filter_records` and
            :func:`~stn_plugin.data.deduplicate`, by material id (tensor and moduli-only records).
        split: the seeded split of those records, stratified by source and crystal system
            (:func:`~stn_plugin.data.combined_split`); with ``mp2026`` among the sources, every material of the
            default data's split with the same seed keeps its part (``split.from_reference`` lists them).
        report: the validation report (what was removed and why, invalid lines of the file included).
        deduplication: which records were left out as duplicates across sources, which were kept and why.
        part_of: material id -> split part ('train', 'val', 'test').
        source_of: material id -> source of the record ('dejong2015', 'mp2023_elatbot', 'mp2025_binary', ...).
        loaded_by_source: source -> records read (before the checks; invalid lines are not counted).
    """

    records: dict[str, ElasticRecord]
    split: DataSplit
    report: ValidationReport
    deduplication: DeduplicationReport
    part_of: dict[str, str]
    source_of: dict[str, str]
    loaded_by_source: dict[str, int]

    def part(self, name: str) -> list[ElasticRecord]:
        """Records of split part ``name`` ('train', 'val', 'test'), sorted by id."""
        return [self.records[i] for i in self.split.part(name)]

    def counts_by_source(self) -> dict[str, dict[str, int]]:
        """Source -> part -> number of records (the parts of the split)."""
        counts = {source: dict.fromkeys(PARTS, 0) for source in dict.fromkeys(self.source_of.values())}
        for material_id, part in self.part_of.items():
            counts[self.source_of[material_id]][part] += 1
        return counts


def prepare_data(
    data: str | Path | Sequence[ElasticRecord] | None = None,
    split_seed: int = 0,
    fractions: tuple[float, float, float] = DEFAULT_FRACTIONS,
    on_invalid: OnInvalid | None = None,
    sources: Sequence[str] | None = None,
    train_fraction: float = 1.0,
) -> PreparedData:
    """Load, validate, de-duplicate and split a dataset (the split does not depend on the model or the
    training seed).

    The checks run on every source (a repeated id counts as ``duplicate_id`` only within one source), then
    :func:`~stn_plugin.data.deduplicate` keeps one record per material across sources (a tensor over a
    moduli-only record, de Jong 2015 over another tensor), then :func:`~stn_plugin.data.combined_split`
    splits each source on its own: the de Jong 2015 records land in the parts of the de Jong-only split
    (``sources=["dejong2015"]``, the data of the original model) with the same seed.

    With ``mp2026`` among the bundled sources (``sources=ALL_SOURCES``: the four-source data) three things change:
    the checks add ``stiffness_out_of_range`` (|C_ij| above ``STIFFNESS_LIMIT_GPA``); de-duplication prefers the
    newest Materials Project value (``source_order=ALL_SOURCES``: mp2026, mp2023_elatbot, dejong2015,
    mp2025_binary); and the split keeps the parts of the default data (:func:`reference_parts`), so the materials
    the bundled models were tested on stay in test and none they were trained on reaches validation or test.

    Args:
        data: JSON-lines path, records, or None for the bundled data (``sources``).
        split_seed: seed of the split.
        fractions: (train, val, test) fractions.
        on_invalid: ``"drop"`` leaves invalid records out (reported in ``report`` and logged), ``"raise"``
            raises :class:`~stn_plugin.data.filters.InvalidRecordsError`; None = :func:`default_on_invalid`.
        sources: bundled sources when ``data`` is None (default: the three of ``stn_plugin.data.SOURCES``; all four:
            ``stn_plugin.data.records.ALL_SOURCES``).
        train_fraction: keep this fraction of the training part (per source, a seeded random subset; validation
            and test parts unchanged), for learning curves (``benchmarks/learning_curve.py``).

    Raises:
        InvalidRecordsError: with ``on_invalid="raise"``, when any record is invalid (``.report`` holds the
            report).
        ValueError: ``sources`` together with ``data``, or an unknown source.
    """
    records, rejected = load_records(data, sources)
    choice = on_invalid or default_on_invalid(data)
    with_mp2026 = data is None and sources is not None and MP2026 in sources
    stiffness_limit = STIFFNESS_LIMIT_GPA if with_mp2026 else None
    kept, report = filter_records(
        records, on_invalid=choice, rejected_on_load=rejected, stiffness_limit=stiffness_limit
    )
    unique, deduplication = deduplicate(kept, source_order=ALL_SOURCES if with_mp2026 else SOURCES)
    reference = reference_parts(deduplication, split_seed, fractions) if with_mp2026 else None
    split = combined_split(unique, fractions=fractions, seed=split_seed, reference_parts=reference)
    if train_fraction < 1.0:
        split = split.model_copy(update={"train": training_subset(split.train, unique, train_fraction, split_seed)})
    part_of = {material_id: name for name in PARTS for material_id in split.part(name)}
    loaded_by_source: dict[str, int] = {}
    for record in records:
        loaded_by_source[record.source] = loaded_by_source.get(record.source, 0) + 1
    return PreparedData(
        records={r.material_id: r for r in unique},
        split=split,
        report=report,
        deduplication=deduplication,
        part_of=part_of,
        source_of={r.material_id: r.source for r in unique},
        loaded_by_source=loaded_by_source,
    )


def reference_parts(
    deduplication: DeduplicationReport, split_seed: int, fractions: tuple[float, float, float]
) -> dict[str, str]:
    """Material id -> part of the default data's split (``prepare_data()`` with this seed and these fractions),
    under the ids of a de-duplicated dataset: a material of the default split keeps its own id, or takes the id of
    the record ``deduplication`` kept in its place. When materials of several parts map to one id, test wins over
    validation, validation over training (no material of the default test part leaves test).
    """
    default = prepare_data(split_seed=split_seed, fractions=fractions).split
    kept_in_place = {entry.removed_id: entry.kept_id for entry in deduplication.removed}
    parts: dict[str, str] = {}
    for name in PARTS:  # train, val, test: a later part overwrites an earlier one
        for material_id in default.part(name):
            parts[kept_in_place.get(material_id, material_id)] = name
    return parts


def training_subset(
    train_ids: Sequence[str], records: Sequence[ElasticRecord], fraction: float, seed: int
) -> list[str]:
    """A seeded ``fraction`` of ``train_ids``, the same fraction of every source (at least one record of each),
    sorted; nested: a smaller fraction is a subset of a larger one."""
    if not 0 < fraction <= 1:
        raise ValueError(f"train_fraction must be in (0, 1], got {fraction}.")
    source_of = {r.material_id: r.source for r in records}
    kept: list[str] = []
    for source in sorted({source_of[i] for i in train_ids}):
        ids = sorted(i for i in train_ids if source_of[i] == source)
        order = np.random.default_rng([seed, len(ids)]).permutation(len(ids))
        kept += [ids[k] for k in order[: max(1, round(fraction * len(ids)))]]
    return sorted(kept)


@dataclass(frozen=True)
class MaterialGraphs:
    """One material ready for training.

    Attributes:
        material_id: the record's id.
        crystal_system: spglib crystal system of the graph cell.
        graphs: the 21 strained graphs (``VOIGT_PAIRS`` order, graph contract, true one-hot, target ``sed``).
        sed: (21,) true U_ij of the canonical-frame strains, meV/atom.
        dcv: (21, 21) 0/1 degeneracy class vectors; row k belongs to strain k.
        training_indices: the minimal index set (one strain per structure class).
        volume_per_atom: of the canonical cell, Angstrom^3/atom.
        elements: sorted element symbols.
        structure: the canonical cell; its atoms are the graphs' nodes.
        structure_classes: (21,) structure-class label of every pair (its class's first pair).
        source: the record's data source (``record_source``).
        moduli_vrh: (K_VRH, G_VRH) of the DFT data in GPa (from the tensor for tensor records).
        record: the dataset record (the truth the validation scores compare with, in its structure's frame).
        material: the prepared canonical cell and edges (what the predictor predicts without preparing again).
    """

    material_id: str
    crystal_system: str
    graphs: tuple[Data, ...]
    sed: NDArray[np.float64]
    dcv: NDArray[np.float64]
    training_indices: tuple[int, ...]
    volume_per_atom: float
    elements: tuple[str, ...]
    structure: Structure
    structure_classes: NDArray[np.int64]
    source: str
    moduli_vrh: tuple[float, float]
    record: ElasticRecord
    material: PreparedMaterial

    @property
    def has_tensor(self) -> bool:
        """Whether the 21 U_ij are known (a tensor record), not only K_VRH and G_VRH."""
        return bool(np.all(np.isfinite(self.sed)))


def record_source(record: ElasticRecord) -> str:
    """Short name of a record's data source (``ElasticRecord.source``; 'other' when it has none)."""
    return str(getattr(record, "source", None) or "other")


def material_graphs(record: ElasticRecord, converter: StrainedGraphConverter) -> MaterialGraphs:
    """Convert one record: canonical cell, symmetry (DCV, minimal index set), targets and the 21 strained graphs.

    The record's tensor (frame of its structure) is rotated with the structure into the canonical frame,
    ``C_can = R^T . C`` (R = ``PreparedMaterial.rotation``), and U follows by Eq. 2 there, so training sees
    exactly the strains and targets that prediction sees. Checked: C_can must keep the symmetry of the
    canonical cell (relative change under its point-group projection at most ``FRAME_MISMATCH_TOLERANCE``),
    which a wrong rotation would break. A moduli-only record gets NaN U targets and its K_VRH, G_VRH.

    Raises:
        ValueError: the rotated tensor does not have the canonical cell's symmetry.
    """
    prepared = converter.prepare(record.structure)
    symmetry = analyze_symmetry(prepared.structure(), converter.symprec, converter.angle_tolerance, converter.magnitude)
    if record.has_tensor:
        elastic_tensor = rotate_elastic_tensor(record.elastic_tensor, prepared.rotation.T)
        residual = np.linalg.norm(symmetry.project(elastic_tensor) - elastic_tensor) / np.linalg.norm(elastic_tensor)
        if residual > FRAME_MISMATCH_TOLERANCE:
            raise ValueError(
                f"{record.material_id}: the tensor rotated into the canonical frame changes by {residual:.1%} under "
                f"the canonical cell's point group (more than {FRAME_MISMATCH_TOLERANCE:.0%})."
            )
        sed = elastic_to_sed(elastic_tensor, prepared.volume_per_atom, converter.magnitude)
        moduli = elastic_moduli(elastic_tensor)
        moduli_vrh = (moduli.bulk_vrh, moduli.shear_vrh)
    else:
        sed = np.full((6, 6), np.nan)
        moduli_vrh = (float(record.k_vrh), float(record.g_vrh))
    graphs = converter.strained_graphs(prepared, sed=sed, dcv=symmetry.dcv)
    return MaterialGraphs(
        material_id=record.material_id,
        crystal_system=symmetry.crystal_system,
        graphs=tuple(graphs),
        sed=upper_triangle(sed),
        dcv=symmetry.dcv,
        training_indices=symmetry.training_indices,
        volume_per_atom=prepared.volume_per_atom,
        elements=tuple(sorted(el.symbol for el in record.structure.composition.elements)),
        structure=prepared.structure(),
        structure_classes=np.asarray(symmetry.structure_classes, dtype=np.int64),
        source=record_source(record),
        moduli_vrh=moduli_vrh,
        record=record,
        material=prepared,
    )


def labelled_sample(material: MaterialGraphs, pair: int, onehot_pair: int, material_number: int) -> Data:
    """Graph of strain ``pair`` with the one-hot of ``onehot_pair`` and ``material_number`` (1,) added.

    (Not ``*_index``: PyG offsets fields named like that by the node count when batching.)

    A shallow copy: the cached graph and its tensors are shared, never modified.
    """
    graph = copy.copy(material.graphs[pair])
    if onehot_pair != pair:
        graph.strain_onehot = torch.nn.functional.one_hot(torch.tensor([onehot_pair]), N_PAIRS).to(torch.float32)
    graph.material_number = torch.tensor([material_number], dtype=torch.long)
    return graph


def fit_normalization(materials: Sequence[MaterialGraphs]) -> NormalizationStats:
    """U statistics over the training samples (minimal index sets) and atom-scalar statistics over the
    training graphs' atoms (meV/atom; units of ``ATOM_SCALAR_NAMES``)."""
    targets = np.concatenate([m.sed[list(m.training_indices)] for m in materials])
    std = float(targets.std())
    standardizer = AtomScalarStandardizer.fit(m.structure for m in materials)
    return NormalizationStats(
        atom_scalar_mean=tuple(standardizer.mean.tolist()),
        atom_scalar_std=tuple(standardizer.std.tolist()),
        sed_mean=float(targets.mean()),
        sed_std=std if std > 0 else 1.0,
    )


class EpochSampler(Sampler[tuple[int, int]]):
    """Yields ``(epoch, item)`` for every item once per epoch, in a permutation seeded by (seed, epoch).

    Lightning calls :meth:`set_epoch` at the start of every training epoch (also through its
    distributed wrapper), so the order depends only on the seed and the epoch number.
    """

    def __init__(self, num_items: int, seed: int) -> None:
        self.num_items = num_items
        self.seed = seed
        self.epoch = 0

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def __len__(self) -> int:
        return self.num_items

    def __iter__(self) -> Iterator[tuple[int, int]]:
        order = np.random.default_rng([self.seed, self.epoch, _SHUFFLE]).permutation(self.num_items)
        return ((self.epoch, int(item)) for item in order)


class TrainingSamples(Dataset):
    """Training samples keyed by ``(epoch, item)`` (see the module docstring).

    Args:
        materials: the training materials.
        seed: training seed.
        strains_per_material: "one" (item = material, strain drawn per epoch) or "all" (item =
            (material, strain) pair of the minimal index sets).
        redraw_onehot: re-draw the one-hot inside the degeneracy class every epoch.
    """

    def __init__(
        self, materials: Sequence[MaterialGraphs], seed: int, strains_per_material: str, redraw_onehot: bool
    ) -> None:
        self.materials = list(materials)
        self.seed = seed
        self.redraw_onehot = redraw_onehot
        if strains_per_material == "one":
            self.items: list[tuple[int, int | None]] = [(m, None) for m in range(len(self.materials))]
        else:
            self.items = [(m, k) for m, mat in enumerate(self.materials) for k in mat.training_indices]

    def __len__(self) -> int:
        return len(self.items)

    def __getitem__(self, key: tuple[int, int]) -> Data:
        epoch, item = key
        index, pair = self.items[item]
        material = self.materials[index]
        rng = np.random.default_rng([self.seed, epoch, _DRAW, item])
        if pair is None:
            pair = int(rng.choice(material.training_indices))
        onehot = int(rng.choice(np.flatnonzero(material.dcv[pair]))) if self.redraw_onehot else pair
        return labelled_sample(material, pair, onehot, index)


class ModuliSamples(Dataset):
    """Moduli-only materials as groups of graphs: one representative strain per structure class.

    An item is the list of the representative graphs (true one-hot) of one material, each with the fields
    ``material_number`` (the material's position in the batch, set by :func:`collate_moduli_groups`),
    ``structure_classes`` (1, 21) and ``moduli_target`` (1, 2): K_VRH, G_VRH in GPa. Keys are ``(epoch, item)``
    (:class:`EpochSampler`) or plain item numbers (evaluation order).
    """

    def __init__(self, materials: Sequence[MaterialGraphs]) -> None:
        self.materials = list(materials)

    def __len__(self) -> int:
        return len(self.materials)

    def __getitem__(self, key: int | tuple[int, int]) -> list[Data]:
        material = self.materials[key[1] if isinstance(key, tuple) else key]
        classes = torch.as_tensor(material.structure_classes, dtype=torch.long)[None]
        target = torch.tensor([material.moduli_vrh], dtype=torch.float64)
        graphs = []
        for pair in material.training_indices:
            graph = copy.copy(material.graphs[pair])
            graph.structure_classes, graph.moduli_target = classes, target
            graphs.append(graph)
        return graphs


def collate_moduli_groups(groups: Sequence[list[Data]]) -> Batch:
    """One PyG batch of the graphs of several :class:`ModuliSamples` items, ``material_number`` = group index."""
    graphs = []
    for number, group in enumerate(groups):
        for graph in group:
            graph = copy.copy(graph)
            graph.material_number = torch.tensor([number], dtype=torch.long)
            graphs.append(graph)
    return Batch.from_data_list(graphs)


def evaluation_samples(materials: Sequence[MaterialGraphs]) -> list[Data]:
    """All 21 strain states of every material with the true one-hot, material-major order."""
    return [labelled_sample(m, k, k, number) for number, m in enumerate(materials) for k in range(N_PAIRS)]


class StnDataModule(pl.LightningDataModule):
    """Lightning data module of one split: cached strained graphs, normalisation, seeded loaders.

    ``setup`` converts the train, val and test materials once (idempotent); a material whose graph
    cannot be built (an element without node features, no spglib dataset) is skipped and listed in
    ``skipped``. Tensor records go to ``materials``, moduli-only records (K_VRH, G_VRH only) to
    ``moduli_materials``. ``normalization`` is fitted on the training tensor materials only.

    Loaders: training yields batches of strained graphs of tensor materials (Eq. 9) and, when the config has a
    positive ``moduli_loss_weight`` and there are moduli-only training materials, a Lightning
    ``CombinedLoader`` of ``{"tensor": ..., "moduli": ...}`` (``min_size``: an epoch is one pass over the
    tensor samples; the moduli loader draws ``moduli_materials_per_step`` materials per step in a permutation
    seeded by (seed, epoch)). Validation: all 21 strains of every tensor material (the loss metrics; the scores
    come from predicting every validation material, tensor and moduli-only, :class:`StnLightningModule`).

    Args:
        prepared: filtered records and their split (:func:`prepare_data`).
        encoder: encoder config of the model (edge strategy and cutoff).
        training: training config (batch sizes, strains per material, one-hot re-draw, seed).
        magnitude: strain magnitude.
        cache_dir: on-disk cache of prepared cells / edge lists; None keeps it in memory only.
    """

    def __init__(
        self,
        prepared: PreparedData,
        encoder: EncoderConfig,
        training: TrainingConfig,
        magnitude: float = DEFAULT_STRAIN,
        cache_dir: str | Path | None = None,
    ) -> None:
        super().__init__()
        self.prepared = prepared
        self.training = training
        self.converter = StrainedGraphConverter(
            edges=encoder.build_edge_strategy(), magnitude=magnitude, cache=MaterialCache(cache_dir)
        )
        self.materials: dict[str, list[MaterialGraphs]] = {}
        self.moduli_materials: dict[str, list[MaterialGraphs]] = {}
        self.skipped: dict[str, str] = {}

    def setup(self, stage: str | None = None) -> None:
        if self.materials:
            return
        for part in ("train", "val", "test"):
            converted = []
            for record in self.prepared.part(part):
                try:
                    converted.append(material_graphs(record, self.converter))
                except ValueError as exc:  # ElementDataError, StandardizationError, unknown element, frame check
                    self.skipped[record.material_id] = str(exc)
            self.materials[part] = [m for m in converted if m.has_tensor]
            self.moduli_materials[part] = [m for m in converted if not m.has_tensor]
        if self.skipped:
            logger.warning("skipped %d materials whose graphs cannot be built: %s", len(self.skipped), self.skipped)
        if not self.materials["train"] or not self.materials["val"]:
            raise ValueError(
                f"need at least one training and one validation material with a tensor, got "
                f"{len(self.materials['train'])} and {len(self.materials['val'])}; use a larger dataset."
            )

    @property
    def normalization(self) -> NormalizationStats:
        """Statistics fitted on the training materials (call ``setup`` first)."""
        return fit_normalization(self.materials["train"])

    @property
    def mean_inverse_volume(self) -> float:
        """Mean of 1/V over the training materials (V = volume per atom, Angstrom^3), 1/Angstrom^3."""
        return float(np.mean([1.0 / m.volume_per_atom for m in self.materials["train"]]))

    @property
    def trains_on_moduli(self) -> bool:
        """Whether training batches include moduli-only materials."""
        return self.training.moduli_loss_weight > 0 and bool(self.moduli_materials.get("train"))

    def counts(self) -> dict[str, int]:
        """Materials per part after graph building (tensor and moduli-only), and graphs per training epoch."""
        counts = {part: len(materials) for part, materials in self.materials.items()}
        counts.update({f"{part}_moduli_only": len(m) for part, m in self.moduli_materials.items()})
        counts["train_samples_per_epoch"] = len(self._training_samples())
        return counts

    def _training_samples(self) -> TrainingSamples:
        t = self.training
        return TrainingSamples(self.materials["train"], t.seed, t.strains_per_material, t.redraw_onehot)

    def train_dataloader(self) -> DataLoader | CombinedLoader:
        dataset = self._training_samples()
        sampler = EpochSampler(len(dataset), self.training.seed)
        tensor = DataLoader(dataset, batch_size=self.training.batch_size, sampler=sampler)
        if not self.trains_on_moduli:
            return tensor
        moduli = ModuliSamples(self.moduli_materials["train"])
        moduli_loader = TorchDataLoader(
            moduli,
            batch_size=self.training.moduli_materials_per_step,
            sampler=EpochSampler(len(moduli), self.training.seed + 1),
            collate_fn=collate_moduli_groups,
        )
        return CombinedLoader({"tensor": tensor, "moduli": moduli_loader}, mode="min_size")

    def val_dataloader(self) -> DataLoader:
        return DataLoader(evaluation_samples(self.materials["val"]), batch_size=self.training.val_batch_size)

    def test_dataloader(self) -> DataLoader:
        return DataLoader(evaluation_samples(self.materials["test"]), batch_size=self.training.val_batch_size)
