"""A third municipality C, routable in both directories, tries to act in a transfer between
A and B: answer for B at A, push a plan into B, and B replays its confirmation. Each is
refused (IP-6095) or changes nothing; the transfer goes on between A and B alone."""

from __future__ import annotations

import copy
import datetime as dt
import uuid
from pathlib import Path
from typing import Any

import pytest

from ipfhir.adapter.directory import parse_directory
from ipfhir.adapter.directory.build import directory_bundle, organisation_entry
from ipfhir.adapter.fhir.handover import handover_state
from ipfhir.adapter.services.transfer import request, respond
from ipfhir.adapter.sync.messaging import TRANSFER_RESPONSE, Party, message_bundle
from ipfhir.adapter.sync.transfer_tasks import task_message
from tests.api.notify_world import ORGNR
from tests.api.transfer_world import A_ORG, B_ORG, PID, A, B, Net, build_net

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


def _code(answer: dict[str, Any]) -> str:
    return str(answer["entry"][0]["resource"]["response"]["code"])


def _b_task(net: Net) -> dict[str, Any]:
    [task] = [t for t in net.b.tasks() if t["code"]["coding"][0]["code"] == "ip-transfer"]
    return task


def _as(source: Party, destination: Party, task: dict[str, Any]) -> dict[str, Any]:
    return message_bundle(
        message_id=str(uuid.uuid4()),
        event=TRANSFER_RESPONSE,
        source=source,
        destination=destination,
        timestamp=dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        resources=[task],
    )


def test_a_third_municipality_cannot_answer_push_or_complete(net: Net) -> None:
    queued = request(
        net.a.wiring, net.a.factory, net.a.directory, sender=A, patient_id=PID, to_org=B_ORG
    )
    net.deliver(net.a)
    # C answers "accepted" for B, at A
    forged = task_message({**_b_task(net), "status": "accepted"})
    _status, answer = net.a.receiver.process(C.orgnr, _as(C, A, forged))
    assert _code(answer) == "fatal-error"
    assert net.a.wiring.repository.read("Task", queued.task_id)["status"] == "requested"
    respond(net.b.wiring, net.b.directory, responder=B, task_id=_b_task(net)["id"], accept=True)
    net.deliver(net.b)
    [plan_message] = net.a.outbox.claim(50)
    # C sends A's plan to B as its own
    pushed = copy.deepcopy(plan_message.payload)
    header = pushed["entry"][0]["resource"]
    header.update(sender=C.reference(), source={"name": C.name, "endpoint": C.endpoint})
    pushed["id"] = header["id"] = str(uuid.uuid4())
    _status, answer = net.b.receiver.process(C.orgnr, pushed)
    assert _code(answer) == "fatal-error" and net.b.plans() == []
    # A's real plan, then B's confirmation twice: the second changes nothing
    _status, answer = net.b.receiver.process(A_ORG, plan_message.payload)
    assert _code(answer) == "ok"
    net.a.outbox.delivered(plan_message, "ok")
    [confirmation] = net.b.outbox.claim(50)
    versions = []
    for _ in range(2):
        _status, answer = net.a.receiver.process(B_ORG, confirmation.payload)
        assert _code(answer) == "ok"
        [old] = net.a.plans()
        assert (old["status"], handover_state(old)) == ("completed", "handed-over")
        task = net.a.wiring.repository.read("Task", queued.task_id)
        versions.append((old["meta"]["versionId"], task["meta"]["versionId"]))
    assert versions[0] == versions[1]
    # C completes at A for B: refused
    done = task_message({**_b_task(net), "status": "completed"})
    _status, answer = net.a.receiver.process(C.orgnr, _as(C, A, done))
    assert _code(answer) == "fatal-error"


def test_b_cannot_decline_after_a_marked_its_plan_pending(net: Net) -> None:
    """B accepted, A marked its plan pending and queued it; B then sends ``rejected``: refused
    (IP-6095), A's Task stays in-progress — B cannot leave the person's plan stuck pending
    with A believing the transfer was declined while the plan is on its way."""
    queued = request(
        net.a.wiring, net.a.factory, net.a.directory, sender=A, patient_id=PID, to_org=B_ORG
    )
    net.deliver(net.a)
    respond(net.b.wiring, net.b.directory, responder=B, task_id=_b_task(net)["id"], accept=True)
    net.deliver(net.b)
    late = task_message(
        {**_b_task(net), "status": "rejected", "statusReason": {"text": "Likevel ikke"}}
    )
    _status, answer = net.a.receiver.process(B_ORG, _as(B, A, late))
    assert _code(answer) == "fatal-error"
    assert net.a.wiring.repository.read("Task", queued.task_id)["status"] == "in-progress"
    [plan] = net.a.plans()
    assert handover_state(plan) == "handover-pending"


def test_an_outsider_asking_learns_nothing_of_a_pending_transfer(net: Net) -> None:
    """``ipfhir transfer request --orgnr <C>`` for a person whose plan is being handed over,
    for a person with a plan and none under way, and for an id nobody holds: the same
    IP-6090 each time (the pid aside)."""
    import json

    from ipfhir.adapter.sync.messages import TransferRefused

    def asked(pid: str) -> str:
        with pytest.raises(TransferRefused) as err:
            request(
                net.a.wiring, net.a.factory, net.a.directory, sender=C, patient_id=pid, to_org=B_ORG
            )
        [issue] = err.value.issues
        return json.dumps(issue.to_fhir(), ensure_ascii=False).replace(pid, "<pid>")

    quiet = asked(PID)
    request(net.a.wiring, net.a.factory, net.a.directory, sender=A, patient_id=PID, to_org=B_ORG)
    net.deliver(net.a)
    respond(net.b.wiring, net.b.directory, responder=B, task_id=_b_task(net)["id"], accept=True)
    net.deliver(net.b)  # A's plan is pending now
    assert handover_state(net.a.plans()[0]) == "handover-pending"
    assert asked(PID) == quiet == asked(str(uuid.uuid4()))
    assert '"IP-6090"' in quiet
