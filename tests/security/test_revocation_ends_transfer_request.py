"""A consent withdrawn while A's plan transfer request waits at B: A queues the revocation
notice to B (adapter/services/revoke.py), and on that same transaction A's own open transfer
Task to B for that person is failed with IP-6110 — it never stays ``requested`` forever, and a
late acceptance from B changes nothing. (A plan already accepted and queued is stopped by the
send-time gate: tests/api/test_transfer.py::test_consent_withdrawn_after_the_plan_was_queued_
stops_it.)"""

from __future__ import annotations

import copy
from pathlib import Path

import pytest

from ipfhir.adapter.consent.policy import OWNER_ROLE
from ipfhir.adapter.fhir.handover import handover_state
from ipfhir.adapter.ports import Actor
from ipfhir.adapter.services.transfer import request
from ipfhir.mappings.codes import ext_url
from tests.api.transfer_world import A_ORG, B_ORG, PID, A, Net, build_net


@pytest.fixture
def net(tmp_path: Path) -> Net:
    return build_net(tmp_path)


def _withdraw(net: Net) -> None:
    owner = Actor(organisation=A_ORG, roles=(OWNER_ROLE,), scopes=("system/*.cruds",))
    repo = net.a.factory.repository_for(owner)
    consent = copy.deepcopy(repo.read("Consent", "ip1-sharing"))
    consent["status"] = "inactive"
    consent["extension"] = [{"url": ext_url("ip-consent-revoked"), "valueDate": "2026-11-30"}]
    repo.update("Consent", "ip1-sharing", consent)


def test_the_revocation_fails_a_waiting_transfer_request_on_its_transaction(net: Net) -> None:
    queued = request(
        net.a.wiring, net.a.factory, net.a.directory, sender=A, patient_id=PID, to_org=B_ORG
    )
    assert net.deliver(net.a) == 1
    _withdraw(net)
    assert "ip-revocation" in [m.kind for m in net.a.outbox.list(status="queued")]
    task = net.a.wiring.repository.read("Task", queued.task_id)
    assert task["status"] == "failed"
    assert task["statusReason"]["text"].startswith("IP-6110: ")
    assert B_ORG in task["statusReason"]["text"]
    [plan] = net.a.plans("active")
    assert handover_state(plan) is None
    net.deliver(net.a)  # B cancels its waiting request
    statuses = [
        t["status"] for t in net.b.tasks() if t["code"]["coding"][0]["code"] == "ip-transfer"
    ]
    assert statuses == ["cancelled"]


def test_a_request_not_yet_sent_is_failed_and_never_leaves(net: Net) -> None:
    queued = request(
        net.a.wiring, net.a.factory, net.a.directory, sender=A, patient_id=PID, to_org=B_ORG
    )
    _withdraw(net)
    task = net.a.wiring.repository.read("Task", queued.task_id)
    assert task["status"] == "failed" and task["statusReason"]["text"].startswith("IP-6110: ")
    net.deliver(net.a)
    [sent] = [m for m in net.a.outbox.list() if m.kind == "ip-transfer"]
    assert sent.status == "dead"  # held back at the gate: nothing of the request reaches B
    assert net.b.tasks() == [] or all(
        t["code"]["coding"][0]["code"] != "ip-transfer" for t in net.b.tasks()
    )
