"""Physical filters for elastic-tensor datasets, with a report of everything removed.

A record fails a check when (moduli from pymatgen's ``ElasticTensor``, GPa):

* ``duplicate_id``: an earlier record has the same ``material_id`` (the first occurrence is kept);
* ``not_positive_definite``: the smallest eigenvalue of the 6x6 Voigt C is <= 0 (Born-unstable,
  Mouhat & Coudert 2014), so no strain energy is positive for every strain;
* ``bulk_modulus_out_of_range``: K_VRH outside (0, 500] GPa (NaN when C is singular counts as outside);
* ``shear_modulus_out_of_range``: G_VRH outside (0, 500] GPa.

The (0, 500] GPa interval is this project's choice (not the paper's). It removes zero, negative and
implausibly large moduli from failed fits, but would also remove a genuinely superhard crystal
(diamond: G_VRH ~ 520 GPa; the bundled mp-611426 carbon has 523 GPa); pass a wider ``modulus_range``
where that matters. Every check is run on every record and all failures are counted, so a record can
appear under several reasons. Nothing is removed silently: the
:class:`ValidationReport` is returned and logged; ``on_invalid="raise"`` turns any failure into an error.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Iterable
from enum import Enum
from typing import Literal

import numpy as np
from numpy.typing import NDArray
from pydantic import BaseModel, ConfigDict
from pymatgen.analysis.elasticity import ElasticTensor

from stn_plugin.data.records import ElasticRecord

logger = logging.getLogger(__name__)

MODULUS_RANGE_GPA: tuple[float, float] = (0.0, 500.0)
"""Accepted interval (low, high] for K_VRH and G_VRH, GPa."""


class FilterReason(str, Enum):
    """Why a record is removed."""

    DUPLICATE_ID = "duplicate_id"
    NOT_POSITIVE_DEFINITE = "not_positive_definite"
    BULK_MODULUS_OUT_OF_RANGE = "bulk_modulus_out_of_range"
    SHEAR_MODULUS_OUT_OF_RANGE = "shear_modulus_out_of_range"


class RejectedRecord(BaseModel):
    """One removed record: its position in the input, its id and every check it failed."""

    model_config = ConfigDict(frozen=True)

    index: int
    material_id: str
    reasons: tuple[FilterReason, ...]


class ValidationReport(BaseModel):
    """Outcome of :func:`filter_records`.

    Attributes:
        n_input: records given.
        n_kept: records that passed every check.
        counts: number of records failing each check (every reason listed, zeros included).
        rejected: the removed records, in input order.
    """

    model_config = ConfigDict(frozen=True)

    n_input: int
    n_kept: int
    counts: dict[FilterReason, int]
    rejected: tuple[RejectedRecord, ...]

    def summary(self) -> str:
        """Plain-text table of the counts, one line per reason."""
        lines = [f"kept {self.n_kept} of {self.n_input} records; removed {self.n_input - self.n_kept}"]
        lines += [f"  {reason.value:<28} {count:>5}" for reason, count in self.counts.items()]
        return "\n".join(lines)


class InvalidRecordsError(ValueError):
    """Raised by ``filter_records(..., on_invalid="raise")``; ``report`` holds the full report."""

    def __init__(self, report: ValidationReport) -> None:
        examples = ", ".join(f"{r.material_id} ({', '.join(x.value for x in r.reasons)})" for r in report.rejected[:5])
        super().__init__(
            f"{len(report.rejected)} records fail the dataset filters, e.g. {examples}.\n{report.summary()}\n"
            'Fix or remove them, or call filter_records(..., on_invalid="drop").'
        )
        self.report = report


def _vrh_moduli(elastic_tensor: NDArray[np.float64]) -> tuple[float, float]:
    """(K_VRH, G_VRH) in GPa of a 6x6 Voigt C in GPa; NaN when C is singular (no compliance)."""
    tensor = ElasticTensor.from_voigt(elastic_tensor)
    try:
        with np.errstate(all="ignore"):
            return float(tensor.k_vrh), float(tensor.g_vrh)
    except np.linalg.LinAlgError:
        return float("nan"), float("nan")


def check_record(
    record: ElasticRecord, modulus_range: tuple[float, float] = MODULUS_RANGE_GPA
) -> tuple[FilterReason, ...]:
    """Physical checks of one record (all but ``duplicate_id``); empty when the record passes.

    Args:
        record: the material.
        modulus_range: (low, high] in GPa for K_VRH and G_VRH.
    """
    low, high = modulus_range
    bulk_vrh, shear_vrh = _vrh_moduli(record.elastic_tensor)
    reasons: list[FilterReason] = []
    if not np.linalg.eigvalsh(record.elastic_tensor).min() > 0.0:
        reasons.append(FilterReason.NOT_POSITIVE_DEFINITE)
    if not low < bulk_vrh <= high:
        reasons.append(FilterReason.BULK_MODULUS_OUT_OF_RANGE)
    if not low < shear_vrh <= high:
        reasons.append(FilterReason.SHEAR_MODULUS_OUT_OF_RANGE)
    return tuple(reasons)


def filter_records(
    records: Iterable[ElasticRecord],
    *,
    on_invalid: Literal["drop", "raise"] = "drop",
    modulus_range: tuple[float, float] = MODULUS_RANGE_GPA,
) -> tuple[list[ElasticRecord], ValidationReport]:
    """Apply the duplicate-id and physical checks to a dataset.

    Args:
        records: the dataset.
        on_invalid: ``"drop"`` removes failing records (and logs the report at WARNING level when any
            is removed); ``"raise"`` raises :class:`InvalidRecordsError` if any record fails.
        modulus_range: (low, high] in GPa for K_VRH and G_VRH.

    Returns:
        the kept records (input order) and the report.
    """
    if on_invalid not in ("drop", "raise"):
        raise ValueError(f'on_invalid must be "drop" or "raise", got {on_invalid!r}.')
    kept: list[ElasticRecord] = []
    rejected: list[RejectedRecord] = []
    counts: Counter[FilterReason] = Counter()
    seen: set[str] = set()
    n_input = 0
    for index, record in enumerate(records):
        n_input += 1
        reasons = check_record(record, modulus_range)
        if record.material_id in seen:
            reasons = (FilterReason.DUPLICATE_ID, *reasons)
        seen.add(record.material_id)
        counts.update(reasons)
        if reasons:
            rejected.append(RejectedRecord(index=index, material_id=record.material_id, reasons=reasons))
        else:
            kept.append(record)
    report = ValidationReport(
        n_input=n_input,
        n_kept=len(kept),
        counts={reason: counts[reason] for reason in FilterReason},
        rejected=tuple(rejected),
    )
    if rejected and on_invalid == "raise":
        raise InvalidRecordsError(report)
    if rejected:
        logger.warning("dataset filters removed records:\n%s", report.summary())
    return kept, report
