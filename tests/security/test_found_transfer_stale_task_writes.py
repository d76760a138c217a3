"""Found: the transfer's state changes at A write the Task from a copy read *before* their
write transaction and never look at it again inside it — a check-then-act race between two
things that legitimately happen at once at A (B's answer arriving, the operator's
``transfer abandon``, a revocation ending the request, IP-6110).

1. B's "accepted" (adapter/sync/transfer_back.py ``apply_answer`` → ``_accepted``) reads A's
   Task (``requested``) and the plan as B may see it, then, in the receiver's transaction,
   writes the Task ``in-progress`` from that copy, marks the plan pending and queues the plan.
   Attack/race: the operator abandons the transfer (IP-6108) — or a revocation notice ends the
   request (IP-6110) — after the read and before that transaction. What happens now: the
   abandoned/ended Task comes back ``in-progress``, the plan is read-only again and the plan
   message is queued (the send-time gate lets it go: the Task is open again). What should
   happen: the transaction sees the Task is no longer ``requested`` and changes nothing (B is
   answered like a late answer), the plan stays writable and nothing is queued.

2. ``ipfhir transfer abandon`` (adapter/services/transfer.py) checks that the Task is open, then
   ``lift`` writes it ``failed`` from the copy it read. Race: B's confirmation completes the
   transfer in between. What happens now: the Task B confirmed is ``failed`` (IP-6108) although
   A's plan is completed and handed over — and the operator is told the plan is writable again.
   What should happen: the abandon is refused as for a closed transfer (IP-6107); the Task stays
   ``completed``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from ipfhir.adapter.fhir.handover import handover_state
from ipfhir.adapter.services import transfer as transfer_service
from ipfhir.adapter.services.transfer import abandon, request, respond
from ipfhir.adapter.sync import transfer_back
from ipfhir.adapter.sync.messages import TransferRefused
from ipfhir.adapter.sync.transfer_state import end_requests
from tests.api.transfer_world import B_ORG, PID, A, B, Net, build_net

WHY = "Romsa har lagt ned tjenesten – vi beholder planen i Bærum"


@pytest.fixture
def net(tmp_path: Path) -> Net:
    return build_net(tmp_path)


def _a_task(net: Net, tid: str) -> dict[str, Any]:
    return dict(net.a.wiring.repository.read("Task", tid))


def _ended_by_operator(net: Net, tid: str) -> None:
    abandon(net.a.wiring, orgnr=A.orgnr, task_id=tid, why=WHY)


def _ended_by_revocation(net: Net, _tid: str) -> None:
    with net.a.wiring.repository.begin_write() as conn:  # as adapter/services/revoke.py does
        end_requests(conn, f"Patient/{PID}", B_ORG, "IP-6110: samtykket er trukket tilbake")


@pytest.mark.parametrize("end", [_ended_by_operator, _ended_by_revocation])
def test_an_accept_racing_the_end_of_the_request_does_not_revive_it(
    net: Net, monkeypatch: pytest.MonkeyPatch, end: Any
) -> None:
    tid = request(
        net.a.wiring, net.a.factory, net.a.directory, sender=A, patient_id=PID, to_org=B_ORG
    ).task_id
    net.deliver(net.a)
    [filed] = [t for t in net.b.tasks() if t.get("status") == "requested"]
    respond(net.b.wiring, net.b.directory, responder=B, task_id=filed["id"], accept=True)
    real = transfer_back.carried_plan

    def meanwhile(seen: Any) -> Any:  # the request ends while A reads the plan for B
        end(net, tid)
        assert _a_task(net, tid)["status"] == "failed"
        return real(seen)

    monkeypatch.setattr(transfer_back, "carried_plan", meanwhile)
    net.deliver(net.b)  # B's "accepted"
    monkeypatch.setattr(transfer_back, "carried_plan", real)
    assert _a_task(net, tid)["status"] == "failed"  # ended stays ended
    [plan] = net.a.plans("active")
    assert handover_state(plan) is None  # writable, as the operator / revocation left it
    assert [m.kind for m in net.a.outbox.list(status="queued")] == []
    net.deliver(net.a)
    assert net.b.plans() == []  # nothing of the plan reached B


def test_abandon_racing_bs_confirmation_never_fails_the_completed_transfer(
    net: Net, monkeypatch: pytest.MonkeyPatch
) -> None:
    tid = request(
        net.a.wiring, net.a.factory, net.a.directory, sender=A, patient_id=PID, to_org=B_ORG
    ).task_id
    net.deliver(net.a)
    [filed] = [t for t in net.b.tasks() if t.get("status") == "requested"]
    respond(net.b.wiring, net.b.directory, responder=B, task_id=filed["id"], accept=True)
    net.deliver(net.b)  # accepted: A's plan pending, the plan queued
    net.deliver(net.a)  # the plan: B stores it, its confirmation queued
    real = transfer_service.lift

    def meanwhile(*args: Any, **kwargs: Any) -> Any:  # B's confirmation arrives meanwhile
        assert net.deliver(net.b) == 1
        assert _a_task(net, tid)["status"] == "completed"
        return real(*args, **kwargs)

    monkeypatch.setattr(transfer_service, "lift", meanwhile)
    try:
        abandon(net.a.wiring, orgnr=A.orgnr, task_id=tid, why=WHY)
    except TransferRefused as err:
        assert err.issues[0].message_id == "IP-6107"
    assert _a_task(net, tid)["status"] == "completed"
    assert net.a.plans("active") == []
    assert len(net.b.plans("active")) == 1
