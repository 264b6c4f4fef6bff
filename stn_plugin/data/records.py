"""The typed record of one material: structure, elastic tensor in the structure's frame, provenance.

Every tensor held by an :class:`ElasticRecord` is a 6x6 Voigt stiffness in GPa (order xx, yy, zz, yz,
xz, xy; see :mod:`stn_plugin.physics.voigt`). ``elastic_tensor`` is in the Cartesian frame of
``structure`` (the frame the strains of the model act in); ``elastic_tensor_ieee`` optionally keeps the
same tensor in the IEEE-176 frame of pymatgen's ``convert_to_ieee`` as published by the source.

Validation happens once, when the record is built, and every error names the material and the fix. Each
check raises a :class:`RecordError` carrying its :class:`FilterReason` (pydantic wraps it in a
``ValidationError``; :func:`reasons_of` gets the reasons back), so loaders can count invalid records by reason:

* ``malformed``: the tensor is not a 6x6 matrix of numbers, the structure is not a pymatgen structure, a
  field is missing or of the wrong type;
* ``tensor_not_finite``: the tensor holds NaN or inf;
* ``tensor_in_pa``: it looks like Pa instead of GPa (max |C| > ``PA_SUSPECT_GPA``);
* ``tensor_asymmetric``: max |C - C^T| > ``SYMMETRY_RTOL`` * max |C| + ``SYMMETRY_ATOL`` (GPa); a smaller
  asymmetry is numerical noise and the stored tensor is the symmetric part (C + C^T) / 2;
* ``disordered_structure``: the structure is disordered (partial occupancy) or has no sites;
* ``formula_mismatch``: the structure's reduced formula differs from ``formula``;
* ``moduli_not_finite``: a moduli-only record (no tensor) gives a NaN or infinite ``k_vrh`` / ``g_vrh``.
* ``invalid_structure``: NaN/inf or far out-of-cell coordinates, a lattice beyond 1e4 Angstrom or collapsed, atoms
  closer than 0.5 Angstrom (:func:`stn_plugin.structure.checks.check_geometry`, run before any spglib call:
  spglib crashes the process on a NaN coordinate), or an ``@module`` key naming a module outside pymatgen and
  numpy (decoding would import it; :func:`stn_plugin.io.check_json_modules`).

A record either has a tensor (``k_vrh`` and ``g_vrh`` are then computed from it) or is *moduli-only*:
``elastic_tensor`` None, ``k_vrh`` and ``g_vrh`` given (GPa, Voigt-Reuss-Hill averages of the source's
tensor). ``source`` names the dataset a record comes from (``ALL_SOURCES``), for de-duplication, splits and reports;
``frame_status`` keeps a source's verdict on the tensor's frame (``FrameStatus``) where the source gives one.

The other reasons of :class:`FilterReason` are checks on whole records and datasets
(:mod:`stn_plugin.data.filters`).
"""

from __future__ import annotations

import math
from enum import Enum
from functools import cached_property
from typing import Any, Literal

import numpy as np
from numpy.typing import NDArray
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
    computed_field,
    field_serializer,
    field_validator,
    model_validator,
)
from pymatgen.core import Composition, Structure
from pymatgen.symmetry.analyzer import SpacegroupAnalyzer

from stn_plugin.io import UntrustedJsonError, check_json_modules
from stn_plugin.physics.moduli import elastic_moduli
from stn_plugin.physics.sed import elastic_to_sed
from stn_plugin.physics.voigt import DEFAULT_STRAIN
from stn_plugin.structure.checks import StructureInputError, check_geometry

CrystalSystem = Literal["triclinic", "monoclinic", "orthorhombic", "tetragonal", "trigonal", "hexagonal", "cubic"]
"""The seven crystal systems, spelled as pymatgen's ``SpacegroupAnalyzer.get_crystal_system``."""

CRYSTAL_SYSTEMS: tuple[str, ...] = (
    "cubic",
    "hexagonal",
    "tetragonal",
    "trigonal",
    "orthorhombic",
    "monoclinic",
    "triclinic",
)
"""Crystal systems from highest to lowest symmetry (the order used in reports)."""

CRYSTAL_SYSTEM_SYMPREC: float = 0.01
"""spglib distance tolerance (Angstrom) for the crystal system of a record."""

SYMMETRY_RTOL: float = 1e-3
"""Allowed asymmetry of C relative to max |C|."""

SYMMETRY_ATOL: float = 1e-6
"""Allowed absolute asymmetry of C, GPa."""

