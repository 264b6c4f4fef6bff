"""Datasets of elastic tensors: typed records, loaders (JSON lines, CSV, Materials Project, the bundled sources),
filters, de-duplication across sources, splits.

Every tensor is a 6x6 Voigt stiffness in GPa in the Cartesian frame of the record's structure; moduli-only
records carry K_VRH and G_VRH (GPa) instead.
"""

from __future__ import annotations

from stn_plugin.data.dedup import DeduplicationReport, DuplicateEntry, deduplicate
from stn_plugin.data.filters import FilterReason, ValidationReport, filter_records
from stn_plugin.data.frame_consistency import FrameConsistency, frame_consistency, projection_residual
from stn_plugin.data.loaders import (
    BINARY2025_PROVENANCE,
    DEJONG2015_PROVENANCE,
    ELATBOT2023_PROVENANCE,
    MP2026_PROVENANCE,
    DatasetFormatError,
    load_bundled_dataset,
    load_jsonl,
    read_binary_moduli_jsonl,
    read_bundled,
    read_elatbot_jsonl,
    read_jsonl,
    read_mp2026_jsonl,
    write_jsonl,
)
from stn_plugin.data.mp_api import MaterialsProjectError, elasticity_doc_to_record, fetch_mp_elasticity
from stn_plugin.data.records import (
    ALL_SOURCES,
    CRYSTAL_SYSTEMS,
    SOURCES,
    ElasticRecord,
    Provenance,
    ReferenceModuli,
)
from stn_plugin.data.splits import DataSplit, combined_split, load_split, stratified_split

__all__ = [
    "ALL_SOURCES",
    "BINARY2025_PROVENANCE",
    "CRYSTAL_SYSTEMS",
    "DEJONG2015_PROVENANCE",
    "ELATBOT2023_PROVENANCE",
    "MP2026_PROVENANCE",
    "SOURCES",
    "DataSplit",
    "DatasetFormatError",
    "DeduplicationReport",
    "DuplicateEntry",
    "ElasticRecord",
    "FilterReason",
    "FrameConsistency",
    "MaterialsProjectError",
    "Provenance",
    "ReferenceModuli",
    "ValidationReport",
    "combined_split",
    "deduplicate",
    "elasticity_doc_to_record",
    "fetch_mp_elasticity",
    "filter_records",
    "frame_consistency",
    "load_bundled_dataset",
    "load_jsonl",
    "load_split",
    "projection_residual",
    "read_binary_moduli_jsonl",
    "read_bundled",
    "read_elatbot_jsonl",
    "read_jsonl",
    "read_mp2026_jsonl",
    "stratified_split",
    "write_jsonl",
]
