"""Load with wrk (not Python: the generator does not eat the server's Python CPU); prints a table.

    apt-get install -y wrk
    .venv/bin/python bench/bench_wrk.py [--seconds 10] [--runs 3] [--goals 10000] [--workers 1]
        [--postgres URL]

One person's plan (``fixtures/bundles/sami-plan.bundle.json``, written straight into the store)
plus ``--goals`` more Goals for that person, then two servers on the same database, measured in
the same run, case by case, one after the other (the idle one costs no CPU):

- ``store``:  ``bench/serve_store.py`` — the routes over the bare store (validating, no token,
  no consent, no audit);
- ``secure``: ``ipfhir serve --dev`` as deployed, with a token of the plan's owner.

Cases: create Goal (1 and 8 connections), read Goal (8), ``Goal?patient=…&_count=10`` (8).
Reported: requests/s, p50/p99 latency (wrk's), and the server's CPU per request (utime + stime
of the server and its workers from /proc), medians of ``--runs``; ``uptime`` load beside them.
``--profile CASE``: py-spy samples the secure server during the cases whose name contains CASE
(collapsed stacks in ``--profile-dir``; with ``--profile-gil`` only the thread holding the GIL:
where the Python CPU goes, without the threads waiting on a lock or the database). Lua script:
``bench/wrk/fhir.lua`` (method, body file and token from the environment).

``--compare DIR``: also the servers of another checkout (``git archive REV | tar -x -C DIR``
with its own ``DIR/.venv``) on a copy of the database taken back to that checkout's schema
revision (``--compare-revision``), interleaved case by case: before and after in one run.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import uuid
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

import httpx  # noqa: E402
from alembic import command  # noqa: E402
from alembic.config import Config  # noqa: E402
from bench_server import cpu_seconds  # noqa: E402
from sqlalchemy import create_engine, text  # noqa: E402

from ipfhir.adapter.fhir.validation import minimal_structural_check  # noqa: E402
from ipfhir.adapter.store import SqlRepository, make_engine, migrate  # noqa: E402
from tests.integration.conftest import dev_token, free_port  # noqa: E402

BUNDLE = ROOT / "fixtures" / "bundles" / "sami-plan.bundle.json"
LUA = ROOT / "bench" / "wrk" / "fhir.lua"
CASES = (  # name, method, connections
    ("create Goal, 1 client", "POST", 1),
    ("create Goal, 8 clients", "POST", 8),
    ("read Goal, 8 clients", "GET", 8),
    ("Goal?patient=…&_count=10, 8 clients", "SEARCH", 8),
)


def preload(url: str, goals: int) -> tuple[str, str, dict[str, Any], str]:
    """(person id, a Goal id, a Goal to create, the owner's organisation number)."""
    engine = make_engine(url)
    migrate(engine)
    repo = SqlRepository(engine, minimal_structural_check)
    bundle = json.loads(BUNDLE.read_bytes())
    resources = [e["resource"] for e in bundle["entry"]]
    with repo.begin_write() as conn:
        for res in resources:
            repo.writer.update(conn, res["resourceType"], res["id"], res, None, checked=True)
    goal = next(r for r in resources if r["resourceType"] == "Goal")
    person = goal["subject"]["reference"].split("/", 1)[1]
    plan = next(r for r in resources if r["resourceType"] == "CarePlan")
    org_id = plan["author"]["reference"].split("/", 1)[1]
    org = next(r for r in resources if r["resourceType"] == "Organization" and r["id"] == org_id)
    orgnr = org["identifier"][0]["value"]
    new_goal = {k: v for k, v in goal.items() if k != "id"}
    for start in range(0, goals, 1000):
        with repo.begin_write() as conn:
            for _ in range(start, min(goals, start + 1000)):
                repo.writer.create(conn, dict(new_goal), checked=True)
    engine.dispose()
    return person, goal["id"], new_goal, orgnr


def wrk(url: str, method: str, conns: int, seconds: int, token: str, body: Path) -> dict[str, Any]:
    env = {
        **os.environ,
        "WRK_METHOD": "POST" if method == "POST" else "GET",
        "WRK_TOKEN": token,
        "WRK_BODY": str(body) if method == "POST" else "",
    }
    cmd = ["wrk", "-t", str(min(conns, 2)), "-c", str(conns), "-d", f"{seconds}s"]
    cmd += ["--latency", "-s", str(LUA), url]
    out = subprocess.run(cmd, env=env, capture_output=True, text=True, check=True).stdout
    return dict(json.loads(out.strip().splitlines()[-1]))


def measure(
    base: str, pid: int, case: tuple[str, str, int], ids: tuple[str, str], token: str, body: Path
) -> dict[str, Any]:
    name, method, conns = case
    person, goal_id = ids
    path = {"POST": "/Goal", "GET": f"/Goal/{goal_id}"}.get(
        method, f"/Goal?patient=Patient/{person}&_count=10"
    )
    before = cpu_seconds(pid)
    spy = profile(pid, name) if ARGS.profile and token and ARGS.profile in name else None
    found = wrk(base + path, method, conns, ARGS.seconds, token, body)
    if spy is not None:
        spy.wait(timeout=ARGS.seconds + 60)
    found["cpu_ms"] = (cpu_seconds(pid) - before) / max(found["requests"], 1) * 1000
    return found


def profile(pid: int, case: str) -> subprocess.Popen[bytes]:
    """py-spy (``pip install py-spy``) sampling the secure server and its workers for the case:
    collapsed stacks (``--format raw``, one file per case and run) in ``--profile-dir``."""
    out = Path(ARGS.profile_dir) / (case.split(",")[0].replace(" ", "-") + f"-{pid}.txt")
    spy = Path(sys.executable).parent / "py-spy"
    cmd = [str(spy) if spy.exists() else "py-spy", "record", "--pid", str(pid)]
    cmd += ["--subprocesses", "--nonblocking"] + (["--gil"] if ARGS.profile_gil else [])
    cmd += ["--duration", str(ARGS.seconds), "--format", "raw", "--output", str(out)]
    return subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def spawn(cmd: list[str], cwd: Path, port: int, log: Path) -> subprocess.Popen[bytes]:
    with log.open("wb") as sink:
        proc = subprocess.Popen(cmd, cwd=cwd, stdout=sink, stderr=subprocess.STDOUT)
    for _ in range(600):
        if proc.poll() is not None:
            raise RuntimeError(f"server exited: {log.read_text(errors='replace')}")
        try:
            if httpx.get(f"http://127.0.0.1:{port}/metadata", timeout=1).status_code == 200:
                return proc
        except httpx.HTTPError:
            subprocess.run(["sleep", "0.2"], check=True)
    proc.kill()
    raise RuntimeError("server did not start")


def downgrade(url: str, revision: str) -> None:
    cfg = Config()
    cfg.set_main_option("script_location", "ipfhir.adapter.store:migrations")
    engine = make_engine(url)
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, revision)
    engine.dispose()


