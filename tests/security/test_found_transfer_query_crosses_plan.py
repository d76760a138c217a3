"""Found: at B, ``ip-transfer-plan`` (``store_plan``) and ``ip-transfer-query`` (``answer_query``)
each read B's transfer Task with ``find_task`` — an unlocked read — and decide on that copy
(adapter/sync/transfer_inbox.py). On PostgreSQL two receivers (or two requests on one) run at
once; the Task row is locked only when written, so the loser writes over the winner's state.

Attack / race (the brief's "the query and the late plan message crossing"): A's plan message
timed out but is on its way (a delayed retry, or the operator replays it) while A's settling asks
B (``ip-transfer-query``). Both arrive at B together; both read B's Task ``accepted``.

What happens now: the plan is stored as the person's active plan at B and its confirmation
queued, AND the query closes the same Task ``failed`` (IP-6104, written over ``completed``)
and queues "not stored" to A. Whichever answer A takes first decides: on "not stored" A lifts
its mark (IP-6105) — two active, writable plans for the person, one at A and one at B.

What should happen: the two are serialised on B's Task (locked read, or a version check on
the write): one sees the other's result — either the plan is stored and the query re-sends
the confirmation, or the Task is closed and the plan refused. Never both answers.

PostgreSQL only (SQLite's writers queue one after the other: no such interleaving).
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from ipfhir.adapter.bootstrap import build_wiring
from ipfhir.adapter.services.transfer import request, respond
from ipfhir.adapter.settings import Settings
from ipfhir.adapter.store import make_engine, migrate
from ipfhir.adapter.sync import transfer_inbox
from ipfhir.adapter.sync.transfer_state import settle_transfers
from tests.api.notify_world import hospital_resources
from tests.api.transfer_world import B_ORG, PID, A, B, Net, Side, _directory
from tests.pg import PG_URL, postgres_schema

pytestmark = pytest.mark.postgres
TIMEOUT = "gave up after 8 attempts: no answer: ReadTimeout"


@pytest.fixture
def net(tmp_path: Path) -> Iterator[Net]:
    """A on SQLite, B on a PostgreSQL schema of its own."""
    with postgres_schema("ipfhir_xfer") as schema:
        engine = make_engine(PG_URL, schema=schema, pool_size=5)
        migrate(engine)
        a = build_wiring(Settings(data_dir=tmp_path / "a", dev_mode=True))
        b = build_wiring(
            Settings(data_dir=tmp_path / "b", dev_mode=True), engine=engine, run_migrations=False
        )
        sides = [Side(p, w, _directory(w.engine, [A, B])) for p, w in ((A, a), (B, b))]
        for res in hospital_resources():
            a.repository.update(res["resourceType"], res["id"], res)
        yield Net(sides[0], sides[1])
        engine.dispose()


def _kind_of_answer(message: Any) -> str:
    task = [
        e["resource"]
        for e in message.payload["entry"][1:]
        if e["resource"]["resourceType"] == "Task"
    ][0]
    return str(task["status"])


def test_the_query_and_the_late_plan_crossing_at_b_never_give_both_answers(
    net: Net, monkeypatch: pytest.MonkeyPatch
) -> None:
    request(net.a.wiring, net.a.factory, net.a.directory, sender=A, patient_id=PID, to_org=B_ORG)
    net.deliver(net.a)
    [filed] = [t for t in net.b.tasks() if t.get("status") == "requested"]
    respond(net.b.wiring, net.b.directory, responder=B, task_id=filed["id"], accept=True)
    net.deliver(net.b)
    [plan] = net.a.outbox.claim(50)
    net.a.outbox.dead(plan, TIMEOUT)  # may have reached B: A asks
    settle_transfers(net.a.wiring.repository)
    [query] = net.a.outbox.claim(50)
    assert query.kind == "ip-transfer-query"

    both_read = threading.Barrier(2, timeout=5)
    real = transfer_inbox.find_task

    def read_then_meet(*args: Any, **kwargs: Any) -> Any:
        found = real(*args, **kwargs)
        with contextlib.suppress(threading.BrokenBarrierError):
            both_read.wait()  # both transactions have read B's Task before either writes
        return found

    monkeypatch.setattr(transfer_inbox, "find_task", read_then_meet)
    answers: dict[str, Any] = {}

    def arrive(name: str, payload: Any) -> None:
        answers[name] = net.b.receiver.process(A.orgnr, payload)

    runs = [
        threading.Thread(target=arrive, args=("plan", plan.payload)),
        threading.Thread(target=arrive, args=("query", query.payload)),
    ]
    for run in runs:
        run.start()
    for run in runs:
        run.join(30)
    monkeypatch.setattr(transfer_inbox, "find_task", real)

    told = sorted(_kind_of_answer(m) for m in net.b.outbox.list(status="queued"))
    stored = net.b.plans("active")
    [b_task] = [t for t in net.b.tasks() if t["code"]["coding"][0]["code"] == "ip-transfer"]
    if stored:  # the plan won: B must say so, and only so
        assert b_task["status"] == "completed", b_task.get("statusReason")
        assert "failed" not in told, told
    else:  # the query won: the plan was refused, "not stored" told
        assert b_task["status"] == "failed"
        assert told == ["failed"]
