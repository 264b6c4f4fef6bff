"""Seeded train/validation/test split stratified by crystal system, and its JSON file.

Each crystal system is split on its own: its ids are sorted, shuffled with a generator seeded by
``(seed, crc32(system))`` (so adding a system does not reshuffle the others), and cut into parts of
``round(n * fraction)`` members for validation and test, the rest going to training. A system with at
least 3 members gets at least one member in every part whose fraction is positive; smaller systems go
to training whole. The result depends only on the (id, system) pairs, the fractions and the seed.

:func:`combined_split` splits data of several sources: every source on its own, exactly as
:func:`stratified_split` splits that source alone (same seeding), so the strata are (source, crystal system).
The de Jong et al. (2015) records of a combined dataset therefore land in the same parts as in the split of
the de Jong data alone, and models trained on either can be compared on the same test materials.

``combined_split(..., reference_parts=...)`` keeps given materials in given parts (the four-source data keep the
parts of the default three-source split: :func:`stn_plugin.training.data.prepare_data`) and splits the others:
each (source, crystal system) stratum gets the part sizes it would get unconstrained, the fixed members counting
towards them, and its other members, shuffled as above, fill what is left of validation, then test, then training.
"""

from __future__ import annotations

import json
import zlib
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import TypeVar

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, model_validator

from stn_plugin.data.records import CRYSTAL_SYSTEMS, SOURCES, ElasticRecord

_T = TypeVar("_T")

PARTS: tuple[str, str, str] = ("train", "val", "test")
"""Names of the three parts, in the order of the fractions."""

DEFAULT_FRACTIONS: tuple[float, float, float] = (0.8, 0.1, 0.1)
"""Default (train, val, test) fractions."""


class DataSplit(BaseModel):
    """Material ids of the three parts, and how the split was made.

    Attributes:
        seed: random seed.
        fractions: (train, val, test) fractions.
        train, val, test: sorted material ids of each part.
        counts: crystal system -> part -> number of materials (all sources together).
        counts_by_source: source -> crystal system -> part -> number of materials (:func:`combined_split`;
            empty for :func:`stratified_split`).
        from_reference: sorted ids whose part was given by ``reference_parts`` (:func:`combined_split`; empty
            without one).
    """

    model_config = ConfigDict(frozen=True)

    seed: int
    fractions: tuple[float, float, float]
    train: tuple[str, ...]
    val: tuple[str, ...]
    test: tuple[str, ...]
    counts: dict[str, dict[str, int]]
    counts_by_source: dict[str, dict[str, dict[str, int]]] = Field(default_factory=dict)
    from_reference: tuple[str, ...] = ()

    @model_validator(mode="after")
    def _parts_disjoint(self) -> DataSplit:
        for a, b in (("train", "val"), ("train", "test"), ("val", "test")):
            shared = set(getattr(self, a)) & set(getattr(self, b))
            if shared:
                raise ValueError(f"split parts {a} and {b} share ids, e.g. {sorted(shared)[:5]}.")
        return self

    def part(self, name: str) -> tuple[str, ...]:
        """The ids of part ``name`` ('train', 'val' or 'test')."""
        if name not in PARTS:
            raise ValueError(f"unknown split part {name!r}; expected one of {PARTS}.")
        return getattr(self, name)

    def save(self, path: str | Path) -> Path:
        """Write the split as JSON (keys: seed, fractions, train, val, test, counts, counts_by_source,
        from_reference); returns the path."""
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(self.model_dump(mode="json"), indent=1) + "\n", encoding="utf-8")
        return path


def load_split(path: str | Path) -> DataSplit:
    """Read a split written by :meth:`DataSplit.save`."""
    return DataSplit.model_validate_json(Path(path).read_text(encoding="utf-8"))


def _check_fractions(fractions: tuple[float, float, float]) -> None:
    if len(fractions) != 3 or any(f < 0 for f in fractions) or fractions[0] <= 0 or abs(sum(fractions) - 1) > 1e-9:
        raise ValueError(
            "fractions must be three non-negative numbers (train, val, test) with train > 0 and sum 1, "
            f"got {fractions}."
        )


