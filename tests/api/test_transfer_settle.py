"""The transfer settled without an operator (``adapter/sync/worker.py`` runs
``settle_transfers`` between deliveries, ``adapter/sync/transfer_state.py``): a dead request
message fails A's Task and a dead plan message lifts nothing until B answers a query — and
the periodic settling looks at open transfer Tasks only, however many closed ones the store
holds."""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any

import pytest

from ipfhir.adapter.fhir.handover import handover_state
from ipfhir.adapter.ports import SearchQuery
from ipfhir.adapter.services.transfer import request, respond
from ipfhir.adapter.store.outbox import Message
from ipfhir.adapter.sync.policy import Attempt, RetryPolicy
from ipfhir.adapter.sync.transfer_state import settle_transfers
from ipfhir.adapter.sync.worker import Worker
from tests.api.transfer_world import B_ORG, PID, A, B, Net, build_net


class FakeClock:
    """Advances by ``step`` seconds each time it is read (the worker reads it per loop)."""

    def __init__(self, step: float) -> None:
        self.now = time.time() + 3600.0
        self.step = step

    def __call__(self) -> float:
        self.now += self.step
        return self.now


class Refusing:
    """A receiver that refuses every message (HTTP 400: dead at the first attempt)."""

    def __init__(self) -> None:
        self.sent: list[str] = []

    def post(self, message: Message) -> Attempt:
        self.sent.append(message.kind)
        return Attempt(400, "Ugyldig melding – avvist")


@pytest.fixture
def net(tmp_path: Path) -> Net:
    return build_net(tmp_path)


def _request(net: Net) -> Any:
    return request(
        net.a.wiring, net.a.factory, net.a.directory, sender=A, patient_id=PID, to_org=B_ORG
    )


def test_the_worker_settles_transfers_every_interval_of_its_clock() -> None:
    calls: list[float] = []
    clock = FakeClock(step=10.0)
    stop = threading.Event()

    class Empty:
        def claim(self, limit: int, lease: float) -> list[Message]:
            return []

    def settle() -> None:
        calls.append(clock.now)
        if len(calls) == 3:
            stop.set()

    worker = Worker(
        Empty(),  # type: ignore[arg-type]
        Refusing(),
        clock=clock,
        housekeeping=settle,
        housekeeping_every=25.0,
    )
    worker.run(stop, idle=0.0)
    assert len(calls) == 3
    assert calls[1] - calls[0] >= 25.0 and calls[2] - calls[1] >= 25.0
    assert calls[1] - calls[0] < 50.0  # not more seldom than asked


def test_a_settling_that_breaks_does_not_stop_delivery() -> None:
    clock = FakeClock(step=100.0)
    stop = threading.Event()
    runs: list[int] = []

    class Empty:
        def claim(self, limit: int, lease: float) -> list[Message]:
            return []

    def broken() -> None:
        runs.append(1)
        if len(runs) == 2:
            stop.set()
        raise ValueError("feil i oppryddingen")

    Worker(Empty(), Refusing(), clock=clock, housekeeping=broken, housekeeping_every=1.0).run(  # type: ignore[arg-type]
        stop, idle=0.0
    )
    assert len(runs) == 2


def test_the_worker_fails_a_transfer_whose_request_died_without_an_operator(net: Net) -> None:
    queued = _request(net)
    transport = Refusing()
    stop = threading.Event()
    settled: list[list[str]] = []

    def settle() -> None:
        settled.append(settle_transfers(net.a.wiring.repository))
        if any(settled):
            stop.set()

    worker = Worker(
        net.a.outbox,
        transport,
        policy=RetryPolicy(max_attempts=1),
        clock=FakeClock(step=30.0),
        housekeeping=settle,
        housekeeping_every=60.0,
    )
    worker.run(stop, idle=0.0)
    assert transport.sent == ["ip-transfer"]
    assert [queued.task_id] in settled
    task = net.a.wiring.repository.read("Task", queued.task_id)
    assert task["status"] == "failed" and task["statusReason"]["text"].startswith("IP-6097: ")
    [plan] = net.a.plans("active")
    assert handover_state(plan) is None


