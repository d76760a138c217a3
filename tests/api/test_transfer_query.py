""" "Awaiting confirmation" resolved safely (``ip-transfer-query``, adapter/sync/transfer_state.py
asks, adapter/sync/transfer_inbox.py answers, adapter/sync/transfer_back.py acts on the
answer): A's plan message died but may have reached B, so A asks B. B answers from its own
records — it stored the plan: its confirmation again, and A completes as on any confirmation;
it did not: B closes its side in the same transaction (a plan arriving later is refused) and
says so, and only then is A's plan writable again, the Task failed with IP-6105. Only the
organisation A asked gets an answer from B's side that says anything: a third party asking
about the transfer is answered exactly as for an unknown transfer."""

from __future__ import annotations

import copy
import datetime as dt
import time
import uuid
from pathlib import Path
from typing import Any

import pytest

from ipfhir.adapter.directory import parse_directory
from ipfhir.adapter.directory.build import directory_bundle, organisation_entry
from ipfhir.adapter.fhir.handover import handover_state
from ipfhir.adapter.services.transfer import request, respond
from ipfhir.adapter.sync.messaging import TRANSFER_QUERY, TRANSFER_RESPONSE, Party, message_bundle
from ipfhir.adapter.sync.transfer_state import (
    QUERY_BACKOFF,
    queries,
    query_id,
    settle_transfers,
)
from ipfhir.adapter.sync.transfer_tasks import task_message
from tests.api.notify_world import ORGNR
from tests.api.transfer_world import B_ORG, PID, A, B, Net, build_net

C = Party(ORGNR["annen"], "Annen kommune – koordinerende enhet", "http://127.0.0.1:18093")
TIMEOUT = "gave up after 8 attempts: ReadTimeout: lest ikke svar innen 30 s"


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


def _issues(answer: dict[str, Any]) -> Any:
    return [e["resource"]["issue"] for e in answer["entry"][1:]]


def _accepted(net: Net) -> str:
    """The transfer under way: B accepted, A's plan pending and its plan message queued."""
    queued = request(
        net.a.wiring, net.a.factory, net.a.directory, sender=A, patient_id=PID, to_org=B_ORG
    )
    net.deliver(net.a)
    [task] = [t for t in net.b.tasks() if t.get("status") == "requested"]
    respond(net.b.wiring, net.b.directory, responder=B, task_id=task["id"], accept=True)
    net.deliver(net.b)
    return str(queued.task_id)


def _plan_lost(net: Net, reached_b: bool) -> None:
    """A's plan message ends dead after timeouts; it reached B (whose confirmation is lost
    too) or not."""
    [plan] = net.a.outbox.claim(50)
    assert plan.kind == "ip-transfer-plan"
    if reached_b:
        _status, answer = net.b.receiver.process(A.orgnr, plan.payload)
        assert _code(answer) == "ok"
        [confirmation] = net.b.outbox.claim(50)
        net.b.outbox.dead(confirmation, "gave up after 8 attempts: ConnectTimeout")
    net.a.outbox.dead(plan, TIMEOUT)


def _a_task(net: Net, tid: str) -> dict[str, Any]:
    return dict(net.a.wiring.repository.read("Task", tid))


def _b_transfer(net: Net) -> dict[str, Any]:
    [task] = [t for t in net.b.tasks() if t["code"]["coding"][0]["code"] == "ip-transfer"]
    return task


def test_b_that_stored_the_plan_confirms_again_and_a_completes(net: Net) -> None:
    tid = _accepted(net)
    _plan_lost(net, reached_b=True)
    assert settle_transfers(net.a.wiring.repository) == []
    assert _a_task(net, tid)["status"] == "in-progress"
    [query] = net.a.outbox.list(status="queued")
    assert query.kind == TRANSFER_QUERY and query.message_id == query_id(tid, 1)
    assert "Patient" not in str(query.payload)  # the query carries nothing of the person
    assert net.deliver(net.a) == 1
    assert net.deliver(net.b) == 1  # B's answer: the confirmation again
    task = _a_task(net, tid)
    assert task["status"] == "completed"
    assert net.a.plans("active") == []
    assert handover_state(net.a.plans("completed")[0]) == "handed-over"
    assert len(net.b.plans("active")) == 1


