"""Reading and writing elastic-tensor datasets as :class:`ElasticRecord` lists.

File formats:

* **JSON lines** (``.jsonl``, or compressed: ``.jsonl.gz``, ``.jsonl.bz2``, ``.jsonl.xz``), the format of the bundled de Jong et al. (2015)
  file, one material per line. Keys read: ``material_id``, ``formula``, ``structure``
  (``Structure.as_dict()``), ``elastic_tensor_original`` (6x6 GPa, frame of ``structure``),
  ``elastic_tensor`` (6x6 GPa, IEEE-176 frame), the moduli ``K_Voigt, K_Reuss, K_VRH, G_Voigt,
  G_Reuss, G_VRH, poisson_ratio`` (GPa; optional) and ``provenance`` (optional object). When
  ``elastic_tensor_original`` is absent, ``elastic_tensor`` is rotated from the IEEE frame into the
  structure's frame. Other keys (``space_group``, ``nsites``, ``compliance_tensor``, ...) are ignored.
  A line with neither tensor is a moduli-only record and needs ``k_vrh`` and ``g_vrh`` (GPa); ``source``
  (optional) is the record's source name. :func:`write_jsonl` writes the same keys, so written files read
  back unchanged.
* the three other bundled files, each with its own reader (:func:`read_elatbot_jsonl` and :func:`read_mp2026_jsonl`:
  tensors in the frame of the structure under ``elastic_tensor`` and the source's ``frame_status``;
  :func:`read_binary_moduli_jsonl`: ``K_VRH`` and ``G_VRH`` only).

:func:`read_jsonl` reads every line it can and returns the others as
:class:`~stn_plugin.data.filters.RejectedRecord` entries (reasons and the message naming the file, the line,
the material and the fix) for :func:`~stn_plugin.data.filters.filter_records` to count and report.
:func:`load_jsonl` is strict: any invalid entry raises :class:`DatasetFormatError` listing every invalid line.

Reading is bounded: a line of more than :data:`~stn_plugin.limits.MAX_LINE_CHARS` characters is a rejected
entry (skipped without being held whole), and a compressed file (``.gz``, ``.bz2``, ``.xz``) is decompressed as a
stream that may expand to at most :data:`~stn_plugin.limits.MAX_COMPRESSION_RATIO` times its size
(:class:`~stn_plugin.io.InputTooLargeError` beyond).
"""

from __future__ import annotations

import gzip
import io
import json
import math
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping
from functools import cache
from importlib.resources import as_file, files
from pathlib import Path
from typing import IO, Any, NamedTuple

import numpy as np
from pydantic import ValidationError
from pymatgen.core import Structure

from stn_plugin.data.filters import RejectedRecord
from stn_plugin.data.records import (
    DEJONG2015,
    MP2023_ELATBOT,
    MP2025_BINARY,
    MP2026,
    USER_SOURCE,
    ElasticRecord,
    FilterReason,
    Provenance,
    RecordError,
    ReferenceModuli,
    reasons_of,
    structure_from_data,
)
from stn_plugin.io import compression_of, open_input
from stn_plugin.limits import MAX_COMPRESSION_RATIO, MAX_LINE_CHARS
from stn_plugin.physics.frames import from_ieee_frame

BUNDLED_DATASET: str = "dejong2015_mp_elastic.jsonl.gz"
"""File name of the bundled dataset inside ``stn_plugin/data/files/``."""

BUNDLED_ELATBOT: str = "mp2023_elatbot_val_elastic.jsonl.gz"
"""File of the 399 Materials Project 2023.11 tensors (ElaTBot validation split) in ``stn_plugin/data/files/``."""

BUNDLED_BINARY_MODULI: str = "mp2025_binary_moduli.jsonl.gz"
"""File of the 2000 Materials Project 2025.1 binaries (K_VRH, G_VRH only) in ``stn_plugin/data/files/``."""

BUNDLED_MP2026: str = "mp2026_elastic.jsonl.gz"
"""File of the 10,866 Materials Project tensors fetched on 2026-07-04 (equiparity) in ``stn_plugin/data/files/``."""

