"""The delivery engine between two adapters on this machine: the hospital's outbox (SQLite, or
PostgreSQL with ``--database``) delivered by ``--workers`` worker threads to the municipality's
real ``ipfhir serve`` (its own SQLite; ``--receiver-workers`` uvicorn processes), logging in at
its token endpoint as ``ipfhir worker`` does (tests/integration/exchange_world.py).

A producer queues ``--count`` ip-notifications for ``--persons`` synthetic persons at
``--rate`` per second (0: all before delivery starts) while the workers deliver. Each scenario
runs without faults and with ``--faults`` (default 20 %) of the attempts failed on purpose in
the sender's transport: half of them lose the receiver's answer after it carried the message
out (the case that would double a message without de-duplication), a quarter are refused 503
before sending, a quarter fail to connect.

Per run it prints messages/s (delivered / time from the first queued — with ``--rate 0``: from
the start of delivery — to the last delivered), p50/p99 delivery latency (delivered − queued:
with ``--rate 0`` mostly the wait in the backlog; at an offered rate the system keeps up with,
the delivery itself), the attempts, and the proof: lost (queued but neither received nor
visibly dead) and duplicated (Tasks at the receiver beyond one per
message) — both must be 0 — then the medians over ``--runs``. Prints numbers; asserts nothing.

    PYTHONPATH=. .venv/bin/python bench/bench_sync.py [--count 10000] [--runs 3]
"""

from __future__ import annotations

import argparse
import logging
import random
import statistics
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from ipfhir.adapter.store import make_engine, migrate
from ipfhir.adapter.store.outbox import Message, Outbox
from ipfhir.adapter.sync.policy import Attempt, RetryPolicy
from ipfhir.adapter.sync.worker import HttpTransport
from tests.integration.exchange_world import Exchange


class FaultyTransport:
    """``inner``, with ``rate`` of the attempts failing as the module doc says."""

    def __init__(self, inner: HttpTransport, rate: float, seed: int) -> None:
        self.inner, self.rate = inner, rate
        self.rng = random.Random(seed)
        self.lock = threading.Lock()
        self.injected = 0

    def post(self, message: Message) -> Attempt:
        with self.lock:
            draw = self.rng.random()
        if draw >= self.rate:
            return self.inner.post(message)
        with self.lock:
            self.injected += 1
        kind = draw / self.rate
        if kind < 0.5:
            self.inner.post(message)  # carried out there; the answer never comes back
            return Attempt(error="injected: answer lost")
        if kind < 0.75:
            return Attempt(503, "", "0")
        return Attempt(error="injected: ConnectionError")


@dataclass
class Result:
    per_second: float
    p50_ms: float
    p99_ms: float
    attempts: int
    injected: int
    lost: int
    duplicated: int
    dead: int


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def run_once(args: argparse.Namespace, faults: float, seed: int) -> Result:
    tmp = Path(tempfile.mkdtemp(prefix="bench-sync-"))
    if args.database:
        engine = make_engine(args.database)
        migrate(engine)
    else:
        engine = make_engine(f"sqlite:///{tmp / 'h.sqlite3'}")
    exchange = Exchange(engine, tmp / "h", tmp / "m", tmp / "m.log")
    exchange.prepare()
    if args.receiver_workers > 1:
        exchange.stop()
        exchange.start("--workers", str(args.receiver_workers))
    try:
        return _deliver(args, exchange, faults, seed)
    finally:
        exchange.stop()
        engine.dispose()