def run(label: str, urls: list[str], tmp: Path) -> None:
    for n, url in enumerate(urls):
        person, goal_id, new_goal, orgnr = preload(url, ARGS.goals)
        if n:
            downgrade(url, ARGS.compare_revision)
    body = tmp / "goal.json"
    body.write_text(json.dumps(new_goal, ensure_ascii=False), encoding="utf-8")
    servers: dict[str, tuple[subprocess.Popen[bytes], str, str]] = {}
    roots = [ROOT] + ([Path(ARGS.compare)] if ARGS.compare else [])
    try:
        for mode in ("store", "secure"):
            for n, (root, url) in enumerate(zip(roots, urls, strict=True)):
                port, data, name = free_port(), tmp / f"data-{label}-{n}", mode + " before" * n
                cmd = _cmd(root, mode, url, port, data)
                proc = spawn(cmd, root, port, tmp / f"{label}-{mode}-{n}.log")
                token = dev_token(data, orgnr) if mode == "secure" else ""
                servers[name] = (proc, f"http://127.0.0.1:{port}", token)
        results: dict[tuple[str, str], list[dict[str, Any]]] = {}
        for _ in range(ARGS.runs):
            for case in CASES:
                for mode, (proc, base, token) in servers.items():
                    got = measure(base, proc.pid, case, (person, goal_id), token, body)
                    results.setdefault((case[0], mode), []).append(got)
        _report(label, results)
    finally:
        for proc, _, _ in servers.values():
            proc.terminate()
            proc.wait(timeout=30)


