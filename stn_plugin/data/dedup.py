"""De-duplication across sources: one record per material when several datasets are combined.

Two records of different sources are the same material when they have the same ``material_id``, or when
pymatgen's ``StructureMatcher`` (default tolerances: ltol 0.2, stol 0.3, angle_tol 5 degrees, primitive cells,
volumes scaled) matches their structures; structures are compared only within the same reduced formula,
which keeps the matching fast (a few seconds for the ~3,400 bundled records). Records of one source are never
compared with each other (a repeated id inside one dataset is the ``duplicate_id`` check of
:mod:`stn_plugin.data.filters`).

Which record is kept, in this order of preference:

1. a record with a tensor over a moduli-only one;
2. between two tensor records, the de Jong et al. (2015) one (``dejong2015``, the data the original model was
   trained and tested on, so its split stays comparable);
3. otherwise the source that comes first in ``records.SOURCES`` (unlisted sources after them, in order of first
   appearance), then the earlier record of the input.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from typing import Literal

from pydantic import BaseModel, ConfigDict
from pymatgen.analysis.structure_matcher import StructureMatcher

from stn_plugin.data.records import DEJONG2015, SOURCES, ElasticRecord


class DuplicateEntry(BaseModel):
    """One record left out because another source has the same material.

    Attributes:
        removed_id, removed_source: the record left out.
        kept_id, kept_source: the record kept in its place.
        match: ``material_id`` (same id) or ``structure`` (StructureMatcher, same reduced formula).
        reason: why the kept one wins (the rule of the module docstring that decided).
    """

    model_config = ConfigDict(frozen=True)

    removed_id: str
    removed_source: str
    kept_id: str
    kept_source: str
    match: Literal["material_id", "structure"]
    reason: str


class DeduplicationReport(BaseModel):
    """Outcome of :func:`deduplicate`.

    Attributes:
        n_input, n_kept: records given and kept.
        input_by_source, kept_by_source: records per source before and after.
        removed: every record left out, in input order.
    """

    model_config = ConfigDict(frozen=True)

    n_input: int
    n_kept: int
    input_by_source: dict[str, int]
    kept_by_source: dict[str, int]
    removed: tuple[DuplicateEntry, ...]

    def summary(self) -> str:
        """Plain text: counts per source (given, removed, kept) and one line per removed record."""
        lines = [f"de-duplication kept {self.n_kept} of {self.n_input} records"]
        for source, n in self.input_by_source.items():
            kept = self.kept_by_source.get(source, 0)
            lines.append(f"  {source:<20} {n:>5} given {n - kept:>5} removed {kept:>5} kept")
        lines += [
            f"  removed {e.removed_id} ({e.removed_source}): same {e.match} as {e.kept_id} ({e.kept_source}); {e.reason}"
            for e in self.removed
        ]
        return "\n".join(lines)


def _reason(kept: ElasticRecord, removed: ElasticRecord) -> str:
    """The preference rule that keeps ``kept`` over ``removed``."""
    if kept.has_tensor and not removed.has_tensor:
        return "a record with a tensor is kept over a moduli-only one"
    if kept.has_tensor and kept.source == DEJONG2015:
        return "between two tensor records the de Jong 2015 one is kept"
    return f"source {kept.source!r} comes first in the order of preference"


def deduplicate(
    records: Iterable[ElasticRecord], matcher: StructureMatcher | None = None
) -> tuple[list[ElasticRecord], DeduplicationReport]:
    """Keep one record per material across sources (rules in the module docstring).

    Args:
        records: the records (typically each source already filtered, :func:`~stn_plugin.data.filter_records`).
        matcher: the structure comparison; None = ``StructureMatcher()`` with pymatgen's default tolerances.

    Returns:
        the kept records in input order, and the report.
    """
    records = list(records)
    matcher = matcher or StructureMatcher()
    order = {name: rank for rank, name in enumerate(SOURCES)}
    for record in records:
        order.setdefault(record.source, len(order))

    def preference(position: int) -> tuple[int, int, int, int]:
        record = records[position]
        return (not record.has_tensor, record.source != DEJONG2015, order[record.source], position)

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
        removed[position] = DuplicateEntry(
            removed_id=record.material_id,
            removed_source=record.source,
            kept_id=records[winner].material_id,
            kept_source=records[winner].source,
            match=match,  # type: ignore[arg-type]
            reason=_reason(records[winner], record),
        )
    kept = [record for position, record in enumerate(records) if position not in removed]
    report = DeduplicationReport(
        n_input=len(records),
        n_kept=len(kept),
        input_by_source=dict(Counter(r.source for r in records)),
        kept_by_source=dict(Counter(r.source for r in kept)),
        removed=tuple(removed[position] for position in sorted(removed)),
    )
    return kept, report
