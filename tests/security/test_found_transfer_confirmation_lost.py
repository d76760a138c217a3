"""Found: A asks B (``ip-transfer-query``) only when its plan message ended *dead*
(``_failure`` in adapter/sync/transfer_state.py); a plan message that was *delivered* (B
answered ``ok``: stored) but whose confirmation never arrives is never asked about, has no
deadline, and is never settled.

Crash / outage: B stores the plan and queues its confirmation; A is down for maintenance while
B's worker spends its retries (8 attempts, back-off capped at 10 minutes), so B's confirmation
ends dead at B. Nobody at B replays it.

What happens now: A's Task stays ``in-progress`` and A's plan ``handover-pending`` (active,
read-only) for ever — however often and however much later A settles — while B holds the
person's active plan: the handover never completes, and A keeps an active CarePlan next to B's.

What should happen: a plan message B acknowledged without a confirmation within some time is
treated like one that may have reached B: A asks B (``ip-transfer-query``), B re-sends its
confirmation, and A completes.

Also here (settling from a stale copy, adapter/sync/transfer_state.py ``_await``): settling
reads the open Tasks, then writes "awaiting confirmation" over the Task from that copy. B's
confirmation completing the Task in between is overwritten — the Task B confirmed is back
``in-progress`` (and a query goes out) while A's plan is already completed and handed over.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest

from ipfhir.adapter.fhir.handover import handover_state
from ipfhir.adapter.services.transfer import request, respond
from ipfhir.adapter.sync import transfer_state
from ipfhir.adapter.sync.transfer_state import queries, settle_transfers
from tests.api.transfer_world import B_ORG, PID, A, B, Net, build_net

DAY = 86400.0


@pytest.fixture
def net(tmp_path: Path) -> Net:
    return build_net(tmp_path)


def _plan_stored_at_b(net: Net) -> str:
    tid = request(
        net.a.wiring, net.a.factory, net.a.directory, sender=A, patient_id=PID, to_org=B_ORG
    ).task_id
    net.deliver(net.a)
    [filed] = [t for t in net.b.tasks() if t.get("status") == "requested"]
    respond(net.b.wiring, net.b.directory, responder=B, task_id=filed["id"], accept=True)
    net.deliver(net.b)
    return str(tid)


def test_a_delivered_plan_whose_confirmation_died_is_asked_about(net: Net) -> None:
    tid = _plan_stored_at_b(net)
    assert net.deliver(net.a) == 1  # the plan: B answered ok, stored it
    assert len(net.b.plans("active")) == 1
    [confirmation] = net.b.outbox.claim(50)  # A is down: B's retries are spent
    net.b.outbox.dead(confirmation, "gave up after 8 attempts: no answer: ConnectTimeout")
    now = time.time()
    for days in (0, 1, 7, 30):
        settle_transfers(net.a.wiring.repository, now=now + days * DAY)
    asked = queries(net.a.outbox, tid)
    assert asked, "A never asks B about a plan B acknowledged but never confirmed"
    net.deliver(net.a)
    net.deliver(net.b)
    assert net.a.wiring.repository.read("Task", tid)["status"] == "completed"
    assert net.a.plans("active") == []


def test_settling_never_reopens_a_task_confirmed_while_it_settled(
    net: Net, monkeypatch: pytest.MonkeyPatch
) -> None:
    tid = _plan_stored_at_b(net)
    [plan] = net.a.outbox.claim(50)
    _s, answer = net.b.receiver.process(A.orgnr, plan.payload)  # reached B, answer lost
    assert answer["entry"][0]["resource"]["response"]["code"] == "ok"
    net.a.outbox.dead(plan, "gave up after 8 attempts: no answer: ReadTimeout")
    real = transfer_state._failure

    def meanwhile(*args: Any, **kwargs: Any) -> Any:  # B's confirmation arrives meanwhile
        why = real(*args, **kwargs)
        assert net.deliver(net.b) == 1
        return why

    monkeypatch.setattr(transfer_state, "_failure", meanwhile)
    settle_transfers(net.a.wiring.repository)
    monkeypatch.setattr(transfer_state, "_failure", real)
    [completed] = net.a.plans("completed")
    assert handover_state(completed) == "handed-over"
    assert net.a.wiring.repository.read("Task", tid)["status"] == "completed"
    assert queries(net.a.outbox, tid) == []  # nothing to ask: B confirmed
