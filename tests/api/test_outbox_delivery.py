"""The delivery engine on SQLite and PostgreSQL against receivers that misbehave
(pytest-httpserver): every message ends delivered exactly once or visibly dead, nothing is lost
or doubled; messages commit with the change they announce; one person's messages keep their
order; a poison message blocks nobody; two workers never deliver one message twice."""

from __future__ import annotations

import json
import socket
import threading
import time
from collections import Counter
from collections.abc import Iterator
from typing import Any

import pytest
from pytest_httpserver import HTTPServer
from sqlalchemy import Engine
from werkzeug import Request, Response

from ipfhir.adapter.fhir.validation import minimal_structural_check
from ipfhir.adapter.store import SqlRepository
from ipfhir.adapter.store.outbox import Outbox, enqueue
from ipfhir.adapter.sync.policy import RetryPolicy
from ipfhir.adapter.sync.worker import HttpTransport, Worker


class FakeClock:
    # starts an hour past the real time: enqueue() stamps a message with the real clock, so a
    # fixed start would leave every message in the future once the suite runs after that date,
    # and a start close to the real time would leave messages queued on a slow machine not due
    def __init__(self) -> None:
        self.now = time.time() + 3600.0

    def __call__(self) -> float:
        return self.now


def _ok(request: Request) -> Response:
    """A receiver that processes the message and answers ``ok`` for its id."""
    mid = json.loads(request.get_data())["id"]
    header = {"resourceType": "MessageHeader", "response": {"identifier": mid, "code": "ok"}}
    body = {"resourceType": "Bundle", "type": "message", "entry": [{"resource": header}]}
    return Response(json.dumps(body), 200, content_type="application/fhir+json")


def _message(n: int) -> dict[str, Any]:
    return {"resourceType": "Bundle", "type": "message", "id": f"m-{n}", "note": f"Melding {n} æøå"}


def _queue(engine: Engine, url: str, n: int, person: str | None = "Patient/p1", **kw: Any) -> str:
    repo = SqlRepository(engine, minimal_structural_check)
    with repo.begin_write() as conn:
        payload = _message(n)
        return enqueue(
            conn,
            destination=url,
            kind="ip-notification",
            payload=payload,
            person=person,
            message_id=payload["id"],
            **kw,
        )


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def box(engine: Engine, clock: FakeClock) -> Iterator[Outbox]:
    yield Outbox(engine, clock)


def _worker(box: Outbox, clock: FakeClock, **kw: Any) -> Worker:
    transport = HttpTransport(connect_timeout=2, read_timeout=kw.pop("read_timeout", 2))
    policy = kw.pop("policy", RetryPolicy(max_attempts=4, base=1.0, cap=10.0))
    return Worker(box, transport, policy, clock=clock, **kw)


def _drain(worker: Worker, clock: FakeClock, rounds: int = 30) -> None:
    for _ in range(rounds):
        worker.run_once()
        clock.now += 11  # past any back-off of this policy


def test_message_commits_with_the_change_or_not_at_all(engine: Engine, box: Outbox) -> None:
    repo = SqlRepository(engine, minimal_structural_check)
    with pytest.raises(RuntimeError), repo.begin_write() as conn:
        enqueue(conn, destination="http://ke.example/", kind="k", payload={"id": "x"})
        raise RuntimeError("the change failed")
    assert box.list() == []
    _queue(engine, "http://ke.example/", 1)
    assert [(m.message_id, m.status) for m in box.list()] == [("m-1", "queued")]


def test_delivered_once_after_transient_failures(
    engine: Engine, box: Outbox, clock: FakeClock, httpserver: HTTPServer
) -> None:
    url = httpserver.url_for("/$process-message")
    httpserver.expect_ordered_request("/$process-message").respond_with_data("nede", status=500)
    httpserver.expect_ordered_request("/$process-message").respond_with_data(
        "", status=503, headers={"Retry-After": "5"}
    )
    httpserver.expect_ordered_request("/$process-message").respond_with_data("<html/>", 200)
    httpserver.expect_ordered_request("/$process-message").respond_with_handler(_ok)
    _queue(engine, url, 1)
    worker = _worker(box, clock)
    _drain(worker, clock, rounds=6)
    (msg,) = box.list()
    assert (msg.status, msg.attempts) == ("delivered", 4)
    assert len(httpserver.log) == 4
    assert {r.headers["X-Request-Id"] for r, _ in httpserver.log} == {"m-1"}
    assert json.loads(httpserver.log[0][0].get_data())["note"] == "Melding 1 æøå"


