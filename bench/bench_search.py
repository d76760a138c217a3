"""A search page of 10 for a person with 10 and with 100,000 matching Goals (prints numbers).

    .venv/bin/python bench/bench_search.py [--many 100000] [--runs 7] [--postgres URL]

Rows are written straight into a migrated store (resources + idx_reference, as the indexer
writes them), then ``Goal?patient=Patient/X&_count=10`` is asked of the store
(``SqlRepository.search``: the first page and the page after it) beside the query the store
used before keyset paging by index (every criterion an ``IN`` over its index, and a ``COUNT`` of
every match whenever the first page is full), in the same run, interleaved; medians of
``--runs`` of the wall time and of this process's CPU time (SQLite's whole work; on a host that
stalls, the steadier of the two) on SQLite and PostgreSQL. Each case is called once untimed
before it is timed: the full scans of "before" evict the pages of the case after them.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

import orjson  # noqa: E402
from scratch import scratch_schema  # noqa: E402
from sqlalchemy import Engine, false, func, insert, select  # noqa: E402

from ipfhir.adapter.fhir.validation import minimal_structural_check  # noqa: E402
from ipfhir.adapter.ports import SearchParam, SearchQuery  # noqa: E402
from ipfhir.adapter.store import SqlRepository, make_engine, migrate  # noqa: E402
from ipfhir.adapter.store.schema import idx_reference, resources  # noqa: E402
from ipfhir.adapter.store.search_sql import criteria  # noqa: E402

PG_DEFAULT = "postgresql+psycopg://root@127.0.0.1:5432/test"


def _fill(engine: Engine, person: str, n: int) -> None:
    """``n`` Goals of ``person`` (random ids, as the store makes them), in batches."""
    for start in range(0, n, 5000):
        rows, refs = [], []
        for _ in range(start, min(n, start + 5000)):
            rid = str(uuid.uuid4())
            goal = {
                "resourceType": "Goal",
                "id": rid,
                "lifecycleStatus": "active",
                "description": {"text": "Gå tur til Čáhcesuolu, øve på å handle"},
                "subject": {"reference": f"Patient/{person}"},
            }
            rows.append(
                {
                    "res_type": "Goal",
                    "res_id": rid,
                    "version": 1,
                    "last_updated": "2026-01-05T08:00:00.000Z",
                    "sort_date": "",
                    "deleted": False,
                    "body": orjson.dumps(goal).decode(),
                }
            )
            for param in ("patient", "subject"):
                refs.append(
                    {
                        "res_type": "Goal",
                        "res_id": rid,
                        "param": param,
                        "target_type": "Patient",
                        "target_id": person,
                    }
                )
        with engine.begin() as conn:
            conn.execute(insert(resources), rows)
            conn.execute(insert(idx_reference), refs)


def _before(engine: Engine, person: str) -> Callable[[], object]:
    """The page as the store asked for it before: IN over the index, and COUNT when full."""
    params = (SearchParam("patient", (f"Patient/{person}",)),)
    where = [resources.c.res_type == "Goal", resources.c.deleted == false()]
    where += criteria("Goal", params)

    def run() -> object:
        with engine.connect() as conn:
            page = conn.execute(
                select(resources.c.res_id, resources.c.body)
                .where(*where)
                .order_by(resources.c.res_id)
                .limit(11)
            ).all()
            if len(page) > 10:
                conn.execute(select(func.count()).select_from(resources).where(*where)).one()
        return page

    return run


def _now(repo: SqlRepository, person: str, second_page: bool) -> Callable[[], object]:
    query = SearchQuery("Goal", (SearchParam("patient", (f"Patient/{person}",)),), count=10)
    cursor = repo.search(query).next_cursor if second_page else None

    def run() -> object:
        return repo.search(SearchQuery(query.resource_type, query.params, 10, cursor=cursor))

    return run


# A case is called at least 5 times and for at least this long per run: a page costs a tenth of a
# millisecond, and 5 calls right after a full scan (caches cold) measured the scan's aftermath.
_AT_LEAST_S = 0.05


def _median_ms(cases: list[Callable[[], object]], runs: int) -> list[tuple[float, float]]:
    """(wall, CPU of this process) ms per call of each case, medians of ``runs``. SQLite works
    in this process, so its CPU time is the search's whole cost, and it does not count the
    host's stalls (steal time) that wall time does; PostgreSQL's work is in its server."""
    times: list[list[tuple[float, float]]] = [[] for _ in cases]
    for _ in range(runs):
        for timing, case in zip(times, cases, strict=True):
            case()  # untimed: the case before (a full scan for "before") evicted its pages
            start, cpu, n = time.perf_counter(), time.process_time(), 0
            while n < 5 or time.perf_counter() - start < _AT_LEAST_S:
                case()
                n += 1
            wall = (time.perf_counter() - start) / n * 1000
            timing.append((wall, (time.process_time() - cpu) / n * 1000))
    return [(statistics.median(w for w, _ in t), statistics.median(c for _, c in t)) for t in times]


def _bench(label: str, engine: Engine, many: int, runs: int) -> None:
    migrate(engine)
    _fill(engine, "faa-maal", 10)
    _fill(engine, "mange-maal", many)
    with engine.begin() as conn:
        conn.exec_driver_sql("ANALYZE")
    repo = SqlRepository(engine, minimal_structural_check)
    rows: list[tuple[str, Callable[[], object]]] = []
    for person, n in (("faa-maal", 10), ("mange-maal", many)):
        rows.append((f"{n:>7} matches: before (IN + COUNT)", _before(engine, person)))
        rows.append((f"{n:>7} matches: first page", _now(repo, person, False)))
        if n > 10:
            rows.append((f"{n:>7} matches: next page (cursor)", _now(repo, person, True)))
    for (name, _), (ms, cpu) in zip(rows, _median_ms([c for _, c in rows], runs), strict=True):
        print(f"{label:10s} {name:40s} {ms:9.2f} ms wall {cpu:9.2f} ms CPU (this process)")


def main() -> None:
    ap = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    ap.add_argument("--many", type=int, default=100_000)
    ap.add_argument("--runs", type=int, default=7)
    ap.add_argument("--postgres", default=os.environ.get("IPFHIR_TEST_POSTGRES_URL", PG_DEFAULT))
    args = ap.parse_args()
    print(f"page of 10, medians of {args.runs} runs; load average {os.getloadavg()[0]:.2f}")
    with tempfile.TemporaryDirectory() as folder:
        engine = make_engine(f"sqlite:///{folder}/bench.sqlite3")
        _bench("SQLite", engine, args.many, args.runs)
        engine.dispose()
    with scratch_schema(args.postgres, "bench_search") as schema:
        engine = make_engine(args.postgres, schema=schema)
        _bench("PostgreSQL", engine, args.many, args.runs)
        engine.dispose()


if __name__ == "__main__":
    main()
