"""A real receiver killed and restarted mid-stream (issue #12's fault proof): the municipality's
``ipfhir serve`` is sent SIGKILL while two of the hospital's workers deliver a stream of
notifications to it — a transaction under way is cut off, answers are lost, connections
refused — and started again on the same port and data. Every message ends delivered exactly
once: each one is in the receiver's record of received messages once, each Task once, and
the sender's outbox holds nothing queued, in flight or dead. On the sender's SQLite and on
PostgreSQL (there the two workers claim with row locks and SKIP LOCKED)."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine

from ipfhir.adapter.store import make_engine, migrate
from ipfhir.adapter.store.outbox import Outbox
from ipfhir.adapter.sync.policy import RetryPolicy
from tests.integration.exchange_world import Exchange
from tests.pg import PG_URL, postgres_schema

pytestmark = pytest.mark.slow
TOTAL, PERSONS = 160, 12


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def sender(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    if request.param == "sqlite":
        engine = make_engine(f"sqlite:///{tmp_path / 'h.sqlite3'}")
        yield engine
        engine.dispose()
        return
    with postgres_schema("ipfhir_kill") as schema:  # its own: no other test's outbox rows
        engine = make_engine(PG_URL, schema=schema)
        migrate(engine)
        yield engine
        engine.dispose()


def _wait(box: Outbox, done: int, seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        metrics = box.metrics()
        if metrics["delivered"] + metrics["dead"] >= done:
            return
        time.sleep(0.05)


def test_a_receiver_killed_mid_stream_gets_every_message_exactly_once(
    sender: Engine, tmp_path: Path
) -> None:
    exchange = Exchange(sender, tmp_path / "h", tmp_path / "m", tmp_path / "m.log")
    exchange.prepare()
    try:
        ids = exchange.queue(TOTAL, PERSONS)
        box = Outbox(sender)
        policy = RetryPolicy(max_attempts=40, base=0.2, cap=1.0)  # outlasts the downtime
        workers = [exchange.worker(policy, batch=4) for _ in range(2)]
        stop = threading.Event()
        threads = [threading.Thread(target=w.run, args=(stop, 0.05)) for w in workers]
        for t in threads:
            t.start()
        try:
            _wait(box, TOTAL // 3, 120)
            exchange.kill()  # mid-stream: some delivered, some under way, most waiting
            killed_at = box.metrics()
            time.sleep(1.5)  # refused connections meanwhile: retried, not lost
            exchange.start()
            _wait(box, TOTAL, 240)
        finally:
            stop.set()
            for t in threads:
                t.join(60)
        assert 0 < killed_at["delivered"] < TOTAL, killed_at
        metrics = box.metrics()
        assert (metrics["delivered"], metrics["queued"], metrics["in_flight"], metrics["dead"]) == (
            TOTAL,
            0,
            0,
            0,
        ), [
            (m.message_id, m.status, m.last_error)
            for m in box.list(limit=TOTAL)
            if m.status != "delivered"
        ]
        rows, tasks, distinct = exchange.received()
        assert (rows, tasks, distinct) == (TOTAL, TOTAL, TOTAL)  # none lost, none doubled
        assert {m.message_id for m in box.list(limit=TOTAL)} == set(ids)
        assert any(m.attempts > 1 for m in box.list(limit=TOTAL))  # the kill was felt
    finally:
        exchange.stop()
