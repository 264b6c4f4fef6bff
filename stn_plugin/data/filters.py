"""Dataset validation: every invalid or filtered record counted by reason, dropped or fatal by choice.

:func:`filter_records` checks a dataset and returns the kept records with a :class:`ValidationReport`. A record
fails (reasons are :class:`~stn_plugin.data.records.FilterReason` values; moduli from pymatgen's
``ElasticTensor``, GPa):

* when it is read (:func:`~stn_plugin.data.loaders.read_jsonl` passes these in as ``rejected_on_load``):
  ``malformed``, ``tensor_not_finite`` (NaN), ``tensor_in_pa`` (Pa instead of GPa), ``tensor_asymmetric``,
  ``disordered_structure``, ``formula_mismatch`` (see :mod:`stn_plugin.data.records`);
* ``duplicate_id``: an earlier record of the same ``source`` has the same ``material_id`` (the first occurrence
  is kept; the same id in two sources is a matter for :func:`~stn_plugin.data.dedup.deduplicate`);
* ``not_positive_definite``: the smallest eigenvalue of the 6x6 Voigt C is <= 0 (Born-unstable,
  Mouhat & Coudert 2014), so no strain energy is positive for every strain;
* ``bulk_modulus_out_of_range``: K_VRH outside (0, 500] GPa (NaN when C is singular counts as outside);
* ``shear_modulus_out_of_range``: G_VRH outside (0, 500] GPa;
* ``frame_mismatch``: C is not in the frame of its structure: projecting it onto the structure's point group
  changes it by more than ``FRAME_MISMATCH_TOLERANCE`` (relative Frobenius norm of the rank-4 tensors,
  :func:`~stn_plugin.data.frame_consistency.projection_residual`);
* ``frame_inconsistent``: the source itself says the tensor fits the structure's point group in no frame it tried
  (``frame_status`` ``inconsistent``, MP 2026 file);
* ``voigt_below_reuss``: the Voigt average of K or G is below the Reuss average (more than ``VOIGT_REUSS_RTOL``
  relative). Hill (1952): K_V >= K_R and G_V >= G_R for every positive-definite C, so a violation marks a failed
  fit; a singular C has no Reuss average and is left to the other checks;
* ``stiffness_out_of_range``: max |C_ij| above ``stiffness_limit`` GPa (only when a limit is given; absurd
  magnitudes of single constants that the K/G window does not see).

A moduli-only record (no tensor, ``has_tensor`` False) is checked on its given K_VRH and G_VRH: the two range
checks as above, and ``not_positive_definite`` when K <= 0 or G <= 0 (the Born criterion of an isotropic
solid with those moduli); the frame check needs a tensor and is skipped. Non-finite K or G make the record
invalid when it is built (``moduli_not_finite``).

The (0, 500] GPa interval is this project's choice (not the paper's). It removes zero, negative and
implausibly large moduli from failed fits, but would also remove a genuinely superhard crystal
(diamond: G_VRH ~ 520 GPa; the bundled mp-611426 carbon has 523 GPa); pass a wider ``modulus_range``
where that matters. The frame tolerance, 15 %, lets every bundled tensor through (the worst, fitting noise of
Hg mp-569289, changes by 12.5 %) and catches a tensor in a wrong frame when the crystal's symmetry shows it
(docs/data.md: 41 % of the bundled tensors turned by a random rotation; a nearly isotropic crystal looks the
same in any frame). Every check is run on every record and all failures are counted, so a record can appear
under several reasons. Nothing is removed silently: the :class:`ValidationReport` is returned and logged;
``on_invalid="raise"`` turns any failure into an :class:`InvalidRecordsError` carrying the report.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Iterable, Sequence
from typing import Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from stn_plugin.data.frame_consistency import projection_residual
from stn_plugin.data.records import ElasticRecord, FilterReason
from stn_plugin.physics.moduli import elastic_moduli

logger = logging.getLogger(__name__)

UNKNOWN_SOURCE: str = "unknown"
"""Source label in the reports of an invalid line whose source is not known."""

MODULUS_RANGE_GPA: tuple[float, float] = (0.0, 500.0)
"""Accepted interval (low, high] for K_VRH and G_VRH, GPa."""
MODULUS_ROUND_OFF: float = 1e-9
"""Relative round-off allowed above the upper bound of ``MODULUS_RANGE_GPA`` (the Reuss average goes through the
inverse of C, so a modulus of exactly the bound comes out a few ulp above it)."""

FRAME_MISMATCH_TOLERANCE: float = 0.15
"""Largest relative change of C under projection onto the structure's point group (see the module docstring)."""

VOIGT_REUSS_RTOL: float = 1e-6
"""Relative round-off allowed when comparing the Voigt and Reuss averages (``voigt_below_reuss``)."""

STIFFNESS_LIMIT_GPA: float = 1200.0
"""Largest accepted |C_ij|, GPa, for the four-source data (``stiffness_out_of_range``): diamond, the stiffest known
crystal, has C11 = 1079 GPa in experiment (about 1050 GPa in PBE); the limit leaves about 10 % above that."""