def test_the_worker_lifts_the_pending_mark_of_a_plan_held_back_unsent(net: Net) -> None:
    queued = _request(net)
    net.deliver(net.a)
    [task] = [t for t in net.b.tasks() if t.get("status") == "requested"]
    respond(net.b.wiring, net.b.directory, responder=B, task_id=task["id"], accept=True)
    net.deliver(net.b)  # the acceptance: A's plan pending, the plan queued
    assert handover_state(net.a.plans("active")[0]) == "handover-pending"
    consent = net.a.wiring.repository.read("Consent", "ip1-sharing")
    net.a.wiring.repository.update("Consent", "ip1-sharing", {**consent, "status": "inactive"})
    from ipfhir.adapter.sync.gate import ConsentGate

    stop = threading.Event()

    def settle() -> None:
        if settle_transfers(net.a.wiring.repository):
            stop.set()

    Worker(
        net.a.outbox,
        Refusing(),
        clock=FakeClock(step=30.0),
        before_send=ConsentGate(net.a.factory, net.a.directory),
        housekeeping=settle,
        housekeeping_every=60.0,
    ).run(stop, idle=0.0)
    task = net.a.wiring.repository.read("Task", queued.task_id)
    assert task["status"] == "failed" and task["statusReason"]["text"].startswith("IP-6096: ")
    assert handover_state(net.a.plans("active")[0]) is None


def test_settling_searches_open_tasks_only(net: Net, monkeypatch: pytest.MonkeyPatch) -> None:
    repository = net.a.wiring.repository
    queries: list[SearchQuery] = []
    search = repository.search

    def spy(query: SearchQuery) -> Any:
        queries.append(query)
        return search(query)

    monkeypatch.setattr(repository, "search", spy)
    assert settle_transfers(repository) == []
    tasks = [q for q in queries if q.resource_type == "Task"]
    assert tasks, "settling searches the Tasks"
    for query in tasks:
        [status] = [p for p in query.params if p.name == "status"]
        assert set(status.values) == {"requested", "accepted", "in-progress"}


def test_an_open_transfer_behind_many_closed_tasks_is_settled(net: Net) -> None:
    repository = net.a.wiring.repository
    for n in range(510):  # more than one page of Tasks, all closed
        repository.update(
            "Task",
            f"0-ferdig-{n:04}",
            {
                "resourceType": "Task",
                "id": f"0-ferdig-{n:04}",
                "status": "completed",
                "intent": "order",
                "description": f"Avsluttet oppgave {n} – æøå",
            },
        )
    queued = _request(net)
    [message] = net.a.outbox.claim()
    net.a.outbox.dead(message, "gave up after 8 attempts: HTTP 503")
    assert settle_transfers(repository) == [queued.task_id]


def test_the_cli_worker_is_given_the_settling(net: Net, tmp_path: Path) -> None:
    from ipfhir.adapter.cli.outbox_cmd import delivering

    worker = delivering(net.a.wiring, tmp_path, None, 5.0)
    assert worker.housekeeping_every == 5.0
    queued = _request(net)
    [message] = net.a.outbox.claim()
    net.a.outbox.dead(message, "gave up after 8 attempts: HTTP 503")
    assert worker.housekeep() is True
    assert worker.housekeep() is False  # not again before its interval
    task = net.a.wiring.repository.read("Task", queued.task_id)
    assert task["status"] == "failed" and task["statusReason"]["text"].startswith("IP-6097: ")


def test_open_tasks_are_read_page_by_page(net: Net) -> None:
    repository = net.a.wiring.repository
    for n in range(450):  # open Tasks of other kinds: more than two pages of the search
        repository.update(
            "Task",
            f"0-open-{n:04}",
            {
                "resourceType": "Task",
                "id": f"0-open-{n:04}",
                "status": "requested",
                "intent": "order",
            },
        )
    queued = _request(net)
    [message] = net.a.outbox.claim()
    net.a.outbox.dead(message, "gave up after 8 attempts: HTTP 503")
    assert settle_transfers(repository) == [queued.task_id]
