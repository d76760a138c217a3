"""Create, read, vread, update (If-Match), conditional create, delete, history, metadata."""

from __future__ import annotations

import datetime as dt
import random
from typing import Any

from ipfhir.mappings.identifiers import synthetic_fnr
from tests.api.conftest import JSON, careplan, create, message_ids, patient


def test_metadata_is_a_true_capability_statement(client: Any) -> None:
    cs = client.get("/metadata").json()
    assert cs["resourceType"] == "CapabilityStatement"
    assert cs["fhirVersion"] == "4.0.1"
    assert "application/fhir+xml" in cs["format"]
    rest = cs["rest"][0]
    assert {"transaction", "batch"} == {i["code"] for i in rest["interaction"]}
    plan = next(r for r in rest["resource"] if r["type"] == "CarePlan")
    assert plan["supportedProfile"] == [
        "https://ip-fhir-adapter.no/fhir/StructureDefinition/ip-careplan"
    ]
    codes = {i["code"] for i in plan["interaction"]}
    assert {"read", "vread", "update", "create", "search-type", "history-instance"} <= codes
    assert "delete" not in codes  # a plan is never deleted
    assert {"patient", "date", "category", "status", "_id"} <= {
        p["name"] for p in plan["searchParam"]
    }
    assert {"everything", "validate"} <= {o["name"] for o in plan["operation"]}
    audit = next(r for r in rest["resource"] if r["type"] == "AuditEvent")
    assert "create" not in {i["code"] for i in audit["interaction"]}


def test_create_read_vread_update_and_stale_if_match(client: Any) -> None:
    r = client.post("/Patient", json=patient(), headers=JSON)
    assert r.status_code == 201
    pid = r.json()["id"]
    assert r.headers["location"].endswith(f"/Patient/{pid}/_history/1")
    assert r.headers["etag"] == 'W/"1"'
    read = client.get(f"/Patient/{pid}")
    assert read.json()["name"][0]["family"] == "Ørnø-Sámi"
    assert read.headers["etag"] == 'W/"1"'
    changed = {**read.json(), "name": [{"family": "Åsgård"}]}
    r2 = client.put(f"/Patient/{pid}", json=changed, headers={**JSON, "If-Match": 'W/"1"'})
    assert r2.status_code == 200 and r2.json()["meta"]["versionId"] == "2"
    stale = client.put(f"/Patient/{pid}", json=changed, headers={**JSON, "If-Match": 'W/"1"'})
    assert stale.status_code == 412
    assert "IP-4402" in message_ids(stale.json())
    assert client.get(f"/Patient/{pid}").json()["meta"]["versionId"] == "2"
    assert client.get(f"/Patient/{pid}/_history/1").json()["name"][0]["family"] == "Ørnø-Sámi"
    assert client.get(f"/Patient/{pid}/_history/9").status_code == 404
    missing = client.get("/Patient/finnes-ikke")
    assert missing.status_code == 404 and "IP-4201" in message_ids(missing.json())


def test_update_as_create_and_id_mismatch(client: Any) -> None:
    body = {**patient(), "id": "pasient-1"}
    assert client.put("/Patient/pasient-1", json=body, headers=JSON).status_code == 201
    bad = client.put("/Patient/annen", json=body, headers=JSON)
    assert bad.status_code == 400 and "IP-4006" in message_ids(bad.json())


def test_conditional_create(client: Any) -> None:
    p = patient()
    ident = p["identifier"][0]
    cond = {**JSON, "If-None-Exist": f"identifier={ident['system']}|{ident['value']}"}
    first = client.post("/Patient", json=p, headers=cond)
    again = client.post("/Patient", json=p, headers=cond)
    assert (first.status_code, again.status_code) == (201, 200)
    assert first.json()["id"] == again.json()["id"]
    assert client.get("/Patient?_summary=count").json()["total"] == 1


