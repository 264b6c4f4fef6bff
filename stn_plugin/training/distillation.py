"""Teacher labels for distillation: a model's elastic tensors for the moduli-only records of a training split.

A committee (an :class:`~stn_plugin.predictor.ElasticPredictor` of several networks) is more accurate than each of its networks but
costs one forward pass per member. Distillation trains one network on the committee's predictions where no
DFT tensor exists: every moduli-only record of the chosen split parts (by default only ``train``) gets the
teacher's C (GPa, symmetrised onto the point group, in the frame of the record's structure) as its
``elastic_tensor``; records with a DFT tensor keep it, and validation and test records are never touched.
The DFT K_VRH and G_VRH of a labelled record stay in its ``reference_moduli``.

The labelled dataset must split exactly as the original (same ids in every part): :func:`teacher_labelled_records`
checks that, so a student trained on it with ``stn models train --data FILE --split-seed SEED`` is validated and
tested on the same materials as its teacher.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
from numpy.typing import NDArray
from pydantic import BaseModel, ConfigDict, ValidationError

from stn_plugin.data import ElasticRecord
from stn_plugin.data.filters import check_record
from stn_plugin.data.records import Provenance, ReferenceModuli
from stn_plugin.data.splits import PARTS
from stn_plugin.physics.moduli import elastic_moduli, isotropic_stiffness
from stn_plugin.structure.checks import StructureInputError
from stn_plugin.training.data import PreparedData, prepare_data

ANCHOR_ITERATIONS: int = 5
"""Fixed-point steps of :func:`anchored_to_moduli` (the VRH averages then match to well below 1e-3 GPa)."""


class DistillationReport(BaseModel):
    """What :func:`teacher_labelled_records` did.

    Attributes:
        teacher: name of the teacher model.
        anchored: whether the labels were shifted onto the DFT K_VRH and G_VRH.
        parts: split parts whose moduli-only records were labelled.
        labelled: ids of the records that received the teacher's tensor.
        not_predicted: id -> why the teacher could not predict it (the record stays moduli-only).
        invalid_label: id -> why the teacher's tensor is not a valid record or fails the data checks
            (:func:`~stn_plugin.data.filters.check_record`, e.g. not Born-stable; the record stays moduli-only).
    """

    model_config = ConfigDict(frozen=True)

    teacher: str
    anchored: bool
    parts: tuple[str, ...]
    labelled: tuple[str, ...]
    not_predicted: dict[str, str]
    invalid_label: dict[str, str]

    def summary(self) -> str:
        """One line: how many records were labelled and how many were left moduli-only, and why."""
        return (
            f"{self.teacher}: labelled {len(self.labelled)} moduli-only records of {', '.join(self.parts)}; "
            f"{len(self.not_predicted)} not predicted, {len(self.invalid_label)} with an invalid label "
            "(left moduli-only)."
        )


def anchored_to_moduli(
    elastic_tensor_gpa: NDArray[np.float64], k_vrh: float, g_vrh: float, iterations: int = ANCHOR_ITERATIONS
) -> NDArray[np.float64]:
    """``C + C_iso(dK, dG)``: the teacher's C plus the isotropic stiffness that moves its K_VRH and G_VRH onto the
    DFT values (GPa). The Voigt averages are linear in C, the Reuss ones nearly so; a few fixed-point steps make
    both VRH averages equal the targets. The anisotropic part of C (C minus its isotropic projection) is kept.

    Returns:
        (6, 6) GPa; possibly not positive definite when the teacher is much too stiff (the data checks catch it).
    """
    C = np.asarray(elastic_tensor_gpa, dtype=float)
    for _ in range(iterations):
        moduli = elastic_moduli(C)
        if not np.isfinite(moduli.bulk_vrh) or not np.isfinite(moduli.shear_vrh):
            break
        C = C + isotropic_stiffness(k_vrh - moduli.bulk_vrh, g_vrh - moduli.shear_vrh)
    return C


def teacher_label(
    record: ElasticRecord, elastic_tensor_gpa: Any, teacher: str, anchor_moduli: bool = False
) -> ElasticRecord:
    """``record`` with the teacher's stiffness (6, 6) GPa in the frame of ``record.structure`` as its tensor.

    The DFT moduli of a moduli-only record move to ``reference_moduli`` (``bulk_vrh``, ``shear_vrh``); the
    provenance says which model made the tensor.

    Args:
        record: a moduli-only record.
        elastic_tensor_gpa: the teacher's C in the frame of ``record.structure``.
        teacher: the teacher's name (for the provenance).
        anchor_moduli: shift C isotropically so its K_VRH and G_VRH are the record's DFT values
            (:func:`anchored_to_moduli`): the teacher gives the anisotropy, DFT the two moduli.

    Raises:
        pydantic.ValidationError: the tensor is not a valid record tensor (NaN, asymmetric, ...).
    """
    reference = record.reference_moduli or ReferenceModuli(bulk_vrh=record.k_vrh, shear_vrh=record.g_vrh)
    if anchor_moduli:
        elastic_tensor_gpa = anchored_to_moduli(elastic_tensor_gpa, float(record.k_vrh), float(record.g_vrh))
    how = "shifted isotropically onto the DFT K_VRH and G_VRH, " if anchor_moduli else ""
    provenance = Provenance(
        source=record.provenance.source,
        licence=record.provenance.licence,
        citation=record.provenance.citation,
        frame_note=(
            f"elastic_tensor: predicted by the model {teacher} (distillation label, not DFT), {how}in the frame of "
            f"the structure; the DFT K_VRH and G_VRH are in reference_moduli. {record.provenance.frame_note}"
        ),
    )
    return ElasticRecord(
        material_id=record.material_id,
        formula=record.formula,
        structure=record.structure,
        elastic_tensor=elastic_tensor_gpa,
        provenance=provenance,
        reference_moduli=reference,
        source=record.source,
    )


def teacher_labelled_records(
    prepared: PreparedData,
    teacher: Any,
    teacher_name: str,
    parts: Sequence[str] = ("train",),
    split_seed: int = 0,
    progress: Callable[[int], None] | None = None,
    threads: int | None = 1,
    anchor_moduli: bool = False,
) -> tuple[list[ElasticRecord], DistillationReport]:
    """All records of ``prepared``, the moduli-only ones of ``parts`` labelled with ``teacher``'s tensors.

    Args:
        prepared: the filtered, de-duplicated and split data (:func:`~stn_plugin.training.data.prepare_data`).
        teacher: a loaded model with ``predict_structures`` (``stn_plugin.load(name)``).
        teacher_name: its name, written into each labelled record's provenance.
        parts: split parts to label ('train' by default; labelling 'val' or 'test' would leak the teacher into
            the student's model selection or its test).
        split_seed: the seed ``prepared`` was split with (for the split check).
        progress: called with the number of structures predicted so far.
        threads: torch threads of the prediction.
        anchor_moduli: shift every label onto its record's DFT K_VRH and G_VRH (:func:`teacher_label`).

    Returns:
        the records (in ``prepared.records`` order) and the report.

    Raises:
        ValueError: an unknown part, or the labelled data would split differently from ``prepared``.
    """
    unknown = [part for part in parts if part not in PARTS]
    if unknown:
        raise ValueError(f"unknown split parts {unknown}; choose from {list(PARTS)}.")
    targets = [r for part in parts for r in prepared.part(part) if r.elastic_tensor is None]
    predictions = teacher.predict_structures(
        [r.structure for r in targets], errors="skip", progress=progress, threads=threads
    )
    labelled: dict[str, ElasticRecord] = {}
    not_predicted: dict[str, str] = {}
    invalid: dict[str, str] = {}
    for record, prediction in zip(targets, predictions, strict=True):
        if isinstance(prediction, StructureInputError):
            not_predicted[record.material_id] = str(prediction)
            continue
        try:
            label = teacher_label(record, prediction.elastic_tensor.voigt, teacher_name, anchor_moduli)
        except ValidationError as exc:
            invalid[record.material_id] = str(exc.errors()[0]["msg"])
            continue
        reasons = check_record(label)
        if reasons:  # e.g. not Born-stable: the data checks would drop it and change the split
            invalid[record.material_id] = ", ".join(reason.value for reason in reasons)
        else:
            labelled[record.material_id] = label
    records = [labelled.get(material_id, record) for material_id, record in prepared.records.items()]
    check = prepare_data(records, split_seed=split_seed, on_invalid="drop")
    for part in PARTS:
        if check.split.part(part) != prepared.split.part(part):
            raise ValueError(
                f"the labelled records split differently from the original ({part} part differs); a teacher label "
                "changed which records pass the checks or the de-duplication."
            )
    report = DistillationReport(
        teacher=teacher_name,
        anchored=anchor_moduli,
        parts=tuple(parts),
        labelled=tuple(sorted(labelled)),
        not_predicted=not_predicted,
        invalid_label=invalid,
    )
    return records, report