DEJONG2015_PROVENANCE = Provenance(
    source="Materials Project elastic-constant survey (de Jong et al. 2015), bundled with stn-plugin",
    licence="CC BY 4.0",
    citation=("M. de Jong et al., Sci. Data 2, 150009 (2015); A. Jain et al., APL Mater. 1, 011002 (2013)"),
    frame_note="elastic_tensor_original (frame of the given structure)",
)
"""Provenance of the bundled file."""

ELATBOT2023_PROVENANCE = Provenance(
    source="Materials Project 2023.11 elasticity (PBE/PBE+U), validation split of ElaTBot, bundled with stn-plugin",
    licence="CC BY 4.0 (Materials Project data); ElaTBot repository Grenzlinie/ElaTBot: Apache-2.0",
    citation="Liu et al., Digital Discovery (2025), doi:10.1039/D5DD00061K; A. Jain et al., APL Mater. 1, 011002 (2013)",
    frame_note="elastic_tensor (frame of the given structure: MP's conventional cell rotated into the tensor's IEEE frame)",
)
"""Provenance of the bundled ElaTBot file (each record's ``source`` text is the line's ``source`` when given)."""

BINARY2025_PROVENANCE = Provenance(
    source="Materials Project 2025.1 PBE elasticity of binaries (matcalc benchmark data), bundled with stn-plugin",
    licence="CC BY 4.0 (Materials Project data); matcalc benchmark data (materialsvirtuallab/matcalc): BSD-3-Clause",
    citation=(
        "A. Jain et al., APL Mater. 1, 011002 (2013); matcalc, github.com/materialsvirtuallab/matcalc, "
        "benchmark_data/mp-binary-pbe-elasticity-2025.1.json.gz"
    ),
    frame_note="no tensor: K_VRH and G_VRH only (rotation invariant)",
)
"""Provenance of the bundled binary-moduli file (each record's ``source`` text is the line's when given)."""


MP2026_PROVENANCE = Provenance(
    source=(
        "Materials Project materials.elasticity (PBE/PBE+U), fetched 2026-07-04, as redistributed by the equiparity "
        "repository (KurbanIntelligenceLab/equiparity), bundled with stn-plugin"
    ),
    licence="CC BY 4.0 (Materials Project data); equiparity repository: MIT",
    citation=(
        "A. Jain et al., APL Mater. 1, 011002 (2013); M. de Jong et al., Sci. Data 2, 150009 (2015) (the workflow); "
        "equiparity, github.com/KurbanIntelligenceLab/equiparity, doi:10.5281/zenodo.22003285"
    ),
    frame_note=(
        "elastic_tensor (frame of the given structure: MP's summary structure rotated into the tensor's IEEE frame)"
    ),
)
"""Provenance of the bundled MP 2026 file (each record's ``source`` text is the line's ``source`` when given)."""

MIN_EIGENVALUE_TOLERANCE: float = 1e-6
"""Largest accepted difference between a line's ``min_eig`` and the smallest eigenvalue of its tensor, relative to
max(1 GPa, max |C|)."""


def user_file_provenance(path: str | Path) -> Provenance:
    """The labelled default provenance of the lines of a user's file that carry no ``provenance`` object.

    Source ``user file <name>``, licence and citation ``unknown``; the frame note says the tensor is taken
    as in the frame of the structure (each record's note then names the tensor field that gave it, e.g.
    ``elastic_tensor_original (frame of the given structure)``).
    """
    return Provenance(
        source=f"user file {Path(path).name}",
        licence="unknown",
        citation="unknown",
        frame_note="provenance not given in the file; the tensor is taken as in the frame of the structure",
    )


REFERENCE_MODULI_KEYS: dict[str, str] = {
    "K_Voigt": "bulk_voigt",
    "K_Reuss": "bulk_reuss",
    "K_VRH": "bulk_vrh",
    "G_Voigt": "shear_voigt",
    "G_Reuss": "shear_reuss",
    "G_VRH": "shear_vrh",
    "poisson_ratio": "poisson_ratio",
}
"""Source key (bundled-file spelling) -> :class:`ReferenceModuli` field."""


class DatasetFormatError(ValueError):
    """A dataset file has lines or rows that cannot become an :class:`ElasticRecord`."""