PA_SUSPECT_GPA: float = 1e5
"""A stiffness entry above this many GPa (100 TPa, ~100x diamond) is taken to be in Pa."""

DEJONG2015: str = "dejong2015"
"""``source`` of the bundled de Jong et al. (2015) tensors."""

MP2023_ELATBOT: str = "mp2023_elatbot"
"""``source`` of the Materials Project 2023.11 tensors of ElaTBot's validation split."""

MP2025_BINARY: str = "mp2025_binary"
"""``source`` of the Materials Project 2025.1 binary K_VRH / G_VRH (matcalc benchmark data, no tensors)."""

MP2026: str = "mp2026"
"""``source`` of the Materials Project elasticity collection as fetched on 2026-07-04 (10,866 tensors, equiparity)."""

SOURCES: tuple[str, ...] = (DEJONG2015, MP2023_ELATBOT, MP2025_BINARY)
"""The default bundled sources (the data of the bundled models), in order of preference when two records are the
same material."""

ALL_SOURCES: tuple[str, ...] = (MP2026, MP2023_ELATBOT, DEJONG2015, MP2025_BINARY)
"""Every bundled source, newest Materials Project release first: the order of preference when the four are
combined (:mod:`stn_plugin.data.dedup`)."""

BUNDLED_DATASETS: dict[str, tuple[str, ...]] = {"bundled": SOURCES, "mp-all": ALL_SOURCES}
"""Named selections of bundled sources: ``bundled`` (the default, the data of the bundled models) and ``mp-all``
(all four sources; ``stn data prepare --dataset``)."""

FrameStatus = Literal["verified", "convention", "inconsistent"]
"""How well the tensor's frame is pinned to the structure, as the MP 2023 and MP 2026 files say: ``verified``
(the structure's point group fixes the frame and the tensor has that symmetry within 5 %), ``convention``
(orthorhombic and lower: the axis order follows pymatgen's IEEE convention), ``inconsistent`` (the tensor has the
point group's symmetry in no tried frame)."""

USER_SOURCE: str = "user"
"""``source`` of a record that names none (records built in code, files of other origin)."""

MODULI_TOLERANCE_GPA: float = 1e-6
"""Largest accepted difference (GPa, plus the same relative to the value) between a ``k_vrh`` / ``g_vrh`` given
for a tensor record and the one computed from its tensor (they agree exactly when a record is read back)."""


class FilterReason(str, Enum):
    """Why a record is invalid or removed from a dataset (the first six, ``moduli_not_finite`` and
    ``invalid_structure`` are found when a record is built, the others by :mod:`stn_plugin.data.filters`)."""

    MALFORMED = "malformed"
    TENSOR_NOT_FINITE = "tensor_not_finite"
    TENSOR_IN_PA = "tensor_in_pa"
    TENSOR_ASYMMETRIC = "tensor_asymmetric"
    DISORDERED_STRUCTURE = "disordered_structure"
    FORMULA_MISMATCH = "formula_mismatch"
    DUPLICATE_ID = "duplicate_id"
    NOT_POSITIVE_DEFINITE = "not_positive_definite"
    BULK_MODULUS_OUT_OF_RANGE = "bulk_modulus_out_of_range"
    SHEAR_MODULUS_OUT_OF_RANGE = "shear_modulus_out_of_range"
    FRAME_MISMATCH = "frame_mismatch"
    MODULI_NOT_FINITE = "moduli_not_finite"
    INVALID_STRUCTURE = "invalid_structure"
    FRAME_INCONSISTENT = "frame_inconsistent"
    VOIGT_BELOW_REUSS = "voigt_below_reuss"
    STIFFNESS_OUT_OF_RANGE = "stiffness_out_of_range"


class RecordError(ValueError):
    """A record that fails one of the checks made when it is built; ``reason`` says which."""

    def __init__(self, reason: FilterReason, message: str) -> None:
        super().__init__(message)
        self.reason = reason


def reasons_of(error: Exception) -> tuple[FilterReason, ...]:
    """The :class:`FilterReason` of each problem in an error raised while building a record (``malformed``
    for anything that is not a :class:`RecordError`), without repetitions."""
    if isinstance(error, ValidationError):
        causes = [e.get("ctx", {}).get("error") for e in error.errors()]
    else:
        causes = [error]
    reasons = [c.reason if isinstance(c, RecordError) else FilterReason.MALFORMED for c in causes]
    return tuple(dict.fromkeys(reasons))