OnInvalid = Literal["drop", "raise"]
"""What to do with invalid records: leave them out (reported), or raise :class:`InvalidRecordsError`."""


def default_on_invalid(data: object) -> OnInvalid:
    """The default for a dataset: ``"drop"`` for the bundled data (``data`` None; its one removal is documented
    in docs/data.md), ``"raise"`` for data the user passes, so invalid records in a user's file stop the run
    unless leaving them out is asked for."""
    return "drop" if data is None else "raise"


class RejectedRecord(BaseModel):
    """One removed record.

    Attributes:
        index: position in the input, 0-based (for a file: its n-th non-empty line or data row).
        material_id: the record's id (``<line N>`` when the line has none).
        reasons: every check it failed.
        detail: the error message for records that could not be built (names the file, the line and the fix).
        line: the 1-based line number in the file, for lines that could not be built (None otherwise).
        source: the record's ``source``, or for a line that could not be built the source its file was read as
            (None when unknown).
    """

    model_config = ConfigDict(frozen=True)

    index: int
    material_id: str
    reasons: tuple[FilterReason, ...]
    detail: str = ""
    line: int | None = None
    source: str | None = None


class ValidationReport(BaseModel):
    """Outcome of :func:`filter_records`.

    Attributes:
        n_input: records given.
        n_kept: records that passed every check.
        counts: number of records failing each check (every reason listed, zeros included).
        rejected: the removed records, in input order.
        input_by_source: records and invalid lines given per source (``UNKNOWN_SOURCE`` for entries without one).
        counts_by_source: source -> reason -> number of records failing that check (every reason listed).
    """

    model_config = ConfigDict(frozen=True)

    n_input: int
    n_kept: int
    counts: dict[FilterReason, int]
    rejected: tuple[RejectedRecord, ...]
    input_by_source: dict[str, int] = Field(default_factory=dict)
    counts_by_source: dict[str, dict[FilterReason, int]] = Field(default_factory=dict)

    def summary(self) -> str:
        """Plain-text table of the counts, one line per reason (zeros included); with several sources, a column
        per source after the total, and the records given and kept per source."""
        lines = [f"kept {self.n_kept} of {self.n_input} records; removed {self.n_input - self.n_kept}"]
        sources = list(self.counts_by_source) if len(self.counts_by_source) > 1 else []
        width = max([14, *(len(source) for source in sources)])
        if sources:
            lines.append(f"  {'reason':<28} {'total':>5}" + "".join(f" {source:>{width}}" for source in sources))
        for reason, count in self.counts.items():
            by_source = "".join(f" {self.counts_by_source[source][reason]:>{width}}" for source in sources)
            lines.append(f"  {reason.value:<28} {count:>5}{by_source}")
        if sources:
            removed = Counter(r.source or UNKNOWN_SOURCE for r in self.rejected)
            given = "".join(f" {self.input_by_source[source]:>{width}}" for source in sources)
            kept = "".join(f" {self.input_by_source[source] - removed[source]:>{width}}" for source in sources)
            lines += [f"  {'given':<28} {self.n_input:>5}{given}", f"  {'kept':<28} {self.n_kept:>5}{kept}"]
        return "\n".join(lines)


class InvalidRecordsError(ValueError):
    """Raised by ``filter_records(..., on_invalid="raise")``; ``report`` holds the full report."""

    def __init__(self, report: ValidationReport) -> None:
        examples = ", ".join(f"{r.material_id} ({', '.join(x.value for x in r.reasons)})" for r in report.rejected[:5])
        details = "".join(f"\n  {r.detail}" for r in report.rejected[:5] if r.detail)
        super().__init__(
            f"{len(report.rejected)} records fail the dataset checks, e.g. {examples}.{details}\n{report.summary()}\n"
            'Fix or remove them, or leave them out with on_invalid="drop" (command line: --on-invalid drop).'
        )
        self.report = report


def _is_stable(record: ElasticRecord) -> bool:
    """Born stability: the 6x6 C is positive definite, or for a moduli-only record K_VRH > 0 and G_VRH > 0."""
    if record.elastic_tensor is None:
        return bool(record.k_vrh > 0.0 and record.g_vrh > 0.0)  # type: ignore[operator]
    return bool(np.linalg.eigvalsh(record.elastic_tensor).min() > 0.0)


def _voigt_below_reuss(elastic_tensor: np.ndarray) -> bool:
    """Whether K_V < K_R or G_V < G_R beyond ``VOIGT_REUSS_RTOL`` (False for a singular C: no Reuss average)."""
    moduli = elastic_moduli(elastic_tensor)
    return any(
        voigt < reuss - VOIGT_REUSS_RTOL * abs(reuss)
        for voigt, reuss in ((moduli.bulk_voigt, moduli.bulk_reuss), (moduli.shear_voigt, moduli.shear_reuss))
        if np.isfinite(reuss)
    )


