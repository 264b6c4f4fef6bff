"""Materials Project loader: the real mp-api client against a recorded response, HTTP transport stubbed."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from urllib.parse import parse_qs, urlparse

import numpy as np
import pytest
import requests
from emmet.core.elasticity import ElasticityDoc
from requests.adapters import HTTPAdapter

from stn_plugin.data.loaders import load_bundled_dataset, load_jsonl
from stn_plugin.data.mp_api import MaterialsProjectError, elasticity_doc_to_record, fetch_mp_elasticity

FIXTURE = Path(__file__).parent / "fixtures" / "mp_elasticity_response.json"
API_KEY = "x" * 32  # mp-api checks the length only


@pytest.fixture(scope="module")
def response() -> dict:
    return json.loads(FIXTURE.read_text())


@pytest.fixture()
def fake_server(monkeypatch: pytest.MonkeyPatch, response: dict) -> list[str]:
    """Replace the HTTP transport of ``requests`` (used by mp-api) by a server answering from the fixture.

    It honours the query parameters the client sends (``material_ids``, ``_fields``) and records the URLs.
    """
    urls: list[str] = []

    def send(adapter: HTTPAdapter, request: requests.PreparedRequest, **kwargs: object) -> requests.Response:
        urls.append(request.url)
        url = urlparse(request.url)
        if url.path.endswith("/heartbeat"):
            body: dict = {"version": "0.87.3", "db_version": "2025_09_25", "access_controlled_batch_ids": []}
        elif url.path.rstrip("/").endswith("/materials/elasticity"):
            query = parse_qs(url.query)
            wanted = set(query["material_ids"][0].split(",")) if "material_ids" in query else None
            fields = query["_fields"][0].split(",") if "_fields" in query else None
            docs = [d for d in response["data"] if wanted is None or d["material_id"] in wanted]
            if fields:
                docs = [{k: v for k, v in d.items() if k in fields} for d in docs]
            body = {"data": docs, "meta": {"total_doc": len(docs), "max_limit": 1000}}
        else:
            raise AssertionError(f"unexpected request {request.url}")
        reply = requests.Response()
        reply.status_code, reply.url, reply.request = 200, request.url, request
        reply.headers["Content-Type"] = "application/json"
        reply._content = json.dumps(body).encode()
        return reply

    monkeypatch.setattr(HTTPAdapter, "send", send)
    return urls


def test_fixture_follows_emmet_schema(response: dict) -> None:
    for document in response["data"]:
        ElasticityDoc.model_validate(document)


def test_fetch_through_mp_api(fake_server: list[str], response: dict, tmp_path: Path) -> None:
    ids = [d["material_id"] for d in response["data"]]
    with pytest.warns(UserWarning, match=r"(?s)skipped 1 of 4 .*mp-3618.*no structure or no elastic tensor"):
        records = fetch_mp_elasticity(API_KEY, ids, output=tmp_path / "mp.jsonl.gz")
    query = parse_qs(urlparse(fake_server[-1]).query)
    assert set(query["material_ids"][0].split(",")) == set(ids)
    assert "elastic_tensor" in query["_fields"][0] and "structure" in query["_fields"][0]

    bundled = {r.material_id: r for r in load_bundled_dataset() if r.material_id in ids}
    assert [r.material_id for r in records] == ids[:3]
    for record in records:
        reference = bundled[record.material_id]
        assert record.structure == reference.structure
        assert record.provenance.licence == "CC BY 4.0"
        assert record.reference_moduli.bulk_vrh == pytest.approx(reference.reference_moduli.bulk_vrh)
    # raw (structure frame) taken as is
    assert np.allclose(records[0].elastic_tensor, bundled[ids[0]].elastic_tensor)
    assert records[0].provenance.frame_note.startswith("elastic_tensor.raw")
    # ieee_format only: rotated back into the (axis-permuted) structure frame, up to emmet's rounding
    permuted = records[2]
    assert "ieee_format rotated" in permuted.provenance.frame_note
    assert not np.allclose(permuted.elastic_tensor_ieee, bundled[permuted.material_id].elastic_tensor, atol=5)
    assert np.allclose(permuted.elastic_tensor, bundled[permuted.material_id].elastic_tensor, atol=0.5)

    saved = load_jsonl(tmp_path / "mp.jsonl.gz")
    assert [r.material_id for r in saved] == ids[:3]
    assert all(np.array_equal(a.elastic_tensor, b.elastic_tensor) for a, b in zip(records, saved, strict=True))


def test_doc_without_tensor_is_an_error(response: dict) -> None:
    with pytest.raises(ValueError, match="'mp-3618': the elasticity document has no structure or no elastic tensor"):
        elasticity_doc_to_record(response["data"][3])


def test_offline_error(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*args: object, **kwargs: object) -> None:
        raise requests.exceptions.ConnectionError("Failed to resolve 'api.materialsproject.org'")

    monkeypatch.setattr(HTTPAdapter, "send", refuse)
    with pytest.raises(MaterialsProjectError, match="offline.*load_bundled_dataset"):
        fetch_mp_elasticity(API_KEY, ["mp-129"])


def test_missing_client_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "mp_api.client", None)
    with pytest.raises(MaterialsProjectError, match=r"needs the mp-api client.*pip install 'stn-plugin\[mp\]'"):
        fetch_mp_elasticity(API_KEY, ["mp-129"])
