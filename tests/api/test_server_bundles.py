"""Transaction (atomic, urn:uuid rewriting) and batch Bundles, $validate, racing plan creates."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import Any

from ipfhir.adapter.bootstrap import Wiring
from ipfhir.adapter.errors import Conflict
from tests.api.conftest import JSON, careplan, create, message_ids, patient


def _tx(entries: list[dict[str, Any]], btype: str = "transaction") -> dict[str, Any]:
    return {"resourceType": "Bundle", "type": btype, "entry": entries}


def _post(resource: dict[str, Any], full_url: str | None = None) -> dict[str, Any]:
    e: dict[str, Any] = {
        "resource": resource,
        "request": {"method": "POST", "url": resource["resourceType"]},
    }
    if full_url:
        e["fullUrl"] = full_url
    return e


def test_transaction_rewrites_urn_uuid_references(client: Any) -> None:
    pat_urn = "urn:uuid:5b2f8a4e-7c1d-4e5f-9a0b-1c2d3e4f5a6b"
    goal_urn = "urn:uuid:6c3f9b5f-8d2e-4f60-ab1c-2d3e4f5a6b7c"
    goal = {
        "resourceType": "Goal",
        "lifecycleStatus": "active",
        "description": {"text": "Å klare meg selv på Tromsø"},
        "subject": {"reference": pat_urn},
    }
    plan = {**careplan("x"), "subject": {"reference": pat_urn}, "goal": [{"reference": goal_urn}]}
    r = client.post(
        "/", json=_tx([_post(plan), _post(goal, goal_urn), _post(patient(), pat_urn)]), headers=JSON
    )
    assert r.status_code == 200, r.text
    out = r.json()
    assert out["type"] == "transaction-response"
    assert [e["response"]["status"] for e in out["entry"]] == ["201 Created"] * 3
    plan_id = out["entry"][0]["resource"]["id"]
    pid = out["entry"][2]["resource"]["id"]
    stored = client.get(f"/CarePlan/{plan_id}").json()
    assert stored["subject"]["reference"] == f"Patient/{pid}"
    assert stored["goal"][0]["reference"].startswith("Goal/")
    assert client.get(f"/CarePlan?patient={pid}").json()["total"] == 1


def test_failed_transaction_rolls_back_everything(client: Any) -> None:
    pid = create(client, patient())["id"]
    create(client, careplan(pid))
    # second entry breaks "one active plan per person" inside the store → nothing is kept
    bundle = _tx([_post(patient(family="Kvænangen")), _post(careplan(pid))])
    r = client.post("/", json=bundle, headers=JSON)
    assert r.status_code == 409
    assert message_ids(r.json())[:2] == ["IP-4112", "IP-4401"]
    assert client.get("/Patient?_summary=count").json()["total"] == 1
    invalid = _tx([_post(patient(family="Hålogaland")), _post({"resourceType": "Goal"})])
    r2 = client.post("/", json=invalid, headers=JSON)
    assert r2.status_code == 422
    assert client.get("/Patient?_summary=count").json()["total"] == 1
    assert client.get("/Goal?_summary=count").json()["total"] == 0


def test_batch_entries_succeed_or_fail_alone(client: Any) -> None:
    bundle = _tx(
        [
            _post(patient()),
            _post({"resourceType": "Goal"}),
            {"request": {"method": "DELETE", "url": "CarePlan/abc"}},
        ],
        "batch",
    )
    out = client.post("/", json=bundle, headers=JSON).json()
    statuses = [e["response"]["status"] for e in out["entry"]]
    assert statuses[0] == "201 Created" and statuses[1:] == ["422", "405"]
    assert client.get("/Patient?_summary=count").json()["total"] == 1


def test_validate_operation_uses_the_validator(client: Any) -> None:
    good = client.post("/Patient/$validate", json=patient(), headers=JSON)
    assert good.status_code == 200
    assert all(i["severity"] not in ("error", "fatal") for i in good.json()["issue"])
    bad = client.post("/Goal/$validate", json={"resourceType": "Goal"}, headers=JSON)
    assert bad.status_code == 200
    assert any(i["severity"] == "error" for i in bad.json()["issue"])
    assert client.get("/Goal?_summary=count").json()["total"] == 0


def test_invalid_resource_is_refused_and_nothing_stored(client: Any) -> None:
    r = client.post("/CarePlan", json={"resourceType": "CarePlan", "status": "aktiv"}, headers=JSON)
    assert r.status_code == 422
    ids = message_ids(r.json())
    assert ids[0] == "IP-4501" and any(i.startswith("IP-3") for i in ids[1:])
    assert client.get("/CarePlan?_summary=count").json()["total"] == 0


def test_racing_plan_creates_for_one_person(client: Any, wiring: Wiring) -> None:
    pid = create(client, patient())["id"]
    repo = wiring.repository

    def attempt(_: int) -> str:
        try:
            repo.create(careplan(pid))
            return "created"
        except Conflict as err:
            assert err.issues[0].message_id == "IP-4401"
            return "conflict"

    with ThreadPoolExecutor(max_workers=6) as pool:
        results = list(pool.map(attempt, range(6)))
    assert results.count("created") == 1 and results.count("conflict") == 5
    assert client.get(f"/CarePlan?patient={pid}&status=active").json()["total"] == 1