def test_b_that_did_not_store_it_closes_its_side_first_then_a_lifts_the_mark(net: Net) -> None:
    tid = _accepted(net)
    _plan_lost(net, reached_b=False)
    settle_transfers(net.a.wiring.repository)
    assert handover_state(net.a.plans("active")[0]) == "handover-pending"
    assert net.deliver(net.a) == 1  # the query: B closes its side
    closed = _b_transfer(net)
    assert closed["status"] == "failed"
    assert closed["statusReason"]["text"].startswith("IP-6104: ")
    assert handover_state(net.a.plans("active")[0]) == "handover-pending"  # not before B said so
    assert net.deliver(net.b) == 1  # B's answer: not stored
    task = _a_task(net, tid)
    assert task["status"] == "failed" and task["statusReason"]["text"].startswith("IP-6105: ")
    [plan] = net.a.plans("active")
    assert handover_state(plan) is None
    # the plan message replayed at A is held back by A's gate (the Task is failed) ...
    plan_message = [m for m in net.a.outbox.list() if m.kind == "ip-transfer-plan"][0]
    assert net.a.outbox.replay(plan_message.message_id)
    net.deliver(net.a)
    held = net.a.outbox.get(plan_message.message_id)
    assert held is not None and str(held.last_error).startswith("IP-6109: ")
    # ... and, arriving late at B all the same, it is refused there: nothing stored
    _s, late = net.b.receiver.process(A.orgnr, plan_message.payload)
    assert _code(late) == "fatal-error" and "IP-6095" in str(late)
    assert net.b.plans() == []
    assert _b_transfer(net)["status"] == "failed"


def test_a_repeated_query_gets_the_first_answer_and_no_second_reply(net: Net) -> None:
    _accepted(net)
    _plan_lost(net, reached_b=False)
    settle_transfers(net.a.wiring.repository)
    [query] = net.a.outbox.claim(50)
    _s, first = net.b.receiver.process(A.orgnr, query.payload)
    _s, again = net.b.receiver.process(A.orgnr, query.payload)
    assert first == again and _code(first) == "ok"
    assert len(net.b.outbox.list(status="queued")) == 1  # one "not stored" answer


def test_a_dead_query_is_asked_again_after_a_back_off(net: Net) -> None:
    tid = _accepted(net)
    _plan_lost(net, reached_b=False)
    repository = net.a.wiring.repository
    now = time.time()
    settle_transfers(repository, now=now)
    settle_transfers(repository, now=now + 10)  # under way: not asked twice
    [query] = net.a.outbox.claim(50)
    net.a.outbox.dead(query, "gave up after 8 attempts: HTTP 503")
    settle_transfers(repository, now=now + 20)
    assert len(queries(net.a.outbox, tid)) == 1  # the back-off has not passed
    settle_transfers(repository, now=time.time() + QUERY_BACKOFF + 1)
    assert [q.message_id for q in queries(net.a.outbox, tid)] == [
        query_id(tid, 1),
        query_id(tid, 2),
    ]
    assert handover_state(net.a.plans("active")[0]) == "handover-pending"


def _query_as(source: Party, task: dict[str, Any]) -> dict[str, Any]:
    return message_bundle(
        message_id=str(uuid.uuid4()),
        event=TRANSFER_QUERY,
        source=source,
        destination=B,
        timestamp=dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        resources=[task],
    )


def test_a_third_party_asking_is_answered_as_for_an_unknown_transfer(net: Net) -> None:
    _accepted(net)
    _plan_lost(net, reached_b=False)
    settle_transfers(net.a.wiring.repository)
    [query] = net.a.outbox.claim(50)
    asked = copy.deepcopy(
        [e["resource"] for e in query.payload["entry"] if e["resource"]["resourceType"] == "Task"][
            0
        ]
    )
    by_c = copy.deepcopy(asked)
    by_c["requester"] = C.reference()
    _s, third = net.b.receiver.process(C.orgnr, _query_as(C, by_c))
    unknown = copy.deepcopy(by_c)
    unknown["identifier"][0]["value"] = f"urn:uuid:{uuid.uuid4()}"
    _s, nothing = net.b.receiver.process(C.orgnr, _query_as(C, unknown))
    assert _code(third) == _code(nothing) == "fatal-error"
    assert _issues(third) == _issues(nothing)
    assert _b_transfer(net)["status"] == "accepted"  # nothing closed for C
    assert net.b.outbox.list(status="queued") == []  # and nothing told C


def test_a_refuses_not_stored_it_never_asked_for(net: Net) -> None:
    tid = _accepted(net)
    [plan] = net.a.outbox.claim(50)
    net.a.outbox.dead(plan, TIMEOUT)  # no settling yet: nothing asked
    told = task_message({**_b_transfer(net), "status": "failed"})
    told.pop("input", None)
    forged = message_bundle(
        message_id=str(uuid.uuid4()),
        event=TRANSFER_RESPONSE,
        source=B,
        destination=A,
        timestamp=dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        resources=[told],
    )
    _s, answer = net.a.receiver.process(B.orgnr, forged)
    assert _code(answer) == "fatal-error"
    assert "IP-6095" in str(answer)
    assert _a_task(net, tid)["status"] == "in-progress"
    assert handover_state(net.a.plans("active")[0]) == "handover-pending"