def test_plan_is_never_deleted_but_a_task_may_be(client: Any) -> None:
    pid = create(client, patient())["id"]
    plan = create(client, careplan(pid))
    refused = client.delete(f"/CarePlan/{plan['id']}")
    assert refused.status_code == 405 and "IP-4301" in message_ids(refused.json())
    assert client.get(f"/CarePlan/{plan['id']}").status_code == 200
    task = create(
        client,
        {
            "resourceType": "Task",
            "status": "requested",
            "intent": "order",
            "basedOn": [{"reference": f"CarePlan/{plan['id']}"}],
        },
    )
    assert client.delete(f"/Task/{task['id']}").status_code == 204
    gone = client.get(f"/Task/{task['id']}")
    assert gone.status_code == 410 and "IP-4202" in message_ids(gone.json())
    hist = client.get(f"/Task/{task['id']}/_history").json()
    assert [e["request"]["method"] for e in hist["entry"]] == ["DELETE", "POST"]


def test_audit_event_is_read_only_to_clients(client: Any) -> None:
    event = {
        "resourceType": "AuditEvent",
        "type": {"code": "rest"},
        "recorded": "2024-03-01T10:00:00Z",
        "agent": [{"requestor": True}],
        "source": {"observer": {"display": "Tromsø kommune"}},
    }
    r = client.post("/AuditEvent", json=event, headers=JSON)
    assert r.status_code == 405
    assert client.get("/AuditEvent?_summary=count").json()["total"] == 0


def test_history_instance_and_type_with_paging(client: Any) -> None:
    pid = create(client, patient())["id"]
    current = client.get(f"/Patient/{pid}").json()
    for family in ("Bjørnstad", "Kåsa", "Sárgon"):
        current = client.put(
            f"/Patient/{pid}", json={**current, "name": [{"family": family}]}, headers=JSON
        ).json()
    inst = client.get(f"/Patient/{pid}/_history?_count=2").json()
    assert inst["type"] == "history" and inst["total"] == 4
    assert [e["resource"]["meta"]["versionId"] for e in inst["entry"]] == ["4", "3"]
    nxt = next(link["url"] for link in inst["link"] if link["relation"] == "next")
    page2 = client.get(nxt.replace("http://testserver", "")).json()
    assert [e["resource"]["meta"]["versionId"] for e in page2["entry"]] == ["2", "1"]
    create(client, patient())
    assert client.get("/Patient/_history").json()["total"] == 5


def test_one_active_plan_per_person(client: Any) -> None:
    pid = create(client, patient())["id"]
    first = create(client, careplan(pid))
    second = client.post("/CarePlan", json=careplan(pid), headers=JSON)
    assert second.status_code == 409 and "IP-4401" in message_ids(second.json())
    assert (
        client.post("/CarePlan", json=careplan(pid, status="draft"), headers=JSON).status_code
        == 201
    )
    done = {**first, "status": "completed"}
    assert client.put(f"/CarePlan/{first['id']}", json=done, headers=JSON).status_code == 200
    assert client.post("/CarePlan", json=careplan(pid), headers=JSON).status_code == 201


def test_one_active_plan_per_person_across_patients(client: Any) -> None:
    """Patient ids are scoped to a plan: two Patients with one fødselsnummer are one person, and
    the second active plan is refused as for the same Patient (failed while the guard keyed on
    the Patient id)."""
    fnr = synthetic_fnr(dt.date(1977, 2, 28), random.Random(11))
    first = create(client, patient(fnr))["id"]
    second = create(client, patient(fnr, family="Ånnesdóttir"))["id"]
    create(client, careplan(first))
    again = client.post("/CarePlan", json=careplan(second), headers=JSON)
    assert again.status_code == 409 and "IP-4401" in message_ids(again.json())
    other = create(client, patient())["id"]  # another person keeps their own plan
    assert client.post("/CarePlan", json=careplan(other), headers=JSON).status_code == 201