def test_refused_or_hopeless_messages_end_dead_and_replay(
    engine: Engine, box: Outbox, clock: FakeClock, httpserver: HTTPServer
) -> None:
    httpserver.expect_request("/refuses").respond_with_data("{}", status=422)
    httpserver.expect_request("/down").respond_with_data("", status=502)
    _queue(engine, httpserver.url_for("/refuses"), 1, person="Patient/a")
    _queue(engine, httpserver.url_for("/down"), 2, person="Patient/b")
    _drain(_worker(box, clock), clock)
    dead = {m.message_id: m for m in box.list("dead")}
    assert set(dead) == {"m-1", "m-2"}
    assert dead["m-1"].attempts == 1 and "HTTP 422" in (dead["m-1"].last_error or "")
    assert dead["m-2"].attempts == 4 and "gave up after 4 attempts" in (
        dead["m-2"].last_error or ""
    )
    assert box.metrics()["dead"] == 2
    httpserver.clear()
    httpserver.expect_request("/down").respond_with_handler(_ok)
    assert box.replay("m-2") and not box.replay("m-2") and not box.replay("m-1-missing")
    _drain(_worker(box, clock), clock, rounds=2)
    assert box.get("m-2").status == "delivered"  # type: ignore[union-attr]


@pytest.fixture
def silent_url() -> Iterator[str]:
    """A receiver that accepts connections and never answers (read timeouts)."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(64)
        yield f"http://127.0.0.1:{listener.getsockname()[1]}/$process-message"


def test_timeouts_retry_and_a_poison_message_blocks_nobody(
    engine: Engine, box: Outbox, clock: FakeClock, httpserver: HTTPServer, silent_url: str
) -> None:
    httpserver.expect_request("/poison").respond_with_data("{}", status=400)
    httpserver.expect_request("/fine").respond_with_handler(_ok)
    _queue(engine, httpserver.url_for("/poison"), 1, person="Patient/p1")
    _queue(engine, silent_url, 2, person="Patient/p2")
    _queue(engine, httpserver.url_for("/fine"), 3, person="Patient/p3")
    worker = _worker(box, clock, read_timeout=0.3)
    _drain(worker, clock, rounds=8)
    states = {m.message_id: (m.status, m.attempts) for m in box.list()}
    assert states == {"m-1": ("dead", 1), "m-2": ("dead", 4), "m-3": ("delivered", 1)}
    assert "ReadTimeout" in (box.get("m-2").last_error or "")  # type: ignore[union-attr]


def test_one_persons_messages_keep_their_order(
    engine: Engine, box: Outbox, clock: FakeClock, httpserver: HTTPServer
) -> None:
    calls = {"n": 0}

    def flaky(request: Request) -> Response:
        calls["n"] += 1
        return Response("", 503) if calls["n"] == 1 else _ok(request)

    httpserver.expect_request("/ke").respond_with_handler(flaky)
    url = httpserver.url_for("/ke")
    for n in range(1, 6):
        _queue(engine, url, n, person="Patient/p1")
    _drain(_worker(box, clock, batch=10), clock, rounds=8)
    seen = [json.loads(r.get_data())["id"] for r, _ in httpserver.log]
    assert seen == ["m-1", "m-1", "m-2", "m-3", "m-4", "m-5"]  # m-2.. waited for m-1's retry
    assert {m.status for m in box.list()} == {"delivered"}


def test_a_worker_killed_mid_delivery_loses_nothing(
    engine: Engine, box: Outbox, clock: FakeClock, httpserver: HTTPServer
) -> None:
    httpserver.expect_request("/ke").respond_with_handler(_ok)
    _queue(engine, httpserver.url_for("/ke"), 1)
    lost = box.claim(limit=5, lease=30)  # the claiming worker dies before it settles
    assert [m.message_id for m in lost] == ["m-1"] and box.claim() == []
    clock.now += 31  # the lease ends
    _drain(_worker(box, clock), clock, rounds=2)
    assert box.get("m-1").status == "delivered"  # type: ignore[union-attr]
    assert not box.delivered(lost[0])  # the dead worker's late answer changes nothing


def test_two_workers_deliver_every_message_exactly_once(
    engine: Engine, httpserver: HTTPServer
) -> None:
    httpserver.expect_request("/ke").respond_with_handler(_ok)
    url = httpserver.url_for("/ke")
    total = 120
    for n in range(total):
        _queue(engine, url, n, person=f"Patient/p{n % 7}")
    stop = threading.Event()
    workers = [
        Worker(Outbox(engine), HttpTransport(2, 5), RetryPolicy(max_attempts=3), batch=5)
        for _ in range(2)
    ]
    threads = [threading.Thread(target=w.run, args=(stop, 0.05)) for w in workers]
    for t in threads:
        t.start()
    deadline = time.monotonic() + 60
    box = Outbox(engine)
    while time.monotonic() < deadline and box.metrics()["delivered"] < total:
        time.sleep(0.1)
    stop.set()
    for t in threads:
        t.join(30)
    received = Counter(json.loads(r.get_data())["id"] for r, _ in httpserver.log)
    assert len(received) == total and set(received.values()) == {1}
    metrics = box.metrics()
    assert (metrics["delivered"], metrics["queued"], metrics["in_flight"], metrics["dead"]) == (
        total,
        0,
        0,
        0,
    )


def test_operator_commands_list_replay_and_deliver(
    tmp_path: Any, httpserver: HTTPServer, capsys: pytest.CaptureFixture[str]
) -> None:
    from ipfhir.adapter.cli.main import main
    from ipfhir.adapter.store import make_engine, migrate

    data = tmp_path / "data"
    engine = make_engine(f"sqlite:///{(data / 'ipfhir.sqlite3').resolve()}")
    migrate(engine)
    httpserver.expect_request("/ke").respond_with_data("{}", status=410)
    _queue(engine, httpserver.url_for("/ke"), 7)
    assert main(["worker", "--once", "--data-dir", str(data)]) == 0
    assert main(["outbox", "list", "--status", "dead", "--data-dir", str(data)]) == 0
    (line,) = capsys.readouterr().out.splitlines()
    listed = json.loads(line)
    assert (listed["message_id"], listed["status"], listed["attempts"]) == ("m-7", "dead", 1)
    assert main(["outbox", "replay", "m-7", "--data-dir", str(data)]) == 0
    assert main(["outbox", "replay", "m-7", "--data-dir", str(data)]) == 1
    httpserver.clear()
    httpserver.expect_request("/ke").respond_with_handler(_ok)
    assert main(["worker", "--once", "--data-dir", str(data)]) == 0
    capsys.readouterr()
    assert main(["outbox", "metrics", "--data-dir", str(data)]) == 0
    metrics = json.loads(capsys.readouterr().out)
    assert (metrics["delivered"], metrics["dead"]) == (1, 0)
    engine.dispose()


def test_a_redirect_is_not_followed_and_ends_the_message(
    engine: Engine, box: Outbox, clock: FakeClock, httpserver: HTTPServer
) -> None:
    httpserver.expect_request("/ke").respond_with_data(
        "", status=307, headers={"Location": httpserver.url_for("/elsewhere")}
    )
    httpserver.expect_request("/elsewhere").respond_with_handler(_ok)
    _queue(engine, httpserver.url_for("/ke"), 1)
    _drain(_worker(box, clock), clock, rounds=2)
    msg = box.get("m-1")
    assert msg is not None and msg.status == "dead" and "redirect" in (msg.last_error or "")
    assert [r.path for r, _ in httpserver.log] == ["/ke"]  # the body went nowhere else


@pytest.fixture
def trickling_url() -> Iterator[str]:
    """A receiver that answers 200 and then sends its body one byte every 0.2 s."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(8)
    stop = threading.Event()

    def serve() -> None:
        listener.settimeout(0.2)
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
            except TimeoutError:
                continue
            with conn:
                conn.recv(65536)
                conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n")
                for _ in range(1000):
                    if stop.is_set():
                        break
                    try:
                        conn.sendall(b"x")
                    except OSError:
                        break
                    time.sleep(0.2)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{listener.getsockname()[1]}/ke"
    stop.set()
    thread.join(5)
    listener.close()


