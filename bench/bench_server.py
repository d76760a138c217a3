"""Benchmark a real server on 127.0.0.1 (SQLite and/or PostgreSQL); prints numbers.

    .venv/bin/python bench/bench_server.py --backend sqlite --plans 100000
    .venv/bin/python bench/bench_server.py --backend postgres --plans 100000 --runs 3

Two servers over the same database, measured in the same run, one after the other:

- ``store``:  the routes over the bare store (``bench/serve_store.py``: no token, no consent, no
  audit) — the store and HTTP path alone. Bench wiring only, never a way to serve.
- ``secure``: ``ipfhir serve --dev`` as deployed (bearer token, consent enforcement, one
  AuditEvent written per disclosure), called with a token of the plans' owner.

Reads and searches go to all stored persons (``--persons 0``, the default: the consent context
cache of 512 persons almost always misses) or to the first ``--persons N`` (e.g. 500: the cache
hits). Measures: validated creates/s (sequential, 8 clients), read p50/p99 and
search-by-patient p50/p99 at a paced rate (default 500 requests/s) with ``--plans`` plans stored;
medians over ``--runs``.
The load generator runs on the same 2 cores as the server: its own CPU time per request is
printed beside the server's, so the numbers can be read with that in mind.
The bulk preload writes through the store's writer (indexes, constraint) without validation.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from scratch import scratch_schema  # noqa: E402

from ipfhir.adapter.fhir.validation import minimal_structural_check  # noqa: E402
from ipfhir.adapter.store import SqlRepository, make_engine, migrate  # noqa: E402
from ipfhir.mappings.identifiers import ORGNR_SYSTEM  # noqa: E402
from tests.integration.conftest import ORGNR, dev_token, free_port  # noqa: E402

IP_CATEGORY = {"coding": [{"system": "urn:oid:2.16.578.1.12.4.1.1.9602", "code": "A02-2"}]}
JSON = {"Content-Type": "application/fhir+json"}
ORG_ID = "bench-eier"


def plan(pid: str) -> dict[str, Any]:
    return {
        "resourceType": "CarePlan",
        "status": "active",
        "intent": "plan",
        "category": [IP_CATEGORY],
        "title": "Individuell plan – mål: å bo hjemme i Kárášjohka",
        "subject": {"reference": f"Patient/{pid}"},
        "period": {"start": "2024-03-01"},
        "author": {"reference": f"Organization/{ORG_ID}"},
        # what the ip-careplan profile asks of a plan (its team and consents are written later)
        "created": "2024-03-01",
        "careTeam": [{"reference": f"CareTeam/{pid}-team"}],
        "supportingInfo": [{"reference": f"Consent/{pid}-samtykke"}],
    }


def preload(url: str, n: int) -> tuple[list[str], list[str]]:
    """(patient ids, their CarePlan ids), in the same order."""
    engine = make_engine(url)
    migrate(engine)
    repo = SqlRepository(engine, minimal_structural_check)
    org = {
        "resourceType": "Organization",
        "identifier": [{"system": ORGNR_SYSTEM, "value": ORGNR}],
        "name": "Guovdageainnu suohkan",
    }
    with repo.begin_write() as conn:
        repo.writer.update(conn, "Organization", ORG_ID, org, None, checked=True)
    pids = [f"bench-{uuid.uuid4().hex[:16]}" for _ in range(n)]
    ids: list[str] = []
    t0 = time.perf_counter()
    for i in range(0, n, 1000):
        with repo.begin_write() as conn:
            for pid in pids[i : i + 1000]:
                ids.append(repo.writer.create(conn, plan(pid), checked=True)["id"])
    print(f"  preload: {n} plans in {time.perf_counter() - t0:.1f} s (store writer, no HTTP)")
    engine.dispose()
    return pids, ids


def cpu_seconds(pid: int) -> float:
    """utime + stime of ``pid`` and its children (uvicorn workers), from /proc."""
    total = 0.0
    tick = os.sysconf("SC_CLK_TCK")
    pids = [pid]
    try:
        kids = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
        pids += [int(k) for k in kids]
    except OSError:
        pass
    for p in pids:
        try:
            fields = Path(f"/proc/{p}/stat").read_text().rsplit(")", 1)[1].split()
            total += (int(fields[11]) + int(fields[12])) / tick
        except OSError:
            continue
    return total


class Meter:
    """Wall time, server CPU and this process's (the load generator's) CPU over a block."""

    def __init__(self, server_pid: int) -> None:
        self.pid = server_pid

    def __enter__(self) -> Meter:
        self.t, self.s, self.g = time.perf_counter(), cpu_seconds(self.pid), time.process_time()
        return self

    def __exit__(self, *_: Any) -> None:
        self.wall = time.perf_counter() - self.t
        self.server_cpu = cpu_seconds(self.pid) - self.s
        self.gen_cpu = time.process_time() - self.g


def creates(base: str, auth: dict[str, str], n: int, clients: int) -> float:
    def worker(count: int) -> None:
        with httpx.Client(base_url=base, headers={**JSON, **auth}) as c:
            for _ in range(count):
                r = c.post("/CarePlan", json=plan(uuid.uuid4().hex))
                assert r.status_code == 201, r.text

    t0 = time.perf_counter()
    with ThreadPoolExecutor(clients) as pool:
        list(pool.map(worker, [n // clients] * clients))
    return (n // clients * clients) / (time.perf_counter() - t0)


def paced(
    base: str, auth: dict[str, str], paths: list[str], rate: float
) -> tuple[float, float, float]:
    """Open-loop: requests start every 1/rate s (8 connections); returns p50, p99 ms, achieved/s."""
    lat: list[float] = []
    lock = threading.Lock()
    clients = [httpx.Client(base_url=base, headers=auth) for _ in range(8)]
    start = time.perf_counter()

    def one(i: int) -> None:
        delay = start + i / rate - time.perf_counter()
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


def spawn(cmd: list[str], port: int, log: Path) -> subprocess.Popen[bytes]:
    with log.open("wb") as sink:
        proc = subprocess.Popen(cmd, cwd=ROOT, stdout=sink, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited: {log.read_text(errors='replace')}")
        try:
            if httpx.get(f"http://127.0.0.1:{port}/metadata", timeout=1).status_code == 200:
                return proc
        except httpx.HTTPError:
            time.sleep(0.2)
    proc.kill()
    raise RuntimeError("server did not start")


def server_cmd(mode: str, url: str, port: int, data: Path, workers: int) -> list[str]:
    if mode == "store":
        script = str(ROOT / "bench" / "serve_store.py")
        return [sys.executable, script, "--database", url, "--port", str(port)] + [
            "--workers",
            str(workers),
        ]
    return [
        sys.executable,
        "-m",
        "ipfhir.adapter.cli",
        "serve",
        "--dev",
        "--data-dir",
        str(data),
    ] + [
        "--database",
        url,
        "--port",
        str(port),
        "--workers",
        str(workers),
    ]


def one_run(
    base: str,
    auth: dict[str, str],
    stored: tuple[list[str], list[str]],
    pid: int,
    args: argparse.Namespace,
) -> dict[str, float]:
    out: dict[str, float] = {}
    with Meter(pid) as m:
        out["creates_seq"] = creates(base, auth, args.creates, 1)
    out["create_server_cpu_ms"] = m.server_cpu / args.creates * 1000
    out["create_gen_cpu_ms"] = m.gen_cpu / args.creates * 1000
    out["creates_8"] = creates(base, auth, args.creates, 8)
    n, persons = args.requests, min(args.persons or len(stored[0]), len(stored[0]))
    pids, ids = stored[0][:persons], stored[1][:persons]
    for name, paths in (
        ("read", [f"/CarePlan/{ids[(i * 7919) % persons]}" for i in range(n)]),
        ("search", [f"/CarePlan?patient={pids[(i * 7919) % persons]}" for i in range(n)]),
    ):
        with Meter(pid) as m:
            p50, p99, got = paced(base, auth, paths, args.rate)
        out |= {f"{name}_p50": p50, f"{name}_p99": p99, f"{name}_rate": got}
        out[f"{name}_server_cpu_ms"] = m.server_cpu / n * 1000
        out[f"{name}_gen_cpu_ms"] = m.gen_cpu / n * 1000
    return out


def report(mode: str, runs: list[dict[str, float]]) -> None:
    med: Callable[[str], float] = lambda k: statistics.median(r[k] for r in runs)  # noqa: E731
    print(f"  [{mode}] median of {len(runs)} run(s)")
    print(
        f"    validated creates/s: sequential {med('creates_seq'):.0f}, "
        f"8 clients {med('creates_8'):.0f}; CPU per sequential create: server "
        f"{med('create_server_cpu_ms'):.2f} ms, load generator {med('create_gen_cpu_ms'):.2f} ms"
    )
    for name in ("read", "search"):
        print(
            f"    {name}: p50 {med(name + '_p50'):.2f} ms, p99 {med(name + '_p99'):.2f} ms "
            f"at {med(name + '_rate'):.0f} req/s; CPU per request: server "
            f"{med(name + '_server_cpu_ms'):.2f} ms, "
            f"load generator {med(name + '_gen_cpu_ms'):.2f} ms"
        )


def run(backend: str, url: str, args: argparse.Namespace, tmp: Path) -> None:
    print(f"== {backend} (workers {args.workers}; load generator on the same cores) ==")
    stored = preload(url, args.plans)
    spread = args.persons or args.plans
    print(f"  reads and searches spread over {spread} persons (context cache: 512 persons)")
    data = tmp / f"data-{backend}"
    for mode in args.modes.split(","):
        port = free_port()
        proc = spawn(server_cmd(mode, url, port, data, args.workers), port, tmp / f"{mode}.log")
        auth = {}
        if mode == "secure":
            auth = {"Authorization": f"Bearer {dev_token(data)}"}
        try:
            runs = [
                one_run(f"http://127.0.0.1:{port}", auth, stored, proc.pid, args)
                for _ in range(args.runs)
            ]
            report(mode, runs)
        finally:
            proc.terminate()
            proc.wait(timeout=30)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--backend", choices=["sqlite", "postgres", "both"], default="both")
    ap.add_argument("--modes", default="store,secure", help="store, secure or store,secure")
    ap.add_argument("--plans", type=int, default=100_000)
    ap.add_argument("--creates", type=int, default=2000)
    ap.add_argument("--requests", type=int, default=5000)
    ap.add_argument("--rate", type=float, default=500.0)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--workers", type=int, default=1)
    ap.add_argument(
        "--persons",
        type=int,
        default=0,
        help="confine reads and searches to this many persons (0: all; 500: cache hits)",
    )
    ap.add_argument("--pg-url", default="postgresql+psycopg://root@127.0.0.1:5432/test")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        if args.backend in ("sqlite", "both"):
            run("sqlite", f"sqlite:///{tmp / 'bench.sqlite3'}", args, tmp)
        if args.backend in ("postgres", "both"):
            with scratch_schema(args.pg_url, "ipfhir_bench") as schema:
                run("postgres", f"{args.pg_url}?options=-csearch_path%3D{schema}", args, tmp)


if __name__ == "__main__":
    main()
