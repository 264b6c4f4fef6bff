"""Elastic tensors from the Materials Project API (``mp-api`` client, ``materials/elasticity`` route).

Documents follow emmet-core's ``emmet.core.elasticity.ElasticityDoc``: ``structure`` is the structure
the elastic workflow used, ``elastic_tensor.raw`` the fitted stiffness in the Cartesian frame of that
structure (GPa) and ``elastic_tensor.ieee_format`` the symmetrised tensor rotated into the IEEE-176
frame with pymatgen's ``convert_to_ieee`` and rounded to integers (GPa). A record takes ``raw`` when it
is present; otherwise it rotates ``ieee_format`` into the structure's frame
(:func:`stn_plugin.physics.frames.from_ieee_frame`). ``bulk_modulus`` / ``shear_modulus`` (voigt, reuss,
vrh; GPa) and ``homogeneous_poisson`` become the record's reference moduli.

``mp-api`` is an optional dependency (``pip install 'stn-plugin[mp]'``); fetching needs network
access and an API key (argument or the ``MP_API_KEY`` environment variable).
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from pymatgen.core import Structure

from stn_plugin.data.loaders import write_jsonl
from stn_plugin.data.records import ElasticRecord, Provenance, ReferenceModuli
from stn_plugin.physics.frames import from_ieee_frame

MP_ELASTICITY_FIELDS: tuple[str, ...] = (
    "material_id",
    "formula_pretty",
    "structure",
    "elastic_tensor",
    "bulk_modulus",
    "shear_modulus",
    "homogeneous_poisson",
    "state",
)
"""``ElasticityDoc`` fields requested from the API."""

MP_PROVENANCE = Provenance(
    source="Materials Project API, materials/elasticity (mp-api)",
    licence="CC BY 4.0",
    citation=("A. Jain et al., APL Mater. 1, 011002 (2013); M. de Jong et al., Sci. Data 2, 150009 (2015)"),
    frame_note="elastic_tensor.raw (frame of the document's structure)",
)
"""Provenance of records built from Materials Project elasticity documents."""

_IEEE_NOTE = "elastic_tensor.ieee_format rotated into the structure's frame with frames.from_ieee_frame"


class MaterialsProjectError(RuntimeError):
    """The Materials Project API could not be used (client missing, offline, refused request)."""


def _field(document: Any, name: str) -> Any:
    """A field of an emmet document, or of its JSON form (dict); None when absent."""
    if isinstance(document, Mapping):
        return document.get(name)
    return getattr(document, name, None)


def elasticity_doc_to_record(document: Any) -> ElasticRecord:
    """Build a record from one ``ElasticityDoc`` (the client's model object or its JSON dict).

    Raises:
        ValueError: the document has no structure or no elastic tensor (message names the material).
    """
    material_id = str(_field(document, "material_id"))
    structure = _field(document, "structure")
    tensors = _field(document, "elastic_tensor")
    raw = _field(tensors, "raw") if tensors is not None else None
    ieee = _field(tensors, "ieee_format") if tensors is not None else None
    if structure is None or (raw is None and ieee is None):
        raise ValueError(
            f"material {material_id!r}: the elasticity document has no structure or no elastic tensor; "
            "request the fields 'structure' and 'elastic_tensor'."
        )
    if isinstance(structure, Mapping):
        structure = Structure.from_dict(structure)
    tensor, provenance = raw, MP_PROVENANCE
    if tensor is None:
        try:
            tensor = from_ieee_frame(ieee, structure)
        except ValueError as exc:
            raise ValueError(f"material {material_id!r}: elastic_tensor.ieee_format: {exc}") from None
        provenance = MP_PROVENANCE.model_copy(update={"frame_note": _IEEE_NOTE})
    return ElasticRecord(
        material_id=material_id,
        formula=_field(document, "formula_pretty") or structure.composition.reduced_formula,
        structure=structure,
        elastic_tensor=tensor,
        elastic_tensor_ieee=ieee,
        provenance=provenance,
        reference_moduli=_reference_moduli(document),
    )


def _reference_moduli(document: Any) -> ReferenceModuli | None:
    bulk, shear = _field(document, "bulk_modulus"), _field(document, "shear_modulus")
    values = {
        f"{name}_{average}": _field(moduli, average)
        for name, moduli in (("bulk", bulk), ("shear", shear))
        if moduli is not None
        for average in ("voigt", "reuss", "vrh")
    }
    values["poisson_ratio"] = _field(document, "homogeneous_poisson")
    values = {key: value for key, value in values.items() if value is not None}
    return ReferenceModuli(**values) if values else None


def fetch_mp_elasticity(
    api_key: str | None = None,
    material_ids: Sequence[str] | None = None,
    *,
    chunk_size: int = 1000,
    num_chunks: int | None = None,
    endpoint: str | None = None,
    output: str | Path | None = None,
) -> list[ElasticRecord]:
    """Download Materials Project elasticity documents and convert them into records.

    Documents without a tensor (failed fits) or whose record fails validation are skipped with a
    warning that lists their ids; the list of records is never silently shortened.

    Args:
        api_key: 32-character Materials Project API key; None reads ``MP_API_KEY``.
        material_ids: ids such as ``["mp-149"]``; None fetches every elasticity document.
        chunk_size: documents per request.
        num_chunks: maximum number of requests (None: all).
        endpoint: API URL (None: the client's default, https://api.materialsproject.org).
        output: if given, the records are also written there as JSON lines (see :func:`write_jsonl`).

    Raises:
        MaterialsProjectError: mp-api is not installed, the API is unreachable or refuses the request.
    """
    try:
        import requests
        from mp_api.client import MPRester
        from mp_api.client.core.client import MPRestError
    except ImportError as exc:
        raise MaterialsProjectError(
            f"fetch_mp_elasticity needs the mp-api client ({exc}); install it with "
            "pip install 'stn-plugin[mp]' (or pip install mp-api), or load a saved file with load_jsonl."
        ) from exc
    try:
        with MPRester(api_key, endpoint=endpoint, mute_progress_bars=True) as rester:
            documents = rester.materials.elasticity.search(
                material_ids=list(material_ids) if material_ids is not None else None,
                fields=list(MP_ELASTICITY_FIELDS),
                chunk_size=chunk_size,
                num_chunks=num_chunks,
            )
    except (requests.exceptions.RequestException, MPRestError) as exc:
        raise MaterialsProjectError(
            "could not fetch elasticity documents from the Materials Project "
            f"(offline, invalid API key, or server error): {exc}. Without network access, use "
            "load_bundled_dataset() or load_jsonl() on a file written earlier with output=..."
        ) from exc
    records: list[ElasticRecord] = []
    skipped: list[str] = []
    for document in documents:
        try:
            records.append(elasticity_doc_to_record(document))
        except ValueError as exc:
            skipped.append(str(exc))
    if skipped:
        warnings.warn(
            f"skipped {len(skipped)} of {len(documents)} Materials Project documents:\n" + "\n".join(skipped),
            stacklevel=2,
        )
    if output is not None:
        write_jsonl(records, output)
    return records