def _part_sizes(n: int, fractions: tuple[float, float, float]) -> tuple[int, int, int]:
    """(train, val, test) sizes of a system with n members."""
    _, f_val, f_test = fractions
    n_val, n_test = round(n * f_val), round(n * f_test)
    if n >= 3:
        n_val = max(n_val, 1 if f_val > 0 else 0)
        n_test = max(n_test, 1 if f_test > 0 else 0)
        while n - n_val - n_test < 1:  # training keeps at least one member
            if n_val >= n_test:
                n_val -= 1
            else:
                n_test -= 1
    else:
        n_val = n_test = 0
    return n - n_val - n_test, n_val, n_test


def stratified_split(
    crystal_systems: Mapping[str, str] | Iterable[ElasticRecord],
    fractions: tuple[float, float, float] = DEFAULT_FRACTIONS,
    seed: int = 0,
) -> DataSplit:
    """Split materials into train/val/test, stratified by crystal system.

    Args:
        crystal_systems: material id -> crystal system, or records (their ``crystal_system`` is used).
        fractions: (train, val, test), non-negative, summing to 1.
        seed: random seed.

    Returns:
        the split; ids are unique, every id lands in exactly one part.

    Raises:
        ValueError: bad fractions, or a record id appears twice (filter duplicates first).
    """
    _check_fractions(fractions)
    systems = _strata(crystal_systems, lambda record: record.crystal_system)
    parts, counts = _split_by_system(systems, fractions, seed)
    return _data_split(seed, fractions, parts, counts)


def _strata(
    records: Mapping[str, _T] | Iterable[ElasticRecord], stratum: Callable[[ElasticRecord], _T]
) -> dict[str, _T]:
    """id -> stratum of ``records`` (a mapping is taken as it is).

    Raises:
        ValueError: an id appears twice.
    """
    if isinstance(records, Mapping):
        return dict(records)
    strata: dict[str, _T] = {}
    for record in records:
        if record.material_id in strata:
            raise ValueError(
                f"material id {record.material_id!r} appears twice; remove duplicates first "
                "(stn_plugin.data.filters.filter_records, stn_plugin.data.dedup.deduplicate)."
            )
        strata[record.material_id] = stratum(record)
    return strata


def _data_split(
    seed: int,
    fractions: tuple[float, float, float],
    parts: Mapping[str, list[str]],
    counts: dict[str, dict[str, int]],
    counts_by_source: dict[str, dict[str, dict[str, int]]] | None = None,
    from_reference: Iterable[str] = (),
) -> DataSplit:
    """The :class:`DataSplit` of part -> ids (each part sorted)."""
    sorted_parts = {name: tuple(sorted(parts[name])) for name in PARTS}
    return DataSplit(
        seed=seed,
        fractions=fractions,
        counts=counts,
        counts_by_source=counts_by_source or {},
        from_reference=tuple(sorted(from_reference)),
        **sorted_parts,
    )