def _deliver(args: argparse.Namespace, exchange: Exchange, faults: float, seed: int) -> Result:
    box = Outbox(exchange.h_engine)
    policy = RetryPolicy(max_attempts=30, base=0.05, cap=0.5)
    transports = [
        FaultyTransport(
            HttpTransport(connect_timeout=2, read_timeout=30, token_for=exchange.tokens()),
            faults,
            seed * 100 + n,
        )
        for n in range(args.workers)
    ]
    workers = [exchange.worker(policy, t, batch=args.batch) for t in transports]
    stop = threading.Event()
    if args.rate == 0:
        exchange.queue(args.count, args.persons)
    began = time.time()
    threads = [threading.Thread(target=w.run, args=(stop, 0.01)) for w in workers]
    for t in threads:
        t.start()
    if args.rate > 0:
        step = max(1, int(args.rate / 20))
        began = time.monotonic()
        for start in range(0, args.count, step):
            exchange.queue(min(step, args.count - start), args.persons, start)
            ahead = began + (start + step) / args.rate - time.monotonic()
            if ahead > 0:
                time.sleep(ahead)
    deadline = time.monotonic() + args.timeout
    while time.monotonic() < deadline:
        m = box.metrics()
        if m["delivered"] + m["dead"] >= args.count:
            break
        time.sleep(0.2)
    stop.set()
    for t in threads:
        t.join(60)
    messages = box.list(limit=args.count + 10)
    delivered = [m for m in messages if m.status == "delivered" and m.finished_at is not None]
    rows, tasks, distinct = exchange.received()
    first = max(min(m.created_at for m in messages), began)  # backlog: from delivery's start
    last = max(m.finished_at or 0.0 for m in delivered) if delivered else first
    dead = sum(1 for m in messages if m.status == "dead")
    latencies = [1000 * ((m.finished_at or 0.0) - m.created_at) for m in delivered]
    return Result(
        per_second=len(delivered) / max(last - first, 1e-9),
        p50_ms=_percentile(latencies, 0.5) if latencies else float("nan"),
        p99_ms=_percentile(latencies, 0.99) if latencies else float("nan"),
        attempts=sum(m.attempts for m in messages),
        injected=sum(t.injected for t in transports),
        lost=args.count - rows - dead if rows <= args.count else 0,
        duplicated=(tasks - distinct) + max(0, tasks - rows),
        dead=dead,
    )


def _line(name: str, r: Result) -> str:
    return (
        f"{name:<22} {r.per_second:8.1f} msg/s  p50 {r.p50_ms:8.1f} ms  p99 {r.p99_ms:8.1f} ms  "
        f"attempts {r.attempts:6.0f}  injected {r.injected:5.0f}  dead {r.dead:.0f}  "
        f"lost {r.lost:.0f}  duplicated {r.duplicated:.0f}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--count", type=int, default=10_000)
    parser.add_argument("--persons", type=int, default=500)
    parser.add_argument("--workers", type=int, default=4, help="sender worker threads")
    parser.add_argument("--receiver-workers", type=int, default=1)
    parser.add_argument("--batch", type=int, default=20)
    parser.add_argument("--rate", type=float, default=0.0, help="queued per second; 0: all first")
    parser.add_argument("--faults", type=float, default=0.2)
    parser.add_argument("--runs", type=int, default=1)
    parser.add_argument("--timeout", type=float, default=1800.0)
    parser.add_argument("--database", default=None, help="the sender's database URL (PostgreSQL)")
    parser.add_argument("--only", choices=("clean", "faults"), default=None)
    args = parser.parse_args()
    logging.disable(logging.WARNING)
    scenarios = [("without faults", 0.0), (f"with {args.faults:.0%} faults", args.faults)]
    if args.only:
        scenarios = [scenarios[0 if args.only == "clean" else 1]]
    print(
        f"{args.count} notifications, {args.persons} persons, {args.workers} sender workers, "
        f"{args.receiver_workers} receiver process(es), rate {args.rate or 'all queued first'}, "
        f"sender {'PostgreSQL' if args.database else 'SQLite'}",
        flush=True,
    )
    results: dict[str, list[Result]] = {name: [] for name, _ in scenarios}
    for run in range(args.runs):
        for name, faults in scenarios:
            result = run_once(args, faults, run)
            results[name].append(result)
            print(_line(f"run {run + 1} {name}", result), flush=True)
    for name, rs in results.items():
        median = Result(
            *(statistics.median(getattr(r, f) for r in rs) for f in Result.__dataclass_fields__)
        )
        print(_line(f"median {name}", median), flush=True)


if __name__ == "__main__":
    main()
