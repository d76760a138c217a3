"""The plan transfer's messages played by an attacker against the real receivers (two SQLite
stores, ``tests/api/transfer_world.py``): a third municipality in both directories cannot answer
for B or push a plan nobody accepted; the sending municipality cannot reach into B's store
through the plan it sends, nor carry more than a plan, nor freeze B's copy; and whatever is
refused is answered fatal-error with IP-6095 and changes nothing."""

from __future__ import annotations

import copy
import json
import uuid
from pathlib import Path
from typing import Any

import pytest

from ipfhir.adapter.directory import parse_directory
from ipfhir.adapter.directory.build import directory_bundle, organisation_entry
from ipfhir.adapter.fhir.handover import handover_state
from ipfhir.adapter.services.transfer import request, respond
from ipfhir.adapter.sync.messaging import Party, code, message_bundle
from tests.api.notify_world import ORGNR
from tests.api.transfer_world import B_ORG, PID, A, B, Net, build_net

C = Party(ORGNR["annen"], "Annen kommune – koordinerende enhet", "http://127.0.0.1:18093")


@pytest.fixture
def net(tmp_path: Path) -> Net:
    net = build_net(tmp_path)
    entry = organisation_entry(
        C.orgnr,
        C.name,
        C.endpoint,
        kommunenummer="1103",
        coordinating_unit=True,
        jwks_url=f"{C.endpoint}/.well-known/jwks.json",
    )
    for side in (net.a, net.b):
        side.directory.load(parse_directory(directory_bundle(*entry)))
    return net


def _requested(net: Net) -> Any:
    queued = request(
        net.a.wiring, net.a.factory, net.a.directory, sender=A, patient_id=PID, to_org=B_ORG
    )
    net.deliver(net.a)
    return queued


def _accepted(net: Net) -> Any:
    queued = _requested(net)
    [task] = net.b.tasks()
    respond(net.b.wiring, net.b.directory, responder=B, task_id=task["id"], accept=True)
    net.deliver(net.b)
    return queued


def _code(answer: dict[str, Any]) -> tuple[str, list[str]]:
    header = answer["entry"][0]["resource"]
    ids = [
        i["details"]["coding"][0]["code"]
        for e in answer["entry"][1:]
        for i in e["resource"].get("issue", [])
    ]
    return header["response"]["code"], ids


def _message(source: Party, to: Party, event: str, resources: list[dict[str, Any]]) -> Any:
    return message_bundle(
        message_id=str(uuid.uuid4()),
        event=event,
        source=source,
        destination=to,
        timestamp="2026-12-01T10:00:00Z",
        resources=resources,
    )


def test_only_the_asked_municipality_answers_a_transfer(net: Net) -> None:
    queued = _requested(net)
    forged = {
        "resourceType": "Task",
        "id": str(uuid.uuid4()),
        "identifier": [{"system": "urn:ietf:rfc:3986", "value": f"urn:uuid:{queued.task_id}"}],
        "status": "accepted",
        "intent": "proposal",
        "code": code("ip-transfer"),
    }
    status, answer = net.a.receiver.process(
        C.orgnr, _message(C, A, "ip-transfer-response", [forged])
    )
    assert status == 200 and _code(answer) == ("fatal-error", ["IP-6095"])
    task = net.a.wiring.repository.read("Task", queued.task_id)
    assert task["status"] == "requested"
    assert [m.kind for m in net.a.outbox.list()] == ["ip-transfer"]  # no plan went anywhere
    assert handover_state(net.a.wiring.repository.read("CarePlan", "ip1")) is None


def test_no_plan_lands_without_an_acceptance(net: Net) -> None:
    queued = _requested(net)  # B has not answered
    plan = {
        "resourceType": "CarePlan",
        "id": str(uuid.uuid4()),
        "status": "active",
        "intent": "plan",
    }
    patient = {"resourceType": "Patient", "id": str(uuid.uuid4())}
    task = {
        "resourceType": "Task",
        "id": str(uuid.uuid4()),
        "identifier": [{"system": "urn:ietf:rfc:3986", "value": f"urn:uuid:{queued.task_id}"}],
        "status": "in-progress",
        "intent": "proposal",
        "code": code("ip-transfer"),
        "for": {"reference": f"urn:uuid:{patient['id']}"},
    }
    for sender in (A, C):
        message = _message(sender, B, "ip-transfer-plan", [task, patient, plan])
        status, answer = net.b.receiver.process(sender.orgnr, message)
        assert status == 200 and _code(answer) == ("fatal-error", ["IP-6095"])
    assert net.b.plans() == []


def _plan_message(net: Net) -> dict[str, Any]:
    _accepted(net)
    [_request, plan] = net.a.outbox.list()
    assert plan.kind == "ip-transfer-plan"
    return copy.deepcopy(plan.payload)


def _with_new_id(message: dict[str, Any]) -> dict[str, Any]:
    fresh = str(uuid.uuid4())
    message["id"] = message["entry"][0]["resource"]["id"] = fresh
    message["entry"][0]["fullUrl"] = f"urn:uuid:{fresh}"
    return message


def test_a_plan_carries_a_plan_and_nothing_else(net: Net) -> None:
    message = _with_new_id(_plan_message(net))
    smuggled = {"resourceType": "Task", "id": str(uuid.uuid4()), "status": "requested"}
    message["entry"].append({"fullUrl": f"urn:uuid:{smuggled['id']}", "resource": smuggled})
    status, answer = net.b.receiver.process(A.orgnr, message)
    assert status == 200 and _code(answer) == ("fatal-error", ["IP-6095"])
    assert net.b.plans() == []


def test_the_sender_cannot_point_into_the_receivers_store_or_freeze_its_copy(net: Net) -> None:
    message = _plan_message(net)
    [own_patient] = net.b.search("Patient")
    careplan = next(
        e["resource"] for e in message["entry"] if e["resource"]["resourceType"] == "CarePlan"
    )
    careplan["activity"][0]["detail"]["performer"] = [
        {"reference": f"Patient/{own_patient['id']}"},
        {"reference": "https://elsewhere.example/Organization/1"},
    ]
    careplan["meta"] = {
        **careplan.get("meta", {}),
        "tag": [
            {
                "system": "https://ip-fhir-adapter.no/fhir/CodeSystem/ip-exchange",
                "code": "handed-over",
            }
        ],
    }
    status, answer = net.b.receiver.process(A.orgnr, message)
    assert status == 200 and _code(answer) == ("ok", [])
    [stored] = net.b.plans("active")
    text = json.dumps(stored)
    assert own_patient["id"] not in json.dumps(stored["activity"]) and "elsewhere" not in text
    assert handover_state(stored) is None  # B's copy is B's to write
