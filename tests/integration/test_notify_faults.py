"""A notification through a misbehaving receiver (pytest-httpserver in front of the real
:class:`~adapter.sync.receiver.Receiver` on its own database): answers lost after the message
was carried out (500, a read timeout), 503 with Retry-After, malformed answers and answers for
another message — the notification ends delivered with exactly one Task in the receiver's
inbox, or visibly dead (and replayable). Every attempt carries the access token the worker got
from the receiver's token endpoint."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from pytest_httpserver import HTTPServer
from sqlalchemy import Engine
from werkzeug import Request, Response

from ipfhir.adapter.auth.orgkey import organisation_key
from ipfhir.adapter.bootstrap import Wiring, build_wiring, secure_factory
from ipfhir.adapter.directory import SqlDirectory
from ipfhir.adapter.ports import SearchQuery
from ipfhir.adapter.services.notify import notify
from ipfhir.adapter.settings import Settings
from ipfhir.adapter.store import make_engine
from ipfhir.adapter.store.outbox import Outbox
from ipfhir.adapter.sync.messaging import Party
from ipfhir.adapter.sync.policy import RetryPolicy
from ipfhir.adapter.sync.receiver import Receiver
from ipfhir.adapter.sync.tokens import DirectoryTokens
from ipfhir.adapter.sync.worker import HttpTransport, Worker
from tests.api.notify_world import HOSPITAL, KE, PID, hospital_resources, load_directory

pytestmark = pytest.mark.slow
H_BASE = "http://127.0.0.1:18081"
TOKEN = "tilgang-æøå-1"
Behaviour = Callable[[Request], Response]


class FakeClock:
    def __init__(self) -> None:
        self.now = time.time()

    def __call__(self) -> float:
        return self.now


class Exchange:
    """The sender (``engine``) and the receiver (its own SQLite) around ``httpserver``."""

    def __init__(self, engine: Engine, tmp_path: Path, httpserver: HTTPServer) -> None:
        base = httpserver.url_for("").rstrip("/")
        self.sender = build_wiring(Settings(data_dir=tmp_path, dev_mode=True), engine=engine)
        for res in hospital_resources():
            self.sender.repository.update(res["resourceType"], res["id"], res)
        load_directory(SqlDirectory(engine), {KE: base})
        m_data = tmp_path / "m"
        m_data.mkdir()
        m_engine = make_engine(f"sqlite:///{m_data / 'm.sqlite3'}")
        self.receiving: Wiring = build_wiring(
            Settings(data_dir=m_data, dev_mode=True), engine=m_engine
        )
        load_directory(SqlDirectory(m_engine), {HOSPITAL: H_BASE})
        self.receiver = Receiver(self.receiving.repository, SqlDirectory(m_engine), base)
        self.clock = FakeClock()
        self.outbox = Outbox(engine, self.clock)
        tokens = DirectoryTokens(SqlDirectory(engine), organisation_key(tmp_path), HOSPITAL)
        transport = HttpTransport(connect_timeout=2, read_timeout=0.5, token_for=tokens)
        policy = RetryPolicy(max_attempts=8, base=1.0, cap=60.0)
        self.worker = Worker(self.outbox, transport, policy, clock=self.clock)
        self.bearers: list[str] = []
        httpserver.expect_request("/.well-known/smart-configuration").respond_with_json(
            {"token_endpoint": f"{base}/auth/token"}
        )
        httpserver.expect_request("/auth/token", method="POST").respond_with_json(
            {"access_token": TOKEN, "token_type": "Bearer", "expires_in": 300}
        )

    def notify(self) -> str:
        sender = Party(HOSPITAL, "UNN HF – Sámi klinihkka", H_BASE)
        factory = secure_factory(self.sender)
        directory = SqlDirectory(self.sender.engine)
        queued = notify(self.sender, factory, directory, sender=sender, patient_id=PID, to_org=KE)
        self.clock.now = time.time() + 0.01  # the message is due now (queued on the real clock)
        return queued.message_id

    def process(self, request: Request) -> tuple[int, str]:
        self.bearers.append(request.headers.get("Authorization", ""))
        status, answer = self.receiver.process(HOSPITAL, json.loads(request.get_data()))
        return status, json.dumps(answer)

    def drain(self, rounds: int) -> None:
        for _ in range(rounds):
            self.worker.run_once()
            self.clock.now += 61  # past any back-off of the policy

    def inbox(self) -> list[dict[str, Any]]:
        return self.receiving.repository.search(SearchQuery("Task", count=50)).matches


def _scripted(exchange: Exchange, script: list[str]) -> Behaviour:
    """Attempt n behaves as ``script[n]`` (the last entry repeats)."""
    attempts: list[str] = []

    def handle(request: Request) -> Response:
        step = script[min(len(attempts), len(script) - 1)]
        attempts.append(step)
        if step == "503":
            return Response("", 503, headers={"Retry-After": "30"})
        if step == "malformed":
            return Response("{ikke json", 200, content_type="application/fhir+json")
        status, body = exchange.process(request)
        if step == "carried-out-then-500":
            return Response("intern feil", 500)
        if step == "carried-out-then-silent":
            time.sleep(1.0)  # past the worker's read timeout: the answer is lost
        if step == "answer-for-another":
            body = body.replace(json.loads(request.get_data())["id"], "en-annen-melding")
        return Response(body, status, content_type="application/fhir+json")

    return handle


def test_lost_answers_and_bad_answers_end_in_one_delivery(
    engine: Engine, tmp_path: Path, httpserver: HTTPServer
) -> None:
    exchange = Exchange(engine, tmp_path, httpserver)
    script = [
        "carried-out-then-500",
        "503",
        "carried-out-then-silent",
        "malformed",
        "answer-for-another",
        "ok",
    ]
    httpserver.expect_request("/$process-message", method="POST").respond_with_handler(
        _scripted(exchange, script)
    )
    message_id = exchange.notify()
    exchange.worker.run_once()
    exchange.clock.now += 61
    exchange.worker.run_once()  # the 503
    after_503 = exchange.outbox.get(message_id)
    assert after_503 is not None and after_503.status == "queued"
    assert after_503.due_at - exchange.clock.now >= 30  # Retry-After honoured
    exchange.drain(rounds=6)
    message = exchange.outbox.get(message_id)
    assert message is not None and (message.status, message.attempts) == ("delivered", 6)
    assert len(exchange.inbox()) == 1  # carried out once, though four attempts reached it
    assert set(exchange.bearers) == {f"Bearer {TOKEN}"}
    answer = json.loads(message.response or "{}")
    assert answer["entry"][0]["resource"]["response"] == {"identifier": message_id, "code": "ok"}


def test_a_receiver_that_never_answers_sensibly_leaves_the_message_dead_and_replayable(
    engine: Engine, tmp_path: Path, httpserver: HTTPServer
) -> None:
    exchange = Exchange(engine, tmp_path, httpserver)
    httpserver.expect_request("/$process-message", method="POST").respond_with_handler(
        _scripted(exchange, ["malformed"])
    )
    message_id = exchange.notify()
    exchange.drain(rounds=10)
    [dead] = exchange.outbox.list("dead")
    assert dead.message_id == message_id and dead.attempts == 8
    assert "gave up after 8 attempts" in (dead.last_error or "")
    assert exchange.outbox.metrics()["dead"] == 1 and exchange.inbox() == []
    httpserver.clear()
    httpserver.expect_request("/auth/token", method="POST").respond_with_json(
        {"access_token": TOKEN, "token_type": "Bearer", "expires_in": 300}
    )
    httpserver.expect_request("/$process-message", method="POST").respond_with_handler(
        _scripted(exchange, ["ok"])
    )
    assert exchange.outbox.replay(message_id)
    exchange.drain(rounds=2)
    assert exchange.outbox.get(message_id).status == "delivered"  # type: ignore[union-attr]
    assert len(exchange.inbox()) == 1


def test_a_message_the_receiver_refuses_is_dead_at_once(
    engine: Engine, tmp_path: Path, httpserver: HTTPServer
) -> None:
    exchange = Exchange(engine, tmp_path, httpserver)
    exchange.receiver.address = "http://127.0.0.1:9/$process-message"  # addressed elsewhere
    httpserver.expect_request("/$process-message", method="POST").respond_with_handler(
        _scripted(exchange, ["ok"])
    )
    message_id = exchange.notify()
    exchange.drain(rounds=3)
    message = exchange.outbox.get(message_id)
    assert message is not None and (message.status, message.attempts) == ("dead", 1)
    assert "fatal-error" in (message.last_error or "") and exchange.inbox() == []