def _split_by_system(
    systems: Mapping[str, str],
    fractions: tuple[float, float, float],
    seed: int,
    fixed_parts: Mapping[str, str] | None = None,
) -> tuple[dict[str, list[str]], dict[str, dict[str, int]]]:
    """Part -> ids and crystal system -> part -> count of one stratified split (see the module docstring); the ids
    of ``fixed_parts`` go to their part and count towards the sizes of their system's parts."""
    fixed_parts = fixed_parts or {}
    by_system: dict[str, list[str]] = {}
    for material_id, system in systems.items():
        by_system.setdefault(system, []).append(material_id)
    order = {name: rank for rank, name in enumerate(CRYSTAL_SYSTEMS)}
    parts: dict[str, list[str]] = {name: [] for name in PARTS}
    counts: dict[str, dict[str, int]] = {}
    for system in sorted(by_system, key=lambda s: (order.get(s, len(order)), s)):
        members = by_system[system]
        ids = sorted(i for i in members if i not in fixed_parts)
        fixed = {name: sorted(i for i in members if fixed_parts.get(i) == name) for name in PARTS}
        rng = np.random.default_rng([seed, zlib.crc32(system.encode())])
        shuffled = [ids[k] for k in rng.permutation(len(ids))]
        _, target_val, target_test = _part_sizes(len(members), fractions)
        n_val = min(max(target_val - len(fixed["val"]), 0), len(ids))
        n_test = min(max(target_test - len(fixed["test"]), 0), len(ids) - n_val)
        n_train = len(ids) - n_val - n_test
        free = (shuffled[:n_train], shuffled[n_train : n_train + n_val], shuffled[n_train + n_val :])
        chunks = [fixed[name] + chunk for name, chunk in zip(PARTS, free, strict=True)]
        for name, chunk in zip(PARTS, chunks, strict=True):
            parts[name].extend(chunk)
        counts[system] = {name: len(chunk) for name, chunk in zip(PARTS, chunks, strict=True)}
    return parts, counts


def combined_split(
    records: Mapping[str, tuple[str, str]] | Iterable[ElasticRecord],
    fractions: tuple[float, float, float] = DEFAULT_FRACTIONS,
    seed: int = 0,
    reference_parts: Mapping[str, str] | None = None,
) -> DataSplit:
    """Split a dataset of several sources, stratified by source and crystal system (module docstring).

    Without ``reference_parts``, each source's ids land in the parts :func:`stratified_split` gives that source
    alone with the same fractions and seed (in particular the de Jong 2015 records: as in the split of the de Jong
    data alone).

    Args:
        records: records (their ``source`` and ``crystal_system`` are used), or id -> (source, crystal system).
        fractions: (train, val, test), non-negative, summing to 1.
        seed: random seed.
        reference_parts: id -> part ('train', 'val', 'test') of materials whose part is given; ids not in
            ``records`` are ignored. The others fill each stratum's parts up to the unconstrained sizes.

    Returns:
        the split, with ``counts`` summed over the sources, ``counts_by_source`` and ``from_reference`` (the ids
        of ``records`` placed by ``reference_parts``).

    Raises:
        ValueError: bad fractions, an id appears twice (de-duplicate first), or a reference part is not a part.
    """
    _check_fractions(fractions)
    reference_parts = reference_parts or {}
    unknown = sorted({part for part in reference_parts.values() if part not in PARTS})
    if unknown:
        raise ValueError(f"reference_parts names unknown parts {unknown}; expected {PARTS}.")
    strata = _strata(records, lambda record: (record.source, record.crystal_system))
    by_source: dict[str, dict[str, str]] = {}
    for material_id, (source, system) in strata.items():
        by_source.setdefault(source, {})[material_id] = system
    rank = {name: k for k, name in enumerate(SOURCES)}
    parts: dict[str, list[str]] = {name: [] for name in PARTS}
    counts: dict[str, dict[str, int]] = {}
    counts_by_source: dict[str, dict[str, dict[str, int]]] = {}
    for source in sorted(by_source, key=lambda s: (rank.get(s, len(rank)), s)):
        source_parts, counts_by_source[source] = _split_by_system(by_source[source], fractions, seed, reference_parts)
        for name in PARTS:
            parts[name].extend(source_parts[name])
        for system, system_counts in counts_by_source[source].items():
            total = counts.setdefault(system, dict.fromkeys(PARTS, 0))
            for name, n in system_counts.items():
                total[name] += n
    order = {name: k for k, name in enumerate(CRYSTAL_SYSTEMS)}
    ordered_counts = {s: counts[s] for s in sorted(counts, key=lambda s: (order.get(s, len(order)), s))}
    from_reference = (material_id for material_id in strata if material_id in reference_parts)
    return _data_split(seed, fractions, parts, ordered_counts, counts_by_source, from_reference)
