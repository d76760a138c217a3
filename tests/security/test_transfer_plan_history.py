"""A's settling judges "may B hold the plan?" from the plan message's whole history, and asks B
about a plan it acknowledged but never confirmed — beside the found cases
(test_found_transfer_settle_last_attempt.py, test_found_transfer_confirmation_lost.py):

- an attempt whose worker died after sending (its lease ran out, never settled) may have
  reached B: a later 4xx does not unlock A's plan;
- once a Task awaits confirmation it keeps waiting: a replay of its plan message that the gate
  holds back on its (new) first attempt does not unlock it, even when the outbox has no
  earlier attempt on record as possibly received (the last one ended it dead, retries spent);
- a plan B acknowledged is asked about only once ``confirm_within`` has passed without a
  confirmation (``IPFHIR_TRANSFER_CONFIRM_SECONDS``), not before;
- two workers settling at once queue the one query: the second is a no-op, not a unique-key
  error (which the worker would take for a database that is away, and pause).
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from ipfhir.adapter.directory import parse_directory
from ipfhir.adapter.directory.build import directory_bundle, organisation_entry
from ipfhir.adapter.fhir.handover import handover_state
from ipfhir.adapter.services.transfer import request, respond
from ipfhir.adapter.sync import transfer_state
from ipfhir.adapter.sync.transfer_state import queries, settle_transfers
from tests.api.transfer_world import B_ORG, PID, A, B, Net, build_net

HOUR = 3600.0


@pytest.fixture
def net(tmp_path: Path) -> Net:
    return build_net(tmp_path)


def _accepted(net: Net) -> str:
    tid = request(
        net.a.wiring, net.a.factory, net.a.directory, sender=A, patient_id=PID, to_org=B_ORG
    ).task_id
    net.deliver(net.a)
    [filed] = [t for t in net.b.tasks() if t.get("status") == "requested"]
    respond(net.b.wiring, net.b.directory, responder=B, task_id=filed["id"], accept=True)
    net.deliver(net.b)  # accepted: A's plan pending, the plan queued
    return str(tid)


def _pending(net: Net, tid: str) -> bool:
    task = dict(net.a.wiring.repository.read("Task", tid))
    [plan] = net.a.plans("active")
    return task["status"] == "in-progress" and handover_state(plan) == "handover-pending"


def test_an_attempt_lost_in_flight_may_have_reached_b(net: Net) -> None:
    tid = _accepted(net)
    [plan] = net.a.outbox.claim(50, lease=0.0)  # sent; the worker dies before it settles
    _status, answer = net.b.receiver.process(A.orgnr, plan.payload)
    assert answer["entry"][0]["resource"]["response"]["code"] == "ok"  # B stored it
    [retry] = net.a.outbox.claim(50)  # the lease ran out: another worker's attempt 2
    assert retry.message_id == plan.message_id and retry.maybe_reached == 1
    net.a.outbox.dead(retry, "HTTP 403: the receiver refused the message")
    settle_transfers(net.a.wiring.repository)
    assert _pending(net, tid)  # never a second active plan beside B's


def test_an_awaiting_task_is_not_unlocked_by_a_replay_held_back_unsent(net: Net) -> None:
    tid = _accepted(net)
    [plan] = net.a.outbox.claim(50)
    net.b.receiver.process(A.orgnr, plan.payload)  # reached B; the answer was lost
    net.a.outbox.dead(plan, "gave up after 1 attempts: no answer: ReadTimeout")
    assert net.a.outbox.get(plan.message_id).maybe_reached == 0  # type: ignore[union-attr]
    settle_transfers(net.a.wiring.repository)
    assert _pending(net, tid)  # awaiting confirmation, B asked
    assert net.a.outbox.replay(plan.message_id)
    moved = "http://127.0.0.1:18099"  # B's endpoint moved in A's directory: the gate holds it
    entry = organisation_entry(
        B.orgnr,
        B.name,
        moved,
        kommunenummer="5501",
        coordinating_unit=True,
        jwks_url=f"{moved}/.well-known/jwks.json",
    )
    net.a.directory.load(parse_directory(directory_bundle(*entry)))
    net.deliver(net.a)
    held = net.a.outbox.get(plan.message_id)
    assert held is not None and held.attempts == 1 and str(held.last_error).startswith("IP-6057")
    settle_transfers(net.a.wiring.repository)
    assert _pending(net, tid)


def test_an_acknowledged_plan_is_asked_about_only_once_b_is_late(net: Net) -> None:
    tid = _accepted(net)
    assert net.deliver(net.a) == 1  # the plan: B stored it; its confirmation not yet sent
    now = time.time()
    for late in (0.0, HOUR, 2 * HOUR - 60):
        settle_transfers(net.a.wiring.repository, now=now + late, confirm_within=2 * HOUR)
    assert queries(net.a.outbox, tid) == []
    settle_transfers(net.a.wiring.repository, now=now + 2 * HOUR + 60, confirm_within=2 * HOUR)
    assert len(queries(net.a.outbox, tid)) == 1
    task = net.a.wiring.repository.read("Task", tid)
    assert task["statusReason"]["text"].startswith("awaiting confirmation")
    assert _pending(net, tid)


def test_two_workers_settling_at_once_queue_one_query(
    net: Net, monkeypatch: pytest.MonkeyPatch
) -> None:
    tid = _accepted(net)
    [plan] = net.a.outbox.claim(50)
    net.a.outbox.dead(plan, "gave up after 8 attempts: no answer: ReadTimeout")
    settle_transfers(net.a.wiring.repository)
    [asked] = queries(net.a.outbox, tid)
    real = transfer_state.queries
    # the second worker read the outbox before the first one's query committed
    monkeypatch.setattr(transfer_state, "queries", lambda _outbox, _tid: [])
    settle_transfers(net.a.wiring.repository)  # no unique-key error
    monkeypatch.setattr(transfer_state, "queries", real)
    assert [m.message_id for m in queries(net.a.outbox, tid)] == [asked.message_id]
    assert len([m for m in net.a.outbox.list() if m.kind == "ip-transfer-query"]) == 1