def _cmd(root: Path, mode: str, url: str, port: int, data: Path) -> list[str]:
    python = sys.executable if root == ROOT else str(root / ".venv" / "bin" / "python")
    workers = ["--workers", str(ARGS.workers)]
    if mode == "store":
        script = str(root / "bench" / "serve_store.py")
        workers = ["--workers", "1" if ARGS.workers == "auto" else str(ARGS.workers)]
        return [python, script, "--database", url, "--port", str(port), *workers]
    cli = [python, "-m", "ipfhir.adapter.cli", "serve", "--dev", "--data-dir", str(data)]
    if root != ROOT and ARGS.workers == "auto":
        workers = ["--workers", str(len(os.sched_getaffinity(0)))]
    return [*cli, "--database", url, "--port", str(port), *workers]


def _report(label: str, results: dict[tuple[str, str], list[dict[str, Any]]]) -> None:
    print(f"\n{label}: workers {ARGS.workers}, {ARGS.seconds} s per case, median of {ARGS.runs}")
    print(f"load: {subprocess.run(['uptime'], capture_output=True, text=True).stdout.strip()}")
    modes = [
        m
        for m in ("store before", "store", "secure before", "secure")
        if (CASES[0][0], m) in results
    ]
    head = f"{'case':38s} | " + " | ".join(f"{m:36s}" for m in modes)
    print(head + "\n" + "-" * len(head))
    for case in CASES:
        cells = []
        for mode in modes:
            rows = results[(case[0], mode)]

            def med(key: str, rows: list[dict[str, Any]] = rows) -> float:
                return float(statistics.median(r[key] for r in rows))

            errors = sum(r["errors"] for r in rows)
            cell = (
                f"{med('rps'):6.0f}/s p50 {med('p50_ms'):5.1f} p99 {med('p99_ms'):6.1f} "
                f"cpu {med('cpu_ms'):4.1f}"
            )
            cells.append(cell + (f" ({errors} err)" if errors else ""))
        print(f"{case[0]:38s} | " + " | ".join(f"{c:36s}" for c in cells))
    print("(requests/s; p50/p99 latency ms; server CPU ms per request)")


def main() -> None:
    ap = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    ap.add_argument("--seconds", type=int, default=10)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--goals", type=int, default=10_000)
    ap.add_argument("--workers", default="1", help="a number, or auto")
    ap.add_argument("--backend", choices=["sqlite", "postgres", "both"], default="sqlite")
    ap.add_argument("--postgres", default="postgresql+psycopg://root@127.0.0.1:5432/test")
    ap.add_argument("--profile", metavar="CASE", help="py-spy the secure server in cases naming it")
    ap.add_argument("--profile-dir", default=".", help="where --profile writes (raw stacks)")
    ap.add_argument(
        "--profile-gil", action="store_true", help="sample only the thread holding the GIL (CPU)"
    )
    ap.add_argument("--compare", metavar="DIR", help="another checkout to measure beside")
    ap.add_argument("--compare-revision", default="0005", help="its schema revision")
    global ARGS
    ARGS = ap.parse_args()
    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        if ARGS.backend in ("sqlite", "both"):
            copies = range(2 if ARGS.compare else 1)
            run("SQLite", [f"sqlite:///{tmp / f'bench-{n}.sqlite3'}" for n in copies], tmp)
        if ARGS.backend in ("postgres", "both"):
            schemas = [
                f"ipfhir_wrk_{uuid.uuid4().hex[:8]}" for _ in range(2 if ARGS.compare else 1)
            ]
            admin = create_engine(ARGS.postgres)
            with admin.begin() as conn:
                for schema in schemas:
                    conn.execute(text(f'CREATE SCHEMA "{schema}"'))
            try:
                urls = [f"{ARGS.postgres}?options=-csearch_path%3D{s}" for s in schemas]
                run("PostgreSQL", urls, tmp)
            finally:
                with admin.begin() as conn:
                    for schema in schemas:
                        conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
                admin.dispose()


ARGS = argparse.Namespace()

if __name__ == "__main__":
    main()