class LoadedRecords(NamedTuple):
    """The records of a file that could be built, and the entries that could not (in file order)."""

    records: list[ElasticRecord]
    rejected: list[RejectedRecord]

    def strict(self, source: str | Path) -> list[ElasticRecord]:
        """The records, or :class:`DatasetFormatError` listing every rejected entry and the counts by reason."""
        if not self.rejected:
            return self.records
        counts = Counter(reason.value for r in self.rejected for reason in r.reasons)
        lines = "\n".join(f"  {r.detail}" for r in self.rejected[:20])
        more = f"\n  ... and {len(self.rejected) - 20} more" if len(self.rejected) > 20 else ""
        raise DatasetFormatError(
            f"{source}: {len(self.rejected)} invalid entries ({', '.join(f'{k} {n}' for k, n in counts.items())}):\n"
            f"{lines}{more}"
        )


def _describe(exc: Exception) -> str:
    """The messages of a validation error without pydantic's echo of the input values (a record check's own
    message names the material and the field already)."""
    if isinstance(exc, ValidationError):
        return "; ".join(
            str(e["ctx"]["error"])
            if isinstance(e.get("ctx", {}).get("error"), RecordError)
            else f"{'.'.join(map(str, e['loc'])) or 'record'}: {e['msg']}"
            for e in exc.errors()
        )
    return f"missing key {exc}" if isinstance(exc, KeyError) else str(exc)


def _reference_moduli(row: Mapping[str, Any]) -> ReferenceModuli | None:
    values = {field: float(row[key]) for key, field in REFERENCE_MODULI_KEYS.items() if row.get(key) not in (None, "")}
    return ReferenceModuli(**values) if values else None


def _structure_frame_tensor(row: Mapping[str, Any], structure: Structure) -> tuple[Any, str]:
    """The stiffness in the frame of ``structure`` and a note saying which source field gave it."""
    if row.get("elastic_tensor_original") not in (None, ""):
        return row["elastic_tensor_original"], "elastic_tensor_original (frame of the given structure)"
    if row.get("elastic_tensor") in (None, ""):
        raise ValueError("neither elastic_tensor_original nor elastic_tensor is given")
    rotated = from_ieee_frame(row["elastic_tensor"], structure)
    return rotated, "elastic_tensor (IEEE frame) rotated into the structure's frame with frames.from_ieee_frame"


def _open_for_writing(path: Path) -> IO[str]:
    """``path`` opened for writing UTF-8 text, gzip-compressed when its name ends in ``.gz``."""
    if path.suffix == ".gz":
        return gzip.open(path, "wt", encoding="utf-8")  # type: ignore[return-value]
    return open(path, "w", encoding="utf-8")


def _open_for_reading(path: Path) -> IO[str]:
    """``path`` opened as UTF-8 text, decompressed as a stream when its name ends in ``.gz``, ``.bz2`` or ``.xz``;
    a compressed file may expand to at most ``MAX_COMPRESSION_RATIO`` times its size plus one line
    (:class:`~stn_plugin.io.InputTooLargeError` when reading past that)."""
    suffix = compression_of(path)
    if suffix is None:
        return open(path, encoding="utf-8")
    fix = (
        f"Datasets compress about {MAX_COMPRESSION_RATIO // 3} times at most; check that this is the right file. "
        f"If it is, decompress it first and give the uncompressed file (its size is not limited)."
    )
    limit = MAX_COMPRESSION_RATIO * path.stat().st_size + MAX_LINE_CHARS
    return io.TextIOWrapper(open_input(path, limit, fix), encoding="utf-8")


def _numbered_lines(stream: IO[str]) -> Iterator[tuple[int, str | None]]:
    """(1-based number, text without leading whitespace) of every non-blank line of ``stream``; the text is None
    for a line of more than ``MAX_LINE_CHARS`` characters, which is skipped without being held in memory whole.
    Read in blocks; a block of blank lines is only counted."""
    number, pending = 0, []  # the pieces of the line being read (None once it is too long)
    while block := stream.read(1 << 20):
        if pending == [] and block.isspace():
            number += block.count("\n")
            continue
        *ended, rest = block.split("\n")
        for piece in ended:
            number += 1
            text = None if pending is None else "".join(pending) + piece if pending else piece.lstrip()
            if text is None or len(text) > MAX_LINE_CHARS:
                yield number, None
            elif text.strip():
                yield number, text
            pending = []
        rest = rest if pending else rest.lstrip()
        if pending is not None and rest:
            pending.append(rest)
            if sum(map(len, pending)) > MAX_LINE_CHARS:
                pending = None
    if pending is None:
        yield number + 1, None
    elif pending:
        yield number + 1, "".join(pending)


