"""Found: settling judges "could the plan have reached B?" from the plan message's *last*
attempt only (``refused_unsent(message.last_error, message.attempts)`` in
adapter/sync/transfer_state.py).

Attack (no malice needed — a crash/race of the network): A's ``ip-transfer-plan`` reaches B on
an early attempt; B stores the plan as the person's active plan and queues its confirmation,
but B's answer to A is lost (read timeout), so A's worker retries. The retry is refused with an
HTTP 4xx (B's proxy or token check refuses it: "HTTP 403: the receiver refused the message"),
or — after an operator replays the dead plan message (attempts reset to 0) — A's own gate holds
the replay back on its first attempt (an endpoint suspended meanwhile: IP-6057).

What happens now: ``settle_transfers`` sees "dead, refused / held back unsent" and fails A's
Task with IP-6097 and lifts the ``handover-pending`` mark: A's plan is active and writable
again while B holds the person's active plan too — two active plans — and B's confirmation,
when it arrives, is refused (the Task is failed).

What should happen: a plan message that was attempted and may have reached B on any earlier
attempt keeps the Task awaiting confirmation and the plan pending; A asks B
(``ip-transfer-query``) and lifts only on B's "not stored".
"""

from __future__ import annotations

import random
import time
from pathlib import Path
from typing import Any

import pytest

from ipfhir.adapter.directory import parse_directory
from ipfhir.adapter.directory.build import directory_bundle, organisation_entry
from ipfhir.adapter.fhir.handover import handover_state
from ipfhir.adapter.services.transfer import request, respond
from ipfhir.adapter.sync.policy import Attempt, RetryPolicy, judge
from ipfhir.adapter.sync.transfer_state import settle_transfers
from tests.api.transfer_world import B_ORG, PID, A, B, Net, build_net


@pytest.fixture
def net(tmp_path: Path) -> Net:
    return build_net(tmp_path)


def _code(answer: dict[str, Any]) -> str:
    return str(answer["entry"][0]["resource"]["response"]["code"])


def _accepted(net: Net) -> str:
    queued = request(
        net.a.wiring, net.a.factory, net.a.directory, sender=A, patient_id=PID, to_org=B_ORG
    )
    net.deliver(net.a)
    [task] = [t for t in net.b.tasks() if t.get("status") == "requested"]
    respond(net.b.wiring, net.b.directory, responder=B, task_id=task["id"], accept=True)
    net.deliver(net.b)
    return str(queued.task_id)


def _first_attempt_reaches_b_answer_lost(net: Net) -> Any:
    """Attempt 1 of the plan message: B stores it (and its confirmation is stuck at B); A's
    worker gets no answer (read timeout) and schedules a retry."""
    [plan] = net.a.outbox.claim(50)
    assert plan.kind == "ip-transfer-plan" and plan.attempts == 1
    _status, answer = net.b.receiver.process(A.orgnr, plan.payload)
    assert _code(answer) == "ok"
    assert len(net.b.plans("active")) == 1  # B holds the person's active plan now
    [confirmation] = net.b.outbox.claim(50)
    net.b.outbox.retry(confirmation, "no answer: ConnectTimeout", 3600.0)  # delayed at B
    lost = judge(
        Attempt(error="ReadTimeout: lest ikke svar innen 30 s"),
        plan.message_id,
        1,
        RetryPolicy(),
        random.Random(1),
        time.time(),
    )
    assert lost.verdict == "retry"
    net.a.outbox.retry(plan, lost.reason, 0.0)
    return plan


def _assert_still_pending(net: Net, tid: str) -> None:
    task = dict(net.a.wiring.repository.read("Task", tid))
    assert task["status"] == "in-progress", task.get("statusReason")
    [plan] = net.a.plans("active")
    assert handover_state(plan) == "handover-pending"


def test_a_4xx_on_a_retry_after_the_plan_reached_b_does_not_unlock_as_plans(net: Net) -> None:
    tid = _accepted(net)
    plan = _first_attempt_reaches_b_answer_lost(net)
    [retry] = net.a.outbox.claim(50)
    assert retry.message_id == plan.message_id and retry.attempts == 2
    refused = judge(
        Attempt(403, "Forbidden – avvist av proxy"),
        retry.message_id,
        2,
        RetryPolicy(),
        random.Random(1),
        time.time(),
    )
    assert refused.verdict == "dead"
    net.a.outbox.dead(retry, refused.reason)
    settle_transfers(net.a.wiring.repository)
    # B stored the plan on attempt 1: A must not hold a second writable active plan
    _assert_still_pending(net, tid)


def test_a_replay_held_back_by_the_gate_does_not_unlock_as_plan(net: Net) -> None:
    tid = _accepted(net)
    plan = _first_attempt_reaches_b_answer_lost(net)
    for _ in range(7):  # every further attempt times out
        [again] = net.a.outbox.claim(50)
        net.a.outbox.retry(again, "no answer: ReadTimeout", 0.0)
    [last] = net.a.outbox.claim(50)
    net.a.outbox.dead(last, "gave up after 8 attempts: no answer: ReadTimeout")
    settle_transfers(net.a.wiring.repository)
    _assert_still_pending(net, tid)  # as designed so far: awaiting confirmation
    # the operator replays the dead plan message; B's endpoint changed in A's
    # directory meanwhile (moved), so A's gate holds the replay back on its (new) first attempt
    assert net.a.outbox.replay(plan.message_id)
    moved = "http://127.0.0.1:18099"
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
    assert held is not None and held.status == "dead" and held.attempts == 1
    assert str(held.last_error).startswith("IP-6057")
    settle_transfers(net.a.wiring.repository)
    # earlier attempts may have reached B (they did): still pending, never two active plans
    _assert_still_pending(net, tid)
