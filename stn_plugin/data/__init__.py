"""Datasets of elastic tensors: typed records, loaders (JSON lines, CSV, Materials Project), filters, splits.

Every tensor is a 6x6 Voigt stiffness in GPa in the Cartesian frame of the record's structure.
"""

from __future__ import annotations

from stn_plugin.data.filters import FilterReason, ValidationReport, filter_records
from stn_plugin.data.frame_consistency import FrameConsistency, frame_consistency, projection_residual
from stn_plugin.data.loaders import (
    DEJONG2015_PROVENANCE,
    DatasetFormatError,
    load_bundled_dataset,
    load_jsonl,
    load_matminer_csv,
    read_jsonl,
    write_jsonl,
)
from stn_plugin.data.mp_api import MaterialsProjectError, elasticity_doc_to_record, fetch_mp_elasticity
from stn_plugin.data.records import CRYSTAL_SYSTEMS, ElasticRecord, Provenance, ReferenceModuli
from stn_plugin.data.splits import DataSplit, load_split, stratified_split

__all__ = [
    "CRYSTAL_SYSTEMS",
    "DEJONG2015_PROVENANCE",
    "DataSplit",
    "DatasetFormatError",
    "ElasticRecord",
    "FilterReason",
    "FrameConsistency",
    "MaterialsProjectError",
    "Provenance",
    "ReferenceModuli",
    "ValidationReport",
    "elasticity_doc_to_record",
    "fetch_mp_elasticity",
    "filter_records",
    "frame_consistency",
    "load_bundled_dataset",
    "load_jsonl",
    "load_matminer_csv",
    "load_split",
    "projection_residual",
    "read_jsonl",
    "stratified_split",
    "write_jsonl",
]