def _require_object(line: Any) -> None:
    """Raise the ``malformed`` error of a JSON line that decoded to something other than an object."""
    if not isinstance(line, Mapping):
        raise RecordError(
            FilterReason.MALFORMED,
            f"the line is a JSON {type(line).__name__}, not an object; write one JSON object per line.",
        )


def record_from_json_line(
    line: Mapping[str, Any], provenance: Provenance | None = None, source: str | None = None
) -> ElasticRecord:
    """Build a record from one parsed JSON line (keys as in the module docstring).

    Args:
        line: the decoded JSON object.
        provenance: used when the line has no ``provenance`` object.
        source: the record's ``source`` when the line has no ``source`` key (None: ``records.USER_SOURCE``).
    """
    _require_object(line)
    if line.get("material_id") in (None, ""):
        raise RecordError(
            FilterReason.MALFORMED, "the line has no material_id; give every record a unique id (e.g. 'mp-149')."
        )
    material_id = str(line["material_id"])
    structure = structure_from_data(line["structure"], material_id)
    source = line.get("source", source)
    if "provenance" in line:
        provenance = Provenance.model_validate(line["provenance"])
        return _build_record(material_id, line, structure, provenance, False, source)
    if provenance is None:
        raise RecordError(
            FilterReason.MALFORMED,
            f"material {material_id!r}: no provenance in the line; add a "
            "'provenance' object (source, licence, citation, frame_note) to the line, or pass provenance=Provenance(...).",
        )
    return _build_record(material_id, line, structure, provenance, True, source)


def _build_record(
    material_id: str,
    row: Mapping[str, Any],
    structure: Structure,
    provenance: Provenance,
    note_frame: bool,
    source: str | None = None,
) -> ElasticRecord:
    """A record from one parsed line (moduli-only when neither tensor is given).

    Args:
        material_id: the record's id.
        row: the source line (``formula``, ``elastic_tensor_original`` and/or ``elastic_tensor`` (6x6, GPa) and the
            reference moduli are read from it).
        structure: the parsed structure.
        provenance: where the record comes from.
        note_frame: add the note of which tensor field gave the structure-frame tensor to ``provenance``.
        source: the record's ``source`` (None: the record's default).
    """
    structure = structure_from_data(structure, material_id)  # finite and bounded before the frame's spglib call
    common: dict[str, Any] = {
        "material_id": material_id,
        "formula": row.get("formula") or structure.composition.reduced_formula,
        "structure": structure,
        "reference_moduli": _reference_moduli(row),
        **({} if source is None else {"source": source}),
        **({} if row.get("frame_status") is None else {"frame_status": row["frame_status"]}),
    }
    if all(row.get(key) in (None, "") for key in ("elastic_tensor", "elastic_tensor_original")):
        if row.get("k_vrh") is None and row.get("g_vrh") is None:
            raise ValueError(
                f"material {material_id!r}: neither elastic_tensor_original nor elastic_tensor is given, and no "
                "k_vrh / g_vrh for a moduli-only record"
            )
        return ElasticRecord(**common, provenance=provenance, k_vrh=row.get("k_vrh"), g_vrh=row.get("g_vrh"))
    tensor, frame_note = _structure_frame_tensor(row, structure)
    return ElasticRecord(
        **common,
        elastic_tensor=tensor,
        elastic_tensor_ieee=row.get("elastic_tensor"),
        provenance=provenance.model_copy(update={"frame_note": frame_note}) if note_frame else provenance,
    )


def record_to_json_line(record: ElasticRecord) -> dict[str, Any]:
    """The JSON-lines object of a record (inverse of :func:`record_from_json_line`)."""
    line: dict[str, Any] = {
        "material_id": record.material_id,
        "formula": record.formula,
        "nsites": len(record.structure),
        "structure": record.structure.as_dict(),
        "source": record.source,
    }
    if record.elastic_tensor is not None:
        line["elastic_tensor_original"] = record.elastic_tensor.tolist()
    else:
        line.update(k_vrh=record.k_vrh, g_vrh=record.g_vrh)
    if record.elastic_tensor_ieee is not None:
        line["elastic_tensor"] = record.elastic_tensor_ieee.tolist()
    if record.frame_status is not None:
        line["frame_status"] = record.frame_status
    if record.reference_moduli is not None:
        moduli = record.reference_moduli.model_dump()
        line.update({key: moduli[field] for key, field in REFERENCE_MODULI_KEYS.items() if moduli[field] is not None})
    line["provenance"] = record.provenance.model_dump()
    return line


