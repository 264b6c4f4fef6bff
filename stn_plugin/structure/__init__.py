"""A crystal structure before any graph exists: the checks of its geometry and size, with their typed errors, and
its canonical cell (the frame in which edges are chosen, and the rotation back to the user's frame)."""

from __future__ import annotations

from stn_plugin.structure.canonical import CanonicalCell, StandardizationError, canonicalize, primitive_cell
from stn_plugin.structure.checks import (
    DisorderedStructureError,
    InvalidCoordinatesError,
    InvalidLatticeError,
    InvalidSitePropertyError,
    IsolatedAtomsError,
    NotACrystalError,
    NotBulkCrystalError,
    OverlappingAtomsError,
    StructureInputError,
    StructureTooLargeError,
    UnsupportedElementError,
    as_structure,
    check_geometry,
    check_size,
)

__all__ = [
    "CanonicalCell",
    "DisorderedStructureError",
    "InvalidCoordinatesError",
    "InvalidLatticeError",
    "InvalidSitePropertyError",
    "IsolatedAtomsError",
    "NotACrystalError",
    "NotBulkCrystalError",
    "OverlappingAtomsError",
    "StandardizationError",
    "StructureInputError",
    "StructureTooLargeError",
    "UnsupportedElementError",
    "as_structure",
    "canonicalize",
    "check_geometry",
    "check_size",
    "primitive_cell",
]