def test_a_trickling_answer_is_cut_at_the_deadline(
    engine: Engine, box: Outbox, clock: FakeClock, trickling_url: str
) -> None:
    _queue(engine, trickling_url, 1)
    transport = HttpTransport(connect_timeout=2, read_timeout=2, deadline=1.0)
    worker = Worker(box, transport, RetryPolicy(max_attempts=2), clock=clock)
    started = time.monotonic()
    worker.run_once()
    assert time.monotonic() - started < 5  # not 200 s of trickle
    msg = box.get("m-1")
    assert msg is not None and msg.status == "queued"
    assert "not complete within 1 s" in (msg.last_error or "")


def test_the_worker_waits_out_a_database_that_is_away(engine: Engine) -> None:
    from sqlalchemy.exc import OperationalError

    class Flaky(Outbox):
        calls = 0

        def claim(self, limit: int = 20, lease: float = 60.0) -> list[Any]:
            Flaky.calls += 1
            if Flaky.calls <= 2:
                raise OperationalError("BEGIN IMMEDIATE", {}, Exception("database is locked"))
            stop.set()
            return []

    stop = threading.Event()
    worker = Worker(Flaky(engine), HttpTransport(), RetryPolicy())
    worker.run(stop, idle=0.01)  # returns once the third claim sets stop: it did not die
    assert Flaky.calls == 3