_BUILD_ERRORS = (ValidationError, ValueError, KeyError, TypeError)
"""What building a record from a line or row raises for invalid content (json.JSONDecodeError is a ValueError)."""


def _rejected(
    index: int, material_id: str, where: str, exc: Exception, line: int | None = None, source: str | None = None
) -> RejectedRecord:
    return RejectedRecord(
        index=index,
        material_id=material_id,
        reasons=reasons_of(exc),
        detail=f"{where}: {_describe(exc)}",
        line=line,
        source=source,
    )


def read_jsonl(
    path: str | Path,
    provenance: Provenance | None = None,
    source: str | None = None,
    require_provenance: bool = False,
) -> LoadedRecords:
    """Read a JSON-lines dataset (``.jsonl`` or ``.jsonl.gz``), collecting the lines that are not valid records.

    Args:
        path: the file.
        provenance: provenance of lines that carry none (files written by :func:`write_jsonl` carry it);
            None: :func:`user_file_provenance` of the file (unless ``require_provenance``).
        source: ``source`` of lines that carry none (None: ``records.USER_SOURCE``).
        require_provenance: with ``provenance=None``, reject the lines without a ``provenance`` object instead
            of giving them the labelled default.

    Returns:
        the records in file order and the rejected lines (index = n-th non-empty line, 0-based).
    """
    if provenance is None and not require_provenance:
        provenance = user_file_provenance(path)
    return _read_lines(path, lambda line: record_from_json_line(line, provenance, source), source or USER_SOURCE)


def load_jsonl(
    path: str | Path,
    provenance: Provenance | None = None,
    source: str | None = None,
    require_provenance: bool = False,
) -> list[ElasticRecord]:
    """Read a JSON-lines dataset in which every line must be a valid record (see :func:`read_jsonl`).

    Raises:
        DatasetFormatError: some lines are invalid (the message lists each with its line, material and fix).
    """
    return read_jsonl(path, provenance, source, require_provenance).strict(path)