class Provenance(BaseModel):
    """Where a record comes from, to be cited with any result derived from it."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    source: str = Field(description="Dataset or database name, e.g. 'Materials Project (mp-api)'.")
    licence: str = Field(description="Licence of the data, e.g. 'CC BY 4.0'.")
    citation: str = Field(description="Reference(s) to cite when using the data.")
    frame_note: str = Field(
        description="How the source's tensor frame relates to the structure, e.g. which source field was used."
    )


class ReferenceModuli(BaseModel):
    """Moduli published with the tensor by the source (GPa; Poisson ratio dimensionless); all optional."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    bulk_voigt: float | None = None
    bulk_reuss: float | None = None
    bulk_vrh: float | None = None
    shear_voigt: float | None = None
    shear_reuss: float | None = None
    shear_vrh: float | None = None
    poisson_ratio: float | None = None


def _validated_voigt_matrix(value: Any, field: str, material_id: str) -> NDArray[np.float64]:
    """Check a 6x6 Voigt stiffness in GPa and return its symmetric part (see the module docstring)."""
    where = f"material {material_id!r}: {field}"
    if isinstance(value, (list, tuple)) and any(
        isinstance(entry, (str, bytes)) for row in value for entry in (row if isinstance(row, (list, tuple)) else [row])
    ):
        message = f'{where} holds text entries (e.g. "100"), not numbers; write the numbers without quotes, in GPa.'
        raise RecordError(FilterReason.MALFORMED, message)
    try:
        C = np.asarray(value, dtype=float)
    except (TypeError, ValueError) as exc:
        message = f"{where} is not a numeric 6x6 matrix ({exc}); pass a 6x6 list of numbers in GPa."
        raise RecordError(FilterReason.MALFORMED, message) from None
    if C.shape != (6, 6):
        hint = " (a 3x3x3x3 tensor: convert it with pymatgen ElasticTensor(C).voigt)" if C.shape == (3, 3, 3, 3) else ""
        raise RecordError(
            FilterReason.MALFORMED,
            f"{where} has shape {C.shape}, expected a square 6x6 Voigt matrix in GPa{hint}; "
            "pass the full 6x6 matrix (Voigt order xx, yy, zz, yz, xz, xy).",
        )
    bad = np.argwhere(~np.isfinite(C))
    if bad.size:
        entries = ", ".join(f"C[{i}][{j}]" for i, j in bad[:6])
        raise RecordError(
            FilterReason.TENSOR_NOT_FINITE,
            f"{where} contains NaN or inf at {entries}; "
            "fill the missing components from the source or drop this material.",
        )
    scale = float(np.abs(C).max())
    if scale > PA_SUSPECT_GPA:
        raise RecordError(
            FilterReason.TENSOR_IN_PA,
            f"{where} has max |C| = {scale:.3g}, which looks like Pa, not GPa; divide the tensor by 1e9.",
        )
    asymmetry = float(np.abs(C - C.T).max())
    tolerance = SYMMETRY_RTOL * scale + SYMMETRY_ATOL
    if asymmetry > tolerance:
        i, j = np.unravel_index(int(np.argmax(np.abs(C - C.T))), C.shape)
        raise RecordError(
            FilterReason.TENSOR_ASYMMETRIC,
            f"{where} is not symmetric: max |C - C^T| = {asymmetry:.4g} GPa at C[{i}][{j}] vs C[{j}][{i}] "
            f"(tolerance {tolerance:.3g} GPa); check the source (transposed rows, compliance instead of "
            "stiffness), or symmetrise with (C + C.T) / 2 if the difference is fitting noise.",
        )
    return 0.5 * (C + C.T)