def test_a_stopping_worker_puts_back_what_it_has_not_sent(
    engine: Engine, box: Outbox, clock: FakeClock, httpserver: HTTPServer
) -> None:
    stop = threading.Event()

    def answer_then_stop(request: Request) -> Response:
        stop.set()  # the shutdown comes while the first message is on its way
        return _ok(request)

    httpserver.expect_request("/ke").respond_with_handler(answer_then_stop)
    for n in range(5):
        _queue(engine, httpserver.url_for("/ke"), n, person=f"Patient/p{n}")
    assert _worker(box, clock).run_once(stop) == 1
    states = {m.message_id: (m.status, m.attempts) for m in box.list()}
    assert states == {"m-0": ("delivered", 1)} | {f"m-{n}": ("queued", 0) for n in range(1, 5)}
    assert [m.message_id for m in box.claim(limit=10)] == [f"m-{n}" for n in range(1, 5)]


def test_an_unforeseen_failure_is_one_messages_failed_attempt(
    engine: Engine, box: Outbox, clock: FakeClock, httpserver: HTTPServer
) -> None:
    httpserver.expect_request("/ke").respond_with_handler(_ok)
    for n in range(3):
        _queue(engine, httpserver.url_for("/ke"), n, person=f"Patient/p{n}")

    def broken_token_source(destination: str) -> str:
        raise KeyError("en feil i koden")

    worker = _worker(box, clock)
    worker.transport = HttpTransport(2, 2, token_for=broken_token_source)
    assert worker.run_once() == 3  # no crash: each message had its failed attempt
    assert {(m.status, m.attempts) for m in box.list()} == {("queued", 1)}
    assert all("internal error: KeyError" in str(m.last_error) for m in box.list())
    _drain(worker, clock, rounds=5)
    assert {m.status for m in box.list()} == {"dead"}  # visibly, after the policy's attempts
    worker.transport = HttpTransport(2, 2)
    for m in box.list():
        assert box.replay(m.message_id)
    _drain(worker, clock, rounds=2)
    assert {m.status for m in box.list()} == {"delivered"}


def test_a_long_backlog_of_one_person_holds_up_nobody_else(
    engine: Engine, box: Outbox, clock: FakeClock, httpserver: HTTPServer
) -> None:
    url = httpserver.url_for("/ke")
    for n in range(300):  # one person's messages first: all but the first wait for it
        _queue(engine, url, n, person="Patient/travel")
    for n in range(300, 304):
        _queue(engine, url, n, person=f"Patient/p{n}")
    clock.now = time.time() + 1.0  # all are due (queuing them may take longer than a second)
    claimed = [m.message_id for m in box.claim(limit=5)]
    assert claimed == ["m-0", "m-300", "m-301", "m-302", "m-303"]
    assert [m.message_id for m in box.claim(limit=5)] == []  # each person's next waits
