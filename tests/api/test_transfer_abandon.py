"""``ipfhir transfer abandon TASK --as ORGNR --reason TEXT`` (adapter/services/transfer.py): B
is gone for good, A's operator ends the transfer. Only an open transfer A requested: the pending
mark is lifted, the Task failed with the reason (IP-6108), the change audited, and the
operator warned that B may hold a copy; a Task not A's and an unknown one are refused alike
(IP-6106), a closed one with IP-6107. A plan message still queued for the abandoned transfer
is held back at the send-time gate (IP-6109): nothing reaches B after the plan is writable
again."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ipfhir.adapter.cli.main import main
from ipfhir.adapter.fhir.handover import handover_state
from ipfhir.adapter.services.transfer import request, respond
from tests.api.notify_world import ORGNR
from tests.api.transfer_world import A_ORG, B_ORG, PID, A, B, Net, build_net

REASON = "Romsa suohkan er lagt ned – planen blir i Bærum"


@pytest.fixture
def net(tmp_path: Path) -> Net:
    return build_net(tmp_path)


def _accepted(net: Net) -> str:
    queued = request(
        net.a.wiring, net.a.factory, net.a.directory, sender=A, patient_id=PID, to_org=B_ORG
    )
    net.deliver(net.a)
    [task] = [t for t in net.b.tasks() if t.get("status") == "requested"]
    respond(net.b.wiring, net.b.directory, responder=B, task_id=task["id"], accept=True)
    net.deliver(net.b)  # A's plan pending, the plan message queued
    return str(queued.task_id)


def _abandon(tmp_path: Path, tid: str, orgnr: str = A_ORG, why: str = REASON) -> int:
    return main(
        [
            "transfer",
            "abandon",
            tid,
            "--as",
            orgnr,
            "--reason",
            why,
            "--data-dir",
            str(tmp_path / "a"),
        ]
    )


def _errors(capsys: pytest.CaptureFixture[str]) -> list[str]:
    return [line for line in capsys.readouterr().err.splitlines() if line.strip()]


def test_an_awaiting_transfer_is_abandoned_and_the_plan_is_writable_again(
    net: Net, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    tid = _accepted(net)
    [plan_message] = net.a.outbox.claim(50)
    net.a.outbox.dead(plan_message, "gave up after 8 attempts: ReadTimeout")
    assert handover_state(net.a.plans("active")[0]) == "handover-pending"
    assert _abandon(tmp_path, tid) == 0
    out = capsys.readouterr()
    shown = json.loads(out.out)
    assert shown["id"] == tid and shown["status"] == "failed"
    assert "warning" in out.err and B_ORG in out.err and "copy" in out.err
    task = net.a.wiring.repository.read("Task", tid)
    assert task["status"] == "failed"
    assert (
        task["statusReason"]["text"].startswith("IP-6108: ")
        and REASON in task["statusReason"]["text"]
    )
    [plan] = net.a.plans("active")
    assert handover_state(plan) is None
    audited = [json.dumps(e, ensure_ascii=False) for e in net.a.search("AuditEvent")]
    assert any("abandoned" in e and REASON[:20] in e for e in audited)


def test_a_plan_message_still_queued_is_held_back_after_abandoning(
    net: Net, tmp_path: Path
) -> None:
    tid = _accepted(net)
    assert _abandon(tmp_path, tid) == 0
    net.deliver(net.a)
    [plan_message] = [m for m in net.a.outbox.list() if m.kind == "ip-transfer-plan"]
    assert plan_message.status == "dead" and str(plan_message.last_error).startswith("IP-6109")
    assert net.b.plans() == []
    assert [p["id"] for p in net.a.plans("active")] == ["ip1"]


def test_not_ours_unknown_and_closed_are_refused(
    net: Net, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    tid = _accepted(net)
    capsys.readouterr()
    other = ORGNR["annen"]
    assert _abandon(tmp_path, tid, orgnr=other) == 1
    [not_ours] = _errors(capsys)
    assert _abandon(tmp_path, "finnes-ikke", orgnr=other) == 1
    [unknown] = _errors(capsys)
    assert not_ours.startswith("ipfhir: IP-6106: ")
    assert not_ours.replace(tid, "X") == unknown.replace("finnes-ikke", "X")
    assert net.a.wiring.repository.read("Task", tid)["status"] == "in-progress"
    assert _abandon(tmp_path, tid) == 0
    capsys.readouterr()
    assert _abandon(tmp_path, tid) == 1
    [closed] = _errors(capsys)
    assert closed.startswith("ipfhir: IP-6107: ") and "failed" in closed


def test_a_task_a_received_is_not_abandoned_from_the_receiving_side(
    net: Net, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _accepted(net)
    [b_task] = [t for t in net.b.tasks() if t["code"]["coding"][0]["code"] == "ip-transfer"]
    code = main(
        [
            "transfer",
            "abandon",
            str(b_task["id"]),
            "--as",
            B_ORG,
            "--reason",
            REASON,
            "--data-dir",
            str(tmp_path / "b"),
        ]
    )
    assert code == 1
    [line] = _errors(capsys)
    assert line.startswith("ipfhir: IP-6106: ")


def test_an_empty_reason_is_unusable(net: Net, tmp_path: Path) -> None:
    tid = _accepted(net)
    with pytest.raises(SystemExit) as exit_:
        _abandon(tmp_path, tid, why="  ")
    assert exit_.value.code == 2
    assert net.a.wiring.repository.read("Task", tid)["status"] == "in-progress"
