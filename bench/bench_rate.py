"""Latency at a constant offered rate (wrk2-style, with plain wrk and bench/wrk/rate.lua); prints
a table.

    apt-get install -y wrk
    .venv/bin/python bench/bench_rate.py [--plans 100000] [--rate 500] [--seconds 20] [--runs 3]
        [--backend sqlite|postgres|both] [--workers 1]

``--plans`` persons, each with a CarePlan (``bench_server.preload``: the store's writer, no
HTTP), then two servers on the same database, measured in the same run, case by case and
alternating (the idle one costs no CPU):

- ``store``:  ``bench/serve_store.py`` — the routes over the bare store (no token, consent, audit);
- ``secure``: ``ipfhir serve --dev`` as deployed, with a token of the plans' owner.

Cases: ``GET /CarePlan/{id}`` and ``GET /CarePlan?patient={pid}``, spread over every stored person
in a fixed shuffled order (the consent context cache holds 512 persons: nearly every secure
request is a cache miss, as on a day that touches many persons once). wrk offers ``--rate``
requests/s from 2 threads over 16 connections; ``rate.lua`` sends each request at its slot
and counts the sends that slipped behind their slot by more than 1 ms ("late": where wrk's
latencies, timed from the send, would understate a stall). Reported: achieved requests/s,
p50/p99/max latency, late sends, the server's CPU per request; medians of ``--runs``, with the
load average beside them. ``--profile DIR``: py-spy samples the secure server (collapsed
stacks; ``--profile-gil``: only the thread holding the GIL). ``--compare DIR`` (SQLite): also
the servers of another checkout (``git archive REV | tar -x -C DIR`` with its own
``DIR/.venv``, the same schema) on a copy of the preloaded file, case by case beside these:
before and after in one run. wrk times a request from its send on a connection; each
connection's first request is sent at once (16 of ~10,000 requests).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from bench_server import cpu_seconds, preload, server_cmd  # noqa: E402
from bench_wrk import spawn  # noqa: E402
from scratch import scratch_schema  # noqa: E402

from tests.integration.conftest import dev_token, free_port  # noqa: E402

LUA = ROOT / "bench" / "wrk" / "rate.lua"
CASES = ("read CarePlan", "CarePlan?patient=")


def wrk_rate(base: str, paths: Path, token: str, args: argparse.Namespace) -> dict[str, Any]:
    env = {**os.environ, "WRK_RATE": str(args.rate), "WRK_PATHS": str(paths), "WRK_TOKEN": token}
    env["WRK_THREADS"] = "2"
    cmd = ["wrk", "-t", "2", "-c", "16", "-d", f"{args.seconds}s", "--timeout", "10s"]
    cmd += ["--latency", "-s", str(LUA), base]
    out = subprocess.run(cmd, env=env, capture_output=True, text=True, check=True).stdout
    return dict(json.loads(out.strip().splitlines()[-1]))


def profile(pid: int, case: str, args: argparse.Namespace) -> subprocess.Popen[bytes]:
    """py-spy (``pip install py-spy``) on the secure server for the case: collapsed stacks."""
    name = case.split("?")[0].replace(" ", "-")
    out = Path(args.profile) / f"rate-{name}-{pid}-{time.monotonic_ns()}.txt"
    spy = Path(sys.executable).parent / "py-spy"
    cmd = [str(spy) if spy.exists() else "py-spy", "record", "--pid", str(pid)]
    cmd += ["--subprocesses", "--nonblocking", "--duration", str(args.seconds)]
    cmd += ["--gil"] if args.profile_gil else []
    cmd += ["--format", "raw", "--output", str(out)]
    return subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def run(label: str, url: str, args: argparse.Namespace, tmp: Path) -> None:
    pids, ids = preload(url, args.plans)
    n = len(ids)
    order = [(i * 7919) % n for i in range(n)]  # a fixed shuffle (7919 is prime)
    files = {
        "read CarePlan": [f"/CarePlan/{ids[k]}" for k in order],
        "CarePlan?patient=": [f"/CarePlan?patient={pids[k]}" for k in order],
    }
    paths = {}
    for case, lines in files.items():
        paths[case] = tmp / f"{label}-{case.split('?')[0].replace(' ', '-')}.paths"
        paths[case].write_text("\n".join(lines) + "\n", encoding="utf-8")
    roots = [(ROOT, url, "")]
    if args.compare:
        if not url.startswith("sqlite:///"):
            raise SystemExit("--compare: SQLite only")
        copy = url.removeprefix("sqlite:///") + ".before"
        for ext in ("", "-wal"):  # the preload closed its connections: no WAL left, normally
            if Path(url.removeprefix("sqlite:///") + ext).exists():
                shutil.copyfile(url.removeprefix("sqlite:///") + ext, copy + ext)
        roots.append((Path(args.compare), f"sqlite:///{copy}", " before"))
    servers: dict[str, tuple[subprocess.Popen[bytes], str, str]] = {}
    try:
        for mode in ("store", "secure"):
            for root, db, suffix in roots:
                port, data = free_port(), tmp / f"data-{label}{suffix.strip()}"
                cmd = server_cmd(mode, db, port, data, args.workers)
                if root != ROOT:  # the other checkout's python and files
                    cmd[0] = str(root / ".venv" / "bin" / "python")
                    cmd = [
                        str(root / c[len(str(ROOT)) + 1 :]) if c.startswith(f"{ROOT}/bench") else c
                        for c in cmd
                    ]
                proc = spawn(cmd, root, port, tmp / f"{label}-{mode}{suffix.strip()}.log")
                token = dev_token(data) if mode == "secure" else ""
                servers[mode + suffix] = (proc, f"http://127.0.0.1:{port}", token)
        results: dict[tuple[str, str], list[dict[str, Any]]] = {}
        for _ in range(args.runs):
            for case in CASES:
                for mode, (proc, base, token) in servers.items():
                    before = cpu_seconds(proc.pid)
                    wanted = args.profile and mode == "secure"
                    spy = profile(proc.pid, case, args) if wanted else None
                    got = wrk_rate(base, paths[case], token, args)
                    if spy is not None:
                        spy.wait(timeout=args.seconds + 60)
                    got["cpu_ms"] = (cpu_seconds(proc.pid) - before) / max(got["requests"], 1)
                    got["cpu_ms"] *= 1000
                    results.setdefault((case, mode), []).append(got)
        report(label, results, args)
    finally:
        for proc, _, _ in servers.values():
            proc.terminate()
            proc.wait(timeout=30)


def report(
    label: str, results: dict[tuple[str, str], list[dict[str, Any]]], args: argparse.Namespace
) -> None:
    load = subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip()
    print(f"\n{label}: {args.plans} persons, offered {args.rate:.0f} req/s, {args.seconds} s per")
    print(f"case, workers {args.workers}, median of {args.runs}; load: {load}")
    modes = [
        m for m in ("store before", "store", "secure before", "secure") if (CASES[0], m) in results
    ]
    head = f"{'case':20s} | " + " | ".join(f"{m:52s}" for m in modes)
    print(head + "\n" + "-" * len(head))
    for case in CASES:
        cells = []
        for mode in modes:
            rows = results[(case, mode)]

            def med(key: str, rows: list[dict[str, Any]] = rows) -> float:
                return float(statistics.median(r[key] for r in rows))

            cell = (
                f"{med('rps'):4.0f}/s p50 {med('p50_ms'):5.2f} p99 {med('p99_ms'):6.2f} "
                f"max {med('max_ms'):6.1f} late {med('late'):3.0f} cpu {med('cpu_ms'):4.2f}"
            )
            errors = sum(r["errors"] for r in rows)
            cells.append(cell + (f" ({errors} err)" if errors else ""))
        print(f"{case:20s} | " + " | ".join(f"{c:52s}" for c in cells))
    print("(achieved requests/s; latency ms; sends late >1 ms; server CPU ms per request)")


def main() -> None:
    ap = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    ap.add_argument("--plans", type=int, default=100_000)
    ap.add_argument("--rate", type=float, default=500.0)
    ap.add_argument("--seconds", type=int, default=20)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--workers", type=int, default=1)
    ap.add_argument("--profile", metavar="DIR", help="py-spy the secure server into DIR")
    ap.add_argument("--backend", choices=["sqlite", "postgres", "both"], default="sqlite")
    ap.add_argument("--postgres", default="postgresql+psycopg://root@127.0.0.1:5432/test")
    ap.add_argument("--compare", metavar="DIR", help="another checkout to measure beside")
    ap.add_argument(
        "--profile-gil", action="store_true", help="sample only the thread holding the GIL (CPU)"
    )
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        if args.backend in ("sqlite", "both"):
            run("SQLite", f"sqlite:///{tmp / 'bench.sqlite3'}", args, tmp)
        if args.backend in ("postgres", "both"):
            with scratch_schema(args.postgres, "ipfhir_rate") as schema:
                run("PostgreSQL", f"{args.postgres}?options=-csearch_path%3D{schema}", args, tmp)


if __name__ == "__main__":
    main()
