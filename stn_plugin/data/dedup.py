"""De-duplication across sources: one record per material when several datasets are combined.

Two records of different sources are the same material when they have the same ``material_id``, or when
pymatgen's ``StructureMatcher`` (default tolerances: ltol 0.2, stol 0.3, angle_tol 5 degrees, primitive cells,
volumes scaled) matches their structures; structures are compared only within the same reduced formula,
which keeps the matching fast (a few seconds for the ~3,400 bundled records). Records of one source are never
compared with each other (a repeated id inside one dataset is the ``duplicate_id`` check of
:mod:`stn_plugin.data.filters`).

Which record is kept, in this order of preference (``DuplicateEntry.rule`` says which rule decided):

1. ``tensor_over_moduli_only``: a record with a tensor over a moduli-only one;
2. ``source_order``: otherwise the record of the source that comes first in ``source_order`` (unlisted sources after
   them, in order of first appearance). The default, ``records.SOURCES``, puts de Jong et al. (2015) first (the data
   the original model was trained and tested on), then ElaTBot's MP 2023.11 tensors, then the MP 2025.1 binaries;
   the four bundled sources together use ``records.ALL_SOURCES``, the newest Materials Project release first
   (mp2026, mp2023_elatbot, dejong2015, mp2025_binary): a material recomputed by a newer workflow keeps the newer
   value.

Records of one source are never compared, so the two rules decide every case.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from typing import Literal

from pydantic import BaseModel, ConfigDict
from pymatgen.analysis.structure_matcher import StructureMatcher

from stn_plugin.data.records import SOURCES, ElasticRecord

DedupRule = Literal["tensor_over_moduli_only", "source_order"]
"""The preference rule that decided a duplicate (module docstring)."""

DEDUP_RULES: tuple[DedupRule, ...] = ("tensor_over_moduli_only", "source_order")
"""The rules, in the order they are applied."""


class DuplicateEntry(BaseModel):
    """One record left out because another source has the same material.

    Attributes:
        removed_id, removed_source: the record left out.
        kept_id, kept_source: the record kept in its place.
        match: ``material_id`` (same id) or ``structure`` (StructureMatcher, same reduced formula).
        rule: the rule of the module docstring that decided.
        reason: that rule in words.
    """

    model_config = ConfigDict(frozen=True)

    removed_id: str
    removed_source: str
    kept_id: str
    kept_source: str
    match: Literal["material_id", "structure"]
    rule: DedupRule
    reason: str


class DeduplicationReport(BaseModel):
    """Outcome of :func:`deduplicate`.

    Attributes:
        n_input, n_kept: records given and kept.
        input_by_source, kept_by_source: records per source before and after.
        removed: every record left out, in input order.
        source_order: the order of preference of the sources (rule ``source_order``), unlisted sources appended.
    """

    model_config = ConfigDict(frozen=True)

    n_input: int
    n_kept: int
    input_by_source: dict[str, int]
    kept_by_source: dict[str, int]
    removed: tuple[DuplicateEntry, ...]
    source_order: tuple[str, ...] = SOURCES

    def counts_by_rule(self) -> dict[str, dict[str, int]]:
        """Rule -> match (``material_id``, ``structure``) -> number of records left out (zeros included)."""
        counts = Counter((e.rule, e.match) for e in self.removed)
        return {rule: {match: counts[rule, match] for match in ("material_id", "structure")} for rule in DEDUP_RULES}

    def summary(self, max_listed: int | None = None) -> str:
        """Plain text: counts per source (given, removed, kept), per rule and kind of match, and one line per removed
        record (the first ``max_listed`` of them; None: all)."""
        lines = [f"de-duplication kept {self.n_kept} of {self.n_input} records"]
        for source, n in self.input_by_source.items():
            kept = self.kept_by_source.get(source, 0)
            lines.append(f"  {source:<20} {n:>5} given {n - kept:>5} removed {kept:>5} kept")
        lines.append(f"  removals by rule (order of the sources: {' > '.join(self.source_order)})")
        for rule, counts in self.counts_by_rule().items():
            lines.append(f"  {rule:<24} {counts['material_id']:>5} same id {counts['structure']:>5} same structure")
        listed = self.removed if max_listed is None else self.removed[:max_listed]
        lines += [
            f"  removed {e.removed_id} ({e.removed_source}): same {e.match} as {e.kept_id} ({e.kept_source}); {e.reason}"
            for e in listed
        ]
        if len(listed) < len(self.removed):
            lines.append(f"  ... and {len(self.removed) - len(listed)} more (deduplication_report.json)")
        return "\n".join(lines)


def _rule(kept: ElasticRecord, removed: ElasticRecord) -> tuple[DedupRule, str]:
    """The preference rule that keeps ``kept`` over ``removed``, and its wording."""
    if kept.has_tensor and not removed.has_tensor:
        return "tensor_over_moduli_only", "a record with a tensor is kept over a moduli-only one"
    return "source_order", f"source {kept.source!r} comes before {removed.source!r} in the order of preference"


def deduplicate(
    records: Iterable[ElasticRecord],
    matcher: StructureMatcher | None = None,
    source_order: Sequence[str] = SOURCES,
) -> tuple[list[ElasticRecord], DeduplicationReport]:
    """Keep one record per material across sources (rules in the module docstring).

    Args:
        records: the records (typically each source already filtered, :func:`~stn_plugin.data.filter_records`).
        matcher: the structure comparison; None = ``StructureMatcher()`` with pymatgen's default tolerances.
        source_order: the sources in order of preference (``records.SOURCES``; the four bundled sources:
            ``records.ALL_SOURCES``, newest first); unlisted sources come after them.

    Returns:
        the kept records in input order, and the report.
    """
    records = list(records)
    matcher = matcher or StructureMatcher()
    order = {name: rank for rank, name in enumerate(source_order)}
    for record in records:
        order.setdefault(record.source, len(order))

    def preference(position: int) -> tuple[int, int, int]:
        record = records[position]
        return (not record.has_tensor, order[record.source], position)

    kept_by_id: dict[str, int] = {}
    kept_by_formula: dict[str, list[int]] = {}
    removed: dict[int, DuplicateEntry] = {}
    for position in sorted(range(len(records)), key=preference):
        record = records[position]
        formula = record.structure.composition.reduced_formula
        same_id = kept_by_id.get(record.material_id)
        winner, match = (same_id, "material_id") if same_id is not None else (None, "structure")
        if winner is not None and records[winner].source == record.source:
            winner = None  # a repeated id inside one source is the duplicate_id filter's business
        if winner is None:
            match = "structure"
            winner = next(
                (
                    other
                    for other in kept_by_formula.get(formula, [])
                    if records[other].source != record.source
                    and matcher.fit(records[other].structure, record.structure)
                ),
                None,
            )
        if winner is None:
            kept_by_id.setdefault(record.material_id, position)
            kept_by_formula.setdefault(formula, []).append(position)
            continue
        rule, reason = _rule(records[winner], record)
        removed[position] = DuplicateEntry(
            removed_id=record.material_id,
            removed_source=record.source,
            kept_id=records[winner].material_id,
            kept_source=records[winner].source,
            match=match,  # type: ignore[arg-type]
            rule=rule,
            reason=reason,
        )
    kept = [record for position, record in enumerate(records) if position not in removed]
    report = DeduplicationReport(
        n_input=len(records),
        n_kept=len(kept),
        input_by_source=dict(Counter(r.source for r in records)),
        kept_by_source=dict(Counter(r.source for r in kept)),
        removed=tuple(removed[position] for position in sorted(removed)),
        source_order=tuple(order),
    )
    return kept, report