def write_jsonl(records: Iterable[ElasticRecord], path: str | Path) -> Path:
    """Write records as JSON lines (gzip when the name ends in ``.gz``); returns the path."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with _open_for_writing(path) as stream:
        for record in records:
            stream.write(json.dumps(record_to_json_line(record)) + "\n")
    return path


def load_bundled_dataset() -> list[ElasticRecord]:
    """The 1004 crystals of de Jong et al. (2015) shipped in the package (works from an installed wheel).

    Tensors are ``elastic_tensor_original`` (frame of each structure); the IEEE-frame tensor is kept in
    ``elastic_tensor_ieee``. No filtering is applied: see :mod:`stn_plugin.data.filters`.
    """
    return read_bundled(DEJONG2015).strict(BUNDLED_DATASET)


# --- the newer bundled sources (Materials Project 2023.11 and 2026 tensors, 2025.1 binary moduli) ---


def _structure_frame_record(
    line: Mapping[str, Any], provenance: Provenance, source: str, frame_note: str
) -> ElasticRecord:
    """A tensor record from a line whose ``elastic_tensor`` (6x6 GPa) is in the frame of its ``structure``.

    Args:
        line: the decoded line (``material_id``, ``formula``, ``structure``, ``elastic_tensor``, ``frame_status``
            and ``source``, the line's provenance text, are read).
        provenance: the source's provenance (its ``source`` text replaced by the line's when given).
        source: the record's ``source``.
        frame_note: the provenance's frame note for this line.
    """
    material_id = str(line.get("material_id", "<missing material_id>"))
    structure = structure_from_data(line["structure"], material_id)
    if line.get("elastic_tensor") is None:
        raise RecordError(FilterReason.MALFORMED, f"material {material_id!r}: elastic_tensor is missing.")
    provenance = provenance.model_copy(
        update={"frame_note": frame_note, **({"source": str(line["source"])} if line.get("source") else {})}
    )
    return ElasticRecord(
        material_id=material_id,
        formula=line.get("formula") or structure.composition.reduced_formula,
        structure=structure,
        elastic_tensor=line["elastic_tensor"],
        provenance=provenance,
        source=source,
        frame_status=line.get("frame_status"),
    )


def elatbot_record(line: Mapping[str, Any]) -> ElasticRecord:
    """A record from one line of the ElaTBot file (source ``mp2023_elatbot``).

    Keys read: ``material_id``, ``formula``, ``structure`` (``Structure.as_dict()``), ``elastic_tensor`` (6x6,
    GPa, in the Cartesian frame of ``structure``), ``frame_status`` (``verified`` / ``convention``, kept in
    ``frame_status`` and the frame note) and ``source`` (the line's provenance text). Others (``crystal_system``,
    ``spacegroup``, ``frame_sym_err``, ``min_eig``, ...) are ignored.
    """
    note = f"{ELATBOT2023_PROVENANCE.frame_note}; frame_status {line.get('frame_status', 'not given')}"
    return _structure_frame_record(line, ELATBOT2023_PROVENANCE, MP2023_ELATBOT, note)


def mp2026_record(line: Mapping[str, Any]) -> ElasticRecord:
    """A record from one line of the MP 2026 file (source ``mp2026``).

    Keys read: ``material_id``, ``formula``, ``structure`` (``Structure.as_dict()``), ``elastic_tensor`` (6x6, GPa,
    in the Cartesian frame of ``structure``), ``frame_status`` (required: ``verified``, ``convention`` or
    ``inconsistent``, kept in ``frame_status``; the ``frame_method`` is added to the frame note), ``min_eig``
    (GPa; when given it must be the smallest eigenvalue of the tensor within ``MIN_EIGENVALUE_TOLERANCE``, else
    the line is ``malformed``: the tensor is not the one the file describes) and ``source`` (the line's
    provenance text). Others (``crystal_system``, recomputed from the structure; ``frame_sym_err``; ``also_in``,
    which de-duplication finds by id itself) are ignored.

    Raises:
        RecordError: ``malformed`` for a missing ``frame_status`` or a ``min_eig`` that contradicts the tensor
            (and the record checks of :class:`ElasticRecord`).
    """
    material_id = str(line.get("material_id", "<missing material_id>"))
    if line.get("frame_status") is None:
        message = f"material {material_id!r}: frame_status is missing (verified, convention or inconsistent)."
        raise RecordError(FilterReason.MALFORMED, message)
    note = (
        f"{MP2026_PROVENANCE.frame_note}; frame_status {line['frame_status']}, "
        f"frame_method {line.get('frame_method', 'not given')}"
    )
    record = _structure_frame_record(line, MP2026_PROVENANCE, MP2026, note)
    given = line.get("min_eig")
    if given is not None:
        tensor = record.elastic_tensor
        computed = float(np.linalg.eigvalsh(tensor).min())
        tolerance = MIN_EIGENVALUE_TOLERANCE * max(1.0, float(np.abs(tensor).max()))
        if not (isinstance(given, (int, float)) and math.isfinite(given) and abs(given - computed) <= tolerance):
            raise RecordError(
                FilterReason.MALFORMED,
                f"material {material_id!r}: min_eig = {given!r} GPa but the tensor's smallest eigenvalue is "
                f"{computed:.6g} GPa; the line's tensor is not the one it describes: take the line from the source "
                "again or drop it.",
            )
    return record


def binary_moduli_record(line: Mapping[str, Any]) -> ElasticRecord:
    """A moduli-only record from one line of the binary-moduli file (source ``mp2025_binary``).

    Keys read: ``material_id``, ``formula``, ``structure`` (``Structure.as_dict()``), ``K_VRH`` and ``G_VRH``
    (GPa, both required, finite) and ``source`` (the line's provenance text).
    """
    material_id = str(line.get("material_id", "<missing material_id>"))
    structure = Structure.from_dict(line["structure"])
    missing = [key for key in ("K_VRH", "G_VRH") if line.get(key) is None]
    if missing:
        message = f"material {material_id!r}: {' and '.join(missing)} missing; both moduli (GPa) are required."
        raise RecordError(FilterReason.MALFORMED, message)
    provenance = BINARY2025_PROVENANCE
    if line.get("source"):
        provenance = provenance.model_copy(update={"source": str(line["source"])})
    return ElasticRecord(
        material_id=material_id,
        formula=line.get("formula") or structure.composition.reduced_formula,
        structure=structure,
        provenance=provenance,
        source=MP2025_BINARY,
        k_vrh=line["K_VRH"],
        g_vrh=line["G_VRH"],
    )


def _read_lines(path: str | Path, build: Callable[[Mapping[str, Any]], ElasticRecord], source: str) -> LoadedRecords:
    """Every non-empty line of a JSON-lines file through ``build``; the lines that fail become rejected entries
    (with ``source``, the source the file is read as)."""
    path = Path(path)
    records, rejected = [], []
    with _open_for_reading(path) as stream:
        for index, (number, text) in enumerate(_numbered_lines(stream)):
            material_id = f"<line {number}>"
            try:
                if text is None:
                    raise RecordError(
                        FilterReason.MALFORMED,
                        f"the line is longer than {MAX_LINE_CHARS:,} characters; a record of a crystal within the "
                        "atom limit is far shorter. Write one JSON object per line.",
                    )
                line = json.loads(text)
                _require_object(line)
                material_id = str(line.get("material_id", material_id))
                records.append(build(line))
            except _BUILD_ERRORS as exc:
                rejected.append(_rejected(index, material_id, f"{path}, line {number}", exc, number, source))
    return LoadedRecords(records, rejected)


def read_elatbot_jsonl(path: str | Path) -> LoadedRecords:
    """Read an ElaTBot-style tensor file (:func:`elatbot_record`), collecting the invalid lines."""
    return _read_lines(path, elatbot_record, MP2023_ELATBOT)


def read_mp2026_jsonl(path: str | Path) -> LoadedRecords:
    """Read an MP 2026 tensor file (:func:`mp2026_record`), collecting the invalid lines."""
    return _read_lines(path, mp2026_record, MP2026)


def read_binary_moduli_jsonl(path: str | Path) -> LoadedRecords:
    """Read a binary-moduli file (:func:`binary_moduli_record`), collecting the invalid lines."""
    return _read_lines(path, binary_moduli_record, MP2025_BINARY)


BUNDLED_FILES: dict[str, str] = {
    DEJONG2015: BUNDLED_DATASET,
    MP2023_ELATBOT: BUNDLED_ELATBOT,
    MP2025_BINARY: BUNDLED_BINARY_MODULI,
    MP2026: BUNDLED_MP2026,
}
"""File in ``stn_plugin/data/files/`` of each bundled source (``records.ALL_SOURCES``)."""


def _read_dejong(path: Path) -> LoadedRecords:
    return read_jsonl(path, provenance=DEJONG2015_PROVENANCE, source=DEJONG2015)


_BUNDLED_READERS: dict[str, Callable[[Path], LoadedRecords]] = {
    DEJONG2015: _read_dejong,
    MP2023_ELATBOT: read_elatbot_jsonl,
    MP2025_BINARY: read_binary_moduli_jsonl,
    MP2026: read_mp2026_jsonl,
}


def read_bundled(source: str) -> LoadedRecords:
    """The records of one bundled source and its invalid lines, unfiltered (works from an installed wheel).

    Args:
        source: 'dejong2015' (1004 tensors), 'mp2023_elatbot' (399 tensors), 'mp2025_binary' (2000 moduli-only
            records, one of which, mp-22880, is rejected: its formula FeB2 does not match its FeBr2 structure) or
            'mp2026' (10,866 tensors, each with its ``frame_status``).

    Raises:
        ValueError: an unknown source name.
    """
    if source not in BUNDLED_FILES:
        raise ValueError(f"unknown bundled source {source!r}; choose from {list(BUNDLED_FILES)}.")
    loaded = _read_bundled_once(source)
    return LoadedRecords(list(loaded.records), list(loaded.rejected))


@cache
def _read_bundled_once(source: str) -> LoadedRecords:
    """:func:`read_bundled`, parsed once per process (the files ship with the package and records are frozen;
    each record's spglib crystal system is then computed once too)."""
    with as_file(files("stn_plugin.data") / "files" / BUNDLED_FILES[source]) as path:
        return _BUNDLED_READERS[source](path)
