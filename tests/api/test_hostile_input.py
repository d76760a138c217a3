"""Hostile input found to answer 500 (issue 10, finding 3): each is now a 4xx OperationOutcome
with a stable message id, an IssueType code and a FHIRPath expression, and stores nothing — or,
where the input is valid FHIR (dates at the calendar's edge), an ordinary answer."""

from __future__ import annotations

import base64
import hashlib
import json
from typing import Any

import pytest
from sqlalchemy import func, select

from ipfhir.adapter.bootstrap import Wiring
from ipfhir.adapter.store.schema import resource_versions
from tests.api.conftest import JSON, create, message_ids, patient

Case = tuple[str, str, Any, int, str, str]


def _tx(*entries: Any, btype: str = "transaction") -> dict[str, Any]:
    return {"resourceType": "Bundle", "type": btype, "entry": list(entries)}


def _post(resource: dict[str, Any], **request: Any) -> dict[str, Any]:
    return {"resource": resource, "request": {"method": "POST", "url": "Patient", **request}}


def _with(**fields: Any) -> dict[str, Any]:
    return {**patient(), **fields}


# (method, url, body, status, message id, expression)
BODIES: list[Case] = [
    ("POST", "/", _tx(_post(patient(), ifMatch=5)), 400, "IP-4111", "request.ifMatch"),
    ("POST", "/", _tx(_post(patient(), ifNoneExist=5)), 400, "IP-4111", "request.ifNoneExist"),
    ("POST", "/", _tx({**_post(patient()), "fullUrl": 5}), 400, "IP-4111", "fullUrl"),
    ("POST", "/", _tx({"request": {"method": 5, "url": []}}), 400, "IP-4111", "request.method"),
    ("POST", "/", {**_tx(), "entry": "abc"}, 400, "IP-4111", "Bundle.entry"),
    ("POST", "/", {**_tx(), "type": ["transaction"]}, 400, "IP-4110", "Bundle.type"),
    ("POST", "/", _tx(None), 400, "IP-4111", "Bundle.entry[0]"),
    (
        "POST",
        "/Patient",
        _with(name=[{"family": "x\ud800"}]),
        400,
        "IP-4010",
        "Patient.name[0].family",
    ),
    ("POST", "/Patient", _with(name=[{"family": "a\x00b"}]), 400, "IP-4010", "Patient.name"),
    ("POST", "/Patient", _with(meta={"profile": 5}), 422, "IP-3004", "Patient.meta.profile"),
    (
        "POST",
        "/Patient",
        _with(maritalStatus={"coding": 5}),
        422,
        "IP-3004",
        "Patient.maritalStatus.coding",
    ),
    (
        "POST",
        "/Patient",
        _with(identifier=[{"system": "urn:x:" + "s" * 300, "value": "1"}]),
        400,
        "IP-4009",
        "Patient.identifier[0].system",
    ),
    (
        "POST",
        "/Patient/$validate",
        {"resourceType": "Parameters", "parameter": 5},
        400,
        "IP-4008",
        "Parameters.parameter",
    ),
    (
        "POST",
        "/Patient/$validate",
        {"resourceType": "Parameters", "parameter": [5]},
        400,
        "IP-4008",
        "Parameters.parameter",
    ),
    ("POST", "/Patient/$validate", _with(meta={"profile": 5}), 200, "IP-3004", ""),
]

QUERIES: list[Case] = [
    ("GET", "/Patient?_count=%C2%B2", None, 400, "IP-4102", "_count"),
    ("GET", "/Patient/_history?_count=%C2%B2", None, 400, "IP-4102", "_count"),
    ("GET", "/Patient/p1/_history/99999999999999999999", None, 404, "IP-4203", "versionId"),
    ("GET", "/Patient/p1/_history/%C2%B2", None, 404, "IP-4203", "versionId"),
    ("GET", "/Patient?identifier=a%00b", None, 400, "IP-4102", "identifier"),
    ("GET", "/Patient/a%00b", None, 400, "IP-4102", "rid"),
    (
        "GET",
        "/Patient?identifier=" + ",".join(str(i) for i in range(1200)),
        None,
        400,
        "IP-4121",
        "identifier",
    ),
    (
        "GET",
        "/Patient?" + "&".join(f"identifier={i}" for i in range(400)),
        None,
        400,
        "IP-4120",
        "identifier",
    ),
]


def _stored(wiring: Wiring) -> int:
    with wiring.engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(resource_versions)).scalar_one())


def _check(r: Any, status: int, message_id: str, expression: str) -> None:
    assert r.status_code == status, r.text[:500]
    outcome = r.json()
    assert outcome["resourceType"] == "OperationOutcome"
    assert message_id in message_ids(outcome), r.text[:500]
    hit = next(i for i in outcome["issue"] if i["details"]["coding"][0]["code"] == message_id)
    assert hit["code"]  # an IssueType
    if expression:
        assert any(expression in e for e in hit.get("expression", [])), hit


@pytest.mark.parametrize(("method", "url", "body", "status", "message_id", "expression"), BODIES)
def test_hostile_bodies_are_refused_and_store_nothing(
    client: Any,
    wiring: Wiring,
    method: str,
    url: str,
    body: Any,
    status: int,
    message_id: str,
    expression: str,
) -> None:
    before = _stored(wiring)
    r = client.request(method, url, content=json.dumps(body).encode(), headers=JSON)
    _check(r, status, message_id, expression)
    assert _stored(wiring) == before


@pytest.mark.parametrize(("method", "url", "body", "status", "message_id", "expression"), QUERIES)
def test_hostile_queries_are_refused(
    client: Any,
    method: str,
    url: str,
    body: Any,
    status: int,
    message_id: str,
    expression: str,
) -> None:
    _check(client.request(method, url), status, message_id, expression)


def test_a_forged_history_page_token_is_refused(client: Any) -> None:
    """The token's fingerprint is computable; what it carries must still be a sequence number
    the database can take."""
    fp = hashlib.sha1(repr(("history", "Patient", None, None)).encode()).hexdigest()[:16]
    for seq in ("²", "9" * 30):
        raw = json.dumps(["n", seq, "", fp]).encode()
        token = base64.urlsafe_b64encode(raw).decode().rstrip("=")
        _check(client.get(f"/Patient/_history?_page_token={token}"), 400, "IP-4105", "_page_token")


def test_dates_at_the_calendars_edge_are_stored_and_found(client: Any) -> None:
    pid = create(client, _with(birthDate="9999-12-31"))["id"]
    found = client.get("/Patient?birthdate=9999-12-31").json()
    assert [e["resource"]["id"] for e in found.get("entry", [])] == [pid]
    assert client.get("/Patient?birthdate=gt9999-12-31").json()["total"] == 0
    for query in (
        "/Patient?_lastUpdated=9999-12-31T23:59-14:00",
        "/Patient?_lastUpdated=0001-01-01T00:00%2B14:00",
        "/Patient/_history?_since=9999-12-31T23:59:59-14:00",
    ):
        r = client.get(query)
        assert r.status_code == 200, (query, r.text[:300])
    assert client.get("/Patient?_lastUpdated=le9999-12-31T23:59-14:00").json()["total"] == 1


def test_a_write_the_answer_cannot_be_rendered_for_is_refused_before_it_is_stored(
    client: Any, wiring: Wiring
) -> None:
    before = _stored(wiring)
    r = client.post("/Patient", json=patient(), headers={**JSON, "Accept": "text/html"})
    assert r.status_code == 406
    assert "IP-4004" in message_ids(r.json())
    assert _stored(wiring) == before
