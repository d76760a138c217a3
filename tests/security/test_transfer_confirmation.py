"""The plan transfer's last step as A sees it once the plan message has gone (or not): a plan
message that may have reached B keeps A's Task open for B's confirmation; only B's own refusal
(``fatal-error``) lifts the pending mark. Driven over two real stores joined by the real
receivers (``tests/api/transfer_world.py``)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from ipfhir.adapter.fhir.handover import handover_state
from ipfhir.adapter.services.transfer import request, respond, status
from tests.api.transfer_world import B_ORG, PID, A, B, Net, build_net


@pytest.fixture
def net(tmp_path: Path) -> Net:
    return build_net(tmp_path)


def _until_plan_queued(net: Net) -> str:
    queued = request(
        net.a.wiring, net.a.factory, net.a.directory, sender=A, patient_id=PID, to_org=B_ORG
    )
    assert net.deliver(net.a) == 1
    [task] = [t for t in net.b.tasks() if t["code"]["coding"][0]["code"] == "ip-transfer"]
    respond(net.b.wiring, net.b.directory, responder=B, task_id=task["id"], accept=True)
    assert net.deliver(net.b) == 1
    return queued.task_id


def _plan(net: Net) -> Any:
    [plan] = net.a.plans()
    return (plan["status"], handover_state(plan))


def test_a_plan_message_given_up_on_after_it_left_awaits_b(net: Net) -> None:
    tid = _until_plan_queued(net)
    [message] = net.a.outbox.claim(50)
    net.a.outbox.dead(message, "gave up after 8 attempts: no answer: timed out")
    [task] = status(net.a.wiring, tid)
    assert task["status"] == "in-progress"
    assert task["statusReason"]["text"].startswith("awaiting confirmation")
    assert _plan(net) == ("active", "handover-pending")
    version = task["meta"]["versionId"]
    [again] = status(net.a.wiring, tid)  # asked again: nothing new written
    assert again["meta"]["versionId"] == version


@pytest.mark.parametrize(
    "error",
    [
        "the receiver answered fatal-error",  # the worker's words
        f"fatal-error: {json.dumps({'code': 'fatal-error'})}",  # transfer_world's
        "HTTP 403: the receiver refused the message",
    ],
)
def test_b_refusing_the_plan_message_lifts_the_pending_mark(net: Net, error: str) -> None:
    tid = _until_plan_queued(net)
    [message] = net.a.outbox.claim(50)
    net.a.outbox.dead(message, error)
    [task] = status(net.a.wiring, tid)
    assert task["status"] == "failed"
    assert task["statusReason"]["text"].startswith("IP-6097")
    assert _plan(net) == ("active", None)
