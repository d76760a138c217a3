"""Settling trusts every open Task coded ``ip-exchange#ip-transfer`` with a ``focus`` as a transfer
this adapter requested (adapter/sync/transfer_state.py, ``open_transfers``). The API cannot write
one (IP-6117, tests/security/test_exchange_tasks_via_api.py); neither may a message: a
notification (``ip-notification``) filed in the inbox is the sender's Task as sent, so one whose
Task also carries the ``ip-transfer`` code, a ``focus`` naming the plan being handed over and a
deadline in the past was settled as an overdue transfer and unlocked that plan. A notification's
Task carries the one code (IP-6075 otherwise) and is filed without a ``focus`` (it points into
the sender's store, never the receiver's)."""

from __future__ import annotations

import datetime as dt
import uuid
from pathlib import Path
from typing import Any

import pytest

from ipfhir.adapter.fhir.handover import handover_state
from ipfhir.adapter.services.transfer import request, respond
from ipfhir.adapter.sync.inbox import TASK_IDENTIFIER_SYSTEM
from ipfhir.adapter.sync.messaging import NOTIFICATION, TRANSFER, code, message_bundle
from ipfhir.adapter.sync.transfer_state import settle_transfers
from ipfhir.mappings.identifiers import FNR_SYSTEM, ORGNR_SYSTEM
from tests.api.transfer_world import B_ORG, PID, A, B, Net, build_net


@pytest.fixture
def net(tmp_path: Path) -> Net:
    return build_net(tmp_path)


def _pending(net: Net) -> dict[str, Any]:
    request(net.a.wiring, net.a.factory, net.a.directory, sender=A, patient_id=PID, to_org=B_ORG)
    net.deliver(net.a)
    [filed] = [t for t in net.b.tasks() if t.get("status") == "requested"]
    respond(net.b.wiring, net.b.directory, responder=B, task_id=filed["id"], accept=True)
    net.deliver(net.b)
    [plan] = net.a.plans("active")
    assert handover_state(plan) == "handover-pending"
    return plan


@pytest.mark.parametrize("extra_code", [True, False])
def test_a_notification_is_never_settled_as_a_transfer(net: Net, extra_code: bool) -> None:
    plan = _pending(net)
    patient = net.a.wiring.repository.read("Patient", PID)
    fnr = [i for i in patient["identifier"] if i.get("system") == FNR_SYSTEM]
    yesterday = (dt.date.today() - dt.timedelta(days=1)).isoformat()
    pid, tid = str(uuid.uuid4()), str(uuid.uuid4())
    coding = code(NOTIFICATION)["coding"] + (code(TRANSFER)["coding"] if extra_code else [])
    task = {
        "resourceType": "Task",
        "id": tid,
        "identifier": [{"system": TASK_IDENTIFIER_SYSTEM, "value": f"urn:uuid:{tid}"}],
        "status": "requested",
        "intent": "proposal",
        "code": {"coding": coding},
        "focus": {"reference": f"CarePlan/{plan['id']}"},
        "for": {"reference": f"urn:uuid:{pid}"},
        "requester": {"identifier": {"system": ORGNR_SYSTEM, "value": B.orgnr}},
        "owner": {"identifier": {"system": ORGNR_SYSTEM, "value": A.orgnr}},
        "description": "Behov for koordinator – Ærøy, Kárášjohka",
        "restriction": {"period": {"end": yesterday}},
    }
    person = {"resourceType": "Patient", "id": pid, "identifier": fnr}
    payload = message_bundle(
        message_id=str(uuid.uuid4()),
        event=NOTIFICATION,
        source=B,
        destination=A,
        timestamp=f"{yesterday}T08:00:00Z",
        resources=[task, person],
    )
    net.a.receiver.process(B.orgnr, payload)
    settle_transfers(net.a.wiring.repository)
    [still] = net.a.plans("active")
    assert handover_state(still) == "handover-pending"
    assert all(
        "focus" not in t
        for t in net.a.tasks()
        if t.get("requester", {}).get("identifier", {}).get("value") == B.orgnr
    )