def structure_from_data(value: Any, material_id: str) -> Structure:
    """The checked structure of a record from a pymatgen ``Structure`` or its ``as_dict()`` (untrusted data).

    Checks, in this order, before any spglib call: no ``@module`` key outside pymatgen and numpy (decoding would
    import it), a valid ``Structure.as_dict()``, sites present and ordered, then
    :func:`stn_plugin.structure.checks.check_geometry` (finite bounded lattice and coordinates, no atoms closer
    than 0.5 Angstrom).

    Args:
        value: the structure or its dictionary.
        material_id: the record's id, for the messages.

    Raises:
        RecordError: with reason ``malformed``, ``disordered_structure`` or ``invalid_structure``.
    """
    if isinstance(value, dict):
        try:
            check_json_modules(value, f"material {material_id!r}: structure")
        except UntrustedJsonError as exc:
            raise RecordError(FilterReason.INVALID_STRUCTURE, str(exc)) from None
        try:
            value = Structure.from_dict(value)
        except (KeyError, TypeError, ValueError) as exc:
            raise RecordError(
                FilterReason.MALFORMED,
                f"material {material_id!r}: structure is not a valid pymatgen Structure.as_dict() ({exc!r}).",
            ) from None
    if not isinstance(value, Structure):  # a ValueError subclass: pydantic reports it as a validation error
        raise RecordError(
            FilterReason.MALFORMED,
            f"material {material_id!r}: structure must be a pymatgen Structure or its as_dict(), "
            f"got {type(value).__name__}.",
        )
    if len(value) == 0:
        raise RecordError(FilterReason.DISORDERED_STRUCTURE, f"material {material_id!r}: structure has no sites.")
    if not value.is_ordered:
        disordered = [i for i, site in enumerate(value) if not site.is_ordered]
        raise RecordError(
            FilterReason.DISORDERED_STRUCTURE,
            f"material {material_id!r}: structure has partial occupancy / disorder at sites {disordered[:10]}; "
            "StrainTensorNet needs an ordered cell: order it (e.g. pymatgen "
            "OrderDisorderedStructureTransformation) or drop the material.",
        )
    try:
        check_geometry(value)
    except StructureInputError as exc:
        raise RecordError(FilterReason.INVALID_STRUCTURE, f"material {material_id!r}: {exc}") from None
    return value