def check_record(
    record: ElasticRecord,
    modulus_range: tuple[float, float] = MODULUS_RANGE_GPA,
    frame_tolerance: float | None = FRAME_MISMATCH_TOLERANCE,
    stiffness_limit: float | None = None,
) -> tuple[FilterReason, ...]:
    """Physical checks of one built record (all but ``duplicate_id``); empty when the record passes.

    Args:
        record: the material (tensor or moduli-only, see the module docstring).
        modulus_range: (low, high] in GPa for K_VRH and G_VRH (the record's ``k_vrh``, ``g_vrh``).
        frame_tolerance: largest accepted change of C under the point-group projection; None skips the
            check (it costs one spglib call, about 10 ms). Moduli-only records skip it.
        stiffness_limit: largest accepted |C_ij| in GPa (``STIFFNESS_LIMIT_GPA`` for the four-source data); None
            skips the check. Moduli-only records skip it, and ``voigt_below_reuss`` too.
    """
    low, high = modulus_range
    high += MODULUS_ROUND_OFF * abs(high)  # a modulus equal to the bound, up to the round-off of C -> S -> K_R
    reasons: list[FilterReason] = []
    if not _is_stable(record):
        reasons.append(FilterReason.NOT_POSITIVE_DEFINITE)
    if not low < record.k_vrh <= high:  # type: ignore[operator]
        reasons.append(FilterReason.BULK_MODULUS_OUT_OF_RANGE)
    if not low < record.g_vrh <= high:  # type: ignore[operator]
        reasons.append(FilterReason.SHEAR_MODULUS_OUT_OF_RANGE)
    if (
        frame_tolerance is not None
        and record.elastic_tensor is not None
        and projection_residual(record.elastic_tensor, record.structure) > frame_tolerance
    ):
        reasons.append(FilterReason.FRAME_MISMATCH)
    if record.frame_status == "inconsistent":
        reasons.append(FilterReason.FRAME_INCONSISTENT)
    if record.elastic_tensor is not None and _voigt_below_reuss(record.elastic_tensor):
        reasons.append(FilterReason.VOIGT_BELOW_REUSS)
    if (
        stiffness_limit is not None
        and record.elastic_tensor is not None
        and float(np.abs(record.elastic_tensor).max()) > stiffness_limit
    ):
        reasons.append(FilterReason.STIFFNESS_OUT_OF_RANGE)
    return tuple(reasons)


def filter_records(
    records: Iterable[ElasticRecord],
    *,
    on_invalid: OnInvalid = "drop",
    modulus_range: tuple[float, float] = MODULUS_RANGE_GPA,
    frame_tolerance: float | None = FRAME_MISMATCH_TOLERANCE,
    stiffness_limit: float | None = None,
    rejected_on_load: Sequence[RejectedRecord] = (),
) -> tuple[list[ElasticRecord], ValidationReport]:
    """Apply the duplicate-id and physical checks to a dataset and report everything removed.

    Args:
        records: the records that could be built.
        on_invalid: ``"drop"`` removes failing records (and logs the report at WARNING level when any
            is removed); ``"raise"`` raises :class:`InvalidRecordsError` if any record fails.
        modulus_range: (low, high] in GPa for K_VRH and G_VRH.
        frame_tolerance, stiffness_limit: see :func:`check_record`.
        rejected_on_load: entries of the same input that could not be built (``read_jsonl``); they count
            in the report, and ``records`` are taken to fill the other positions of the input in order.

    Returns:
        the kept records (input order) and the report.
    """
    if on_invalid not in ("drop", "raise"):
        raise ValueError(f'on_invalid must be "drop" or "raise", got {on_invalid!r}.')
    records = list(records)
    n_input = len(records) + len(rejected_on_load)
    taken = {r.index for r in rejected_on_load}
    positions = [index for index in range(n_input) if index not in taken]
    kept: list[ElasticRecord] = []
    rejected = list(rejected_on_load)
    seen: set[tuple[str, str]] = set()
    for position, record in zip(positions, records, strict=True):
        reasons = check_record(record, modulus_range, frame_tolerance, stiffness_limit)
        if (record.source, record.material_id) in seen:
            reasons = (FilterReason.DUPLICATE_ID, *reasons)
        seen.add((record.source, record.material_id))
        if reasons:
            rejected.append(
                RejectedRecord(index=position, material_id=record.material_id, reasons=reasons, source=record.source)
            )
        else:
            kept.append(record)
    rejected.sort(key=lambda r: r.index)
    counts = Counter(reason for r in rejected for reason in r.reasons)
    given = Counter([r.source for r in records] + [r.source or UNKNOWN_SOURCE for r in rejected_on_load])
    counts_by_source = {source: Counter() for source in given}
    for entry in rejected:
        counts_by_source[entry.source or UNKNOWN_SOURCE].update(entry.reasons)
    report = ValidationReport(
        n_input=n_input,
        n_kept=len(kept),
        counts={reason: counts[reason] for reason in FilterReason},
        rejected=tuple(rejected),
        input_by_source=dict(given),
        counts_by_source={s: {reason: c[reason] for reason in FilterReason} for s, c in counts_by_source.items()},
    )
    if rejected and on_invalid == "raise":
        raise InvalidRecordsError(report)
    if rejected:
        logger.warning("dataset checks removed records:\n%s", report.summary())
    return kept, report
