"""Benchmark a real ``ipfhir serve`` on 127.0.0.1 (SQLite and/or PostgreSQL); prints numbers.

    .venv/bin/python bench/bench_server.py --backend sqlite --plans 100000
    .venv/bin/python bench/bench_server.py --backend postgres --plans 100000

Measures: validated creates/s (sequential, 8 clients), read p50/p99 and search-by-patient
p50/p99 at a paced rate (default 500 requests/s) with ``--plans`` individual plans stored.
The bulk preload writes through the store's writer (indexes, constraint) but skips validation
to save time; everything measured goes through HTTP with validation.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import create_engine, text

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from adapter.services.validation import minimal_structural_check  # noqa: E402
from adapter.store import SqlRepository, make_engine, migrate  # noqa: E402
from tests.integration.conftest import free_port, start_server  # noqa: E402

IP_CATEGORY = {"coding": [{"system": "urn:oid:2.16.578.1.12.4.1.1.9602", "code": "A02-2"}]}
JSON = {"Content-Type": "application/fhir+json"}


def plan(pid: str) -> dict[str, Any]:
    return {
        "resourceType": "CarePlan",
        "status": "active",
        "intent": "plan",
        "category": [IP_CATEGORY],
        "title": "Individuell plan – mål: å bo hjemme i Kárášjohka",
        "subject": {"reference": f"Patient/{pid}"},
        "period": {"start": "2024-03-01"},
    }


def preload(url: str, n: int) -> list[str]:
    engine = make_engine(url)
    migrate(engine)
    repo = SqlRepository(engine, minimal_structural_check)
    pids = [f"bench-{uuid.uuid4().hex[:16]}" for _ in range(n)]
    t0 = time.perf_counter()
    for i in range(0, n, 1000):
        with repo.begin_write() as conn:
            for pid in pids[i : i + 1000]:
                repo.writer.create(conn, plan(pid), checked=True)
    print(f"  preload: {n} plans in {time.perf_counter() - t0:.1f} s (store writer, no HTTP)")
    engine.dispose()
    return pids


def creates(base: str, n: int, clients: int) -> float:
    def worker(count: int) -> None:
        with httpx.Client(base_url=base) as c:
            for _ in range(count):
                r = c.post("/CarePlan", json=plan(uuid.uuid4().hex), headers=JSON)
                assert r.status_code == 201, r.text

    t0 = time.perf_counter()
    with ThreadPoolExecutor(clients) as pool:
        list(pool.map(worker, [n // clients] * clients))
    return (n // clients * clients) / (time.perf_counter() - t0)


def paced(base: str, paths: list[str], rate: float) -> tuple[float, float, float]:
    """Open-loop: requests start every 1/rate s (8 connections); returns p50, p99 ms, achieved/s."""
    lat: list[float] = []
    lock = threading.Lock()
    start = time.perf_counter()
    clients = [httpx.Client(base_url=base) for _ in range(8)]

    def one(i: int) -> None:
        due = start + i / rate
        delay = due - time.perf_counter()
        if delay > 0:
            time.sleep(delay)
        t = time.perf_counter()
        r = clients[i % 8].get(paths[i])
        assert r.status_code == 200, r.text
        with lock:
            lat.append((time.perf_counter() - t) * 1000)

    with ThreadPoolExecutor(8) as pool:
        list(pool.map(one, range(len(paths))))
    elapsed = time.perf_counter() - start
    for c in clients:
        c.close()
    q = statistics.quantiles(lat, n=100)
    return q[49], q[98], len(paths) / elapsed


def run(backend: str, url: str, args: argparse.Namespace, tmp: Path) -> None:
    print(f"== {backend} ==")
    pids = preload(url, args.plans)
    port = free_port()
    extra = ["--database", url]
    proc = start_server(extra, port, tmp / f"{backend}.log")
    base = f"http://127.0.0.1:{port}"
    try:
        seq = creates(base, args.creates, 1)
        par = creates(base, args.creates, 8)
        print(f"  validated creates/s: sequential {seq:.0f}, 8 clients {par:.0f}")
        with httpx.Client(base_url=base) as c:
            ids = [
                c.get(f"/CarePlan?patient={p}").json()["entry"][0]["resource"]["id"]
                for p in pids[:200]
            ]
        n = args.requests
        reads = [f"/CarePlan/{ids[i % len(ids)]}" for i in range(n)]
        p50, p99, got = paced(base, reads, args.rate)
        print(f"  read: p50 {p50:.2f} ms, p99 {p99:.2f} ms at {got:.0f} req/s")
        searches = [f"/CarePlan?patient={pids[(i * 7919) % len(pids)]}" for i in range(n)]
        p50, p99, got = paced(base, searches, args.rate)
        print(f"  search by patient: p50 {p50:.2f} ms, p99 {p99:.2f} ms at {got:.0f} req/s")
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--backend", choices=["sqlite", "postgres", "both"], default="both")
    ap.add_argument("--plans", type=int, default=100_000)
    ap.add_argument("--creates", type=int, default=2000)
    ap.add_argument("--requests", type=int, default=5000)
    ap.add_argument("--rate", type=float, default=500.0)
    ap.add_argument("--pg-url", default="postgresql+psycopg://root@127.0.0.1:5432/test")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        if args.backend in ("sqlite", "both"):
            run("sqlite", f"sqlite:///{tmp / 'bench.sqlite3'}", args, tmp)
        if args.backend in ("postgres", "both"):
            schema = f"ipfhir_bench_{uuid.uuid4().hex[:8]}"
            admin = create_engine(args.pg_url)
            with admin.begin() as conn:
                conn.execute(text(f'CREATE SCHEMA "{schema}"'))
            try:
                run("postgres", f"{args.pg_url}?options=-csearch_path%3D{schema}", args, tmp)
            finally:
                with admin.begin() as conn:
                    conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
                admin.dispose()


if __name__ == "__main__":
    main()