class ElasticRecord(BaseModel):
    """One material: structure, stiffness in the structure's Cartesian frame (or only K and G), provenance.

    Attributes:
        material_id: unique identifier, e.g. 'mp-149'.
        formula: chemical formula; its reduced form must match the structure's composition.
        structure: ordered pymatgen ``Structure`` (Angstrom); defines the Cartesian frame of ``elastic_tensor``.
        elastic_tensor: C, shape (6, 6), GPa, Voigt order, in the frame of ``structure``, symmetric; None for a
            moduli-only record.
        elastic_tensor_ieee: the same tensor in the IEEE-176 frame as published, shape (6, 6), GPa, or None.
        provenance: source, licence, citation and a note on the frame.
        reference_moduli: moduli published by the source, or None.
        source: short name of the dataset (``ALL_SOURCES``: 'dejong2015', 'mp2023_elatbot', 'mp2025_binary',
            'mp2026'; 'user' when not given).
        frame_status: the source's verdict on the tensor's frame (``FrameStatus``), or None when the source gives
            none (de Jong 2015, moduli-only records, user files without the key).
        k_vrh, g_vrh: Voigt-Reuss-Hill bulk and shear moduli, GPa. For a tensor record they are computed from
            ``elastic_tensor`` (:func:`~stn_plugin.physics.moduli.elastic_moduli`; NaN when C is singular) and a
            given value must agree with them; a moduli-only record must give both, finite.

    Build from JSON-like data with ``ElasticRecord.model_validate``; ``structure`` may then be a
    ``Structure.as_dict()`` dictionary. ``model_dump(mode="json")`` gives such data back.
    """

    model_config = ConfigDict(frozen=True, extra="forbid", arbitrary_types_allowed=True)

    material_id: str = Field(min_length=1)
    formula: str = Field(min_length=1)
    structure: Structure
    elastic_tensor: NDArray[np.float64] | None = None
    elastic_tensor_ieee: NDArray[np.float64] | None = None
    provenance: Provenance
    reference_moduli: ReferenceModuli | None = None
    source: str = Field(default=USER_SOURCE, pattern=r"^[a-z0-9][a-z0-9_.-]*$")
    frame_status: FrameStatus | None = None
    k_vrh: float | None = None
    g_vrh: float | None = None

    @model_validator(mode="before")
    @classmethod
    def _drop_derived_fields(cls, data: Any) -> Any:
        """``crystal_system`` appears in ``model_dump`` output but is always recomputed from the structure."""
        if isinstance(data, dict) and "crystal_system" in data:
            data = {key: value for key, value in data.items() if key != "crystal_system"}
        return data

    @field_validator("structure", mode="before")
    @classmethod
    def _structure_from_dict(cls, value: Any, info: ValidationInfo) -> Structure:
        return structure_from_data(value, info.data.get("material_id", "<unknown>"))

    @field_validator("elastic_tensor", "elastic_tensor_ieee", mode="before")
    @classmethod
    def _check_voigt(cls, value: Any, info: ValidationInfo) -> NDArray[np.float64] | None:
        if value is None:
            return None
        return _validated_voigt_matrix(value, str(info.field_name), info.data.get("material_id", "<unknown>"))

    @model_validator(mode="after")
    def _formula_matches_structure(self) -> ElasticRecord:
        try:
            given = Composition(self.formula).reduced_formula
        except ValueError as exc:
            message = f"material {self.material_id!r}: formula {self.formula!r} cannot be parsed ({exc})."
            raise ValueError(message) from None
        actual = self.structure.composition.reduced_formula
        if given != actual:
            raise RecordError(
                FilterReason.FORMULA_MISMATCH,
                f"material {self.material_id!r}: formula {self.formula!r} (reduced {given}) does not match the "
                f"structure's composition {actual}; "
                "the structure and the tensor probably belong to different materials.",
            )
        return self

    @model_validator(mode="after")
    def _vrh_moduli(self) -> ElasticRecord:
        """K_VRH and G_VRH: computed from the tensor, or checked for a moduli-only record."""
        where = f"material {self.material_id!r}"
        if self.elastic_tensor is None:
            missing = [name for name in ("k_vrh", "g_vrh") if getattr(self, name) is None]
            if missing:
                raise RecordError(
                    FilterReason.MALFORMED,
                    f"{where}: no elastic_tensor and no {' and '.join(missing)}; give the 6x6 stiffness (GPa) or, "
                    "for a moduli-only record, both k_vrh and g_vrh (GPa).",
                )
            bad = [
                f"{name} = {getattr(self, name)}"
                for name in ("k_vrh", "g_vrh")
                if not math.isfinite(getattr(self, name))
            ]
            if bad:
                raise RecordError(
                    FilterReason.MODULI_NOT_FINITE,
                    f"{where}: {', '.join(bad)} (moduli-only record); fill the moduli from the source or drop this material.",
                )
            if self.elastic_tensor_ieee is not None:
                raise RecordError(
                    FilterReason.MALFORMED,
                    f"{where}: elastic_tensor_ieee is given without elastic_tensor; give the tensor in the frame of "
                    "the structure as elastic_tensor.",
                )
            return self
        moduli = elastic_moduli(self.elastic_tensor)
        for name, value in (("k_vrh", moduli.bulk_vrh), ("g_vrh", moduli.shear_vrh)):
            given = getattr(self, name)
            same = given is None or (math.isnan(given) and math.isnan(value))
            if not same and not abs(given - value) <= MODULI_TOLERANCE_GPA * (1.0 + abs(value)):
                raise RecordError(
                    FilterReason.MALFORMED,
                    f"{where}: {name} = {given} GPa is given but the tensor gives {value:.6g} GPa; leave {name} out "
                    "(it is computed from the tensor) or put published values in reference_moduli.",
                )
            object.__setattr__(self, name, value)  # a derived field of the frozen record, set once while validating
        return self

    @field_serializer("structure")
    def _structure_to_dict(self, structure: Structure) -> dict[str, Any]:
        return structure.as_dict()

    @field_serializer("elastic_tensor", "elastic_tensor_ieee")
    def _matrix_to_list(self, matrix: NDArray[np.float64] | None) -> list[list[float]] | None:
        return None if matrix is None else matrix.tolist()

    @computed_field  # type: ignore[prop-decorator]
    @cached_property
    def crystal_system(self) -> CrystalSystem:
        """Crystal system of ``structure`` from spglib (pymatgen ``SpacegroupAnalyzer``, symprec 0.01 Angstrom)."""
        return SpacegroupAnalyzer(self.structure, symprec=CRYSTAL_SYSTEM_SYMPREC).get_crystal_system()

    @property
    def has_tensor(self) -> bool:
        """True when the record has an elastic tensor, False for a moduli-only record (K_VRH, G_VRH only)."""
        return self.elastic_tensor is not None

    @property
    def volume_per_atom(self) -> float:
        """Cell volume divided by the number of sites, Angstrom^3/atom."""
        return float(self.structure.volume / len(self.structure))

    def sed(self, magnitude: float = DEFAULT_STRAIN) -> NDArray[np.float64]:
        """Strain energy densities U_ij of the 21 strain states (paper Eq. 2) as a symmetric matrix.

        Args:
            magnitude: strain magnitude (dimensionless, engineering shear), default 0.02.

        Returns:
            U, shape (6, 6), meV/atom, in the frame of ``structure``.

        Raises:
            ValueError: the record is moduli-only (``has_tensor`` False).
        """
        if self.elastic_tensor is None:
            raise ValueError(
                f"material {self.material_id!r} ({self.source}) is moduli-only: it has no elastic tensor, hence no "
                "strain energy densities; use k_vrh / g_vrh, or select records with has_tensor."
            )
        return elastic_to_sed(self.elastic_tensor, self.volume_per_atom, magnitude)
