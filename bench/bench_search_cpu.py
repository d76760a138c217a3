"""CPU time of ``SqlRepository.search`` per search: driver SQL beside the SQLAlchemy path (prints
numbers).

    .venv/bin/python bench/bench_search_cpu.py [--persons 20000] [--rounds 500] [--runs 7]
        [--postgres URL | --no-postgres] [--no-sqlite]

A migrated store gets one CarePlan per person (``--persons`` of them, rows and index rows written
straight into the tables, as the indexer writes them) and one person with 100 plans. Each case
asks the store the same searches twice, once with ``driver_searches`` on (plain driver SQL) and
once off (SQLAlchemy Core statements, the path every search took before), alternating within a
run so that load from other processes hits both alike: ``CarePlan?patient=Patient/X`` as a
client asks it and as the consent enforcement point asks it (a bound search, one row more than
the page), by identifier, by ``_id``, and the page after a page token. Each run times
``--rounds`` searches (a different person each) with ``time.process_time``; the table holds the
medians over ``--runs`` runs, in µs of CPU per search, on SQLite and PostgreSQL.

``--secure`` times instead the whole consent-enforced ``Goal?patient=`` search of a hospital
practitioner in the care team (bench_consent.py's world: ``--plans`` plans), on SQLite, with the
store's driver searches on and off (the enforcement point asks the store a bound search).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

import orjson  # noqa: E402
from scratch import scratch_schema  # noqa: E402
from sqlalchemy import Engine, insert  # noqa: E402

from ipfhir.adapter.fhir.validation import minimal_structural_check  # noqa: E402
from ipfhir.adapter.ports import SearchParam, SearchQuery  # noqa: E402
from ipfhir.adapter.store import SqlRepository, make_engine, migrate  # noqa: E402
from ipfhir.adapter.store.schema import idx_reference, idx_token, resources  # noqa: E402

PG_DEFAULT = "postgresql+psycopg://root@127.0.0.1:5432/test"
FNR = "urn:oid:2.16.578.1.12.4.1.4.1"
MANY = "mange-planer"


def _plan_rows(rid: str, person: str, n: int) -> Iterator[tuple[Any, dict[str, Any]]]:
    plan = {
        "resourceType": "CarePlan",
        "id": rid,
        "status": "active",
        "intent": "plan",
        "identifier": [{"system": FNR, "value": f"{n:011d}"}],
        "subject": {"reference": f"Patient/{person}"},
        "title": "Individuell plan – bo hjemme, Čáhcesuolu",
    }
    yield (
        resources,
        {"res_type": "CarePlan", "res_id": rid, "version": 1, "deleted": False}
        | {"last_updated": "2026-01-05T08:00:00.000Z", "sort_date": "2026-01-05T00:00:00.000Z"}
        | {"body": orjson.dumps(plan).decode()},
    )
    for param in ("patient", "subject"):
        yield (
            idx_reference,
            {"res_type": "CarePlan", "res_id": rid, "param": param}
            | {"target_type": "Patient", "target_id": person},
        )
    owner = {"res_type": "CarePlan", "res_id": rid}
    yield idx_token, owner | {"param": "status", "system": None, "code": "active"}
    yield idx_token, owner | {"param": "identifier", "system": FNR, "code": f"{n:011d}"}


def _fill(engine: Engine, persons: int) -> None:
    plans = [(f"plan-{n:06d}", f"person-{n:06d}") for n in range(persons)]
    plans += [(f"plan-mange-{n:03d}", MANY) for n in range(100)]
    for start in range(0, len(plans), 5000):
        batch: dict[Any, list[dict[str, Any]]] = {resources: [], idx_reference: [], idx_token: []}
        for n, (rid, person) in enumerate(plans[start : start + 5000], start):
            for table, row in _plan_rows(rid, person, n):
                batch[table].append(row)
        with engine.begin() as conn:
            for table, rows in batch.items():
                conn.execute(insert(table), rows)
    with engine.begin() as conn:
        conn.exec_driver_sql("ANALYZE")


def _cases(repo: SqlRepository) -> dict[str, Case]:
    def patient(n: int) -> SearchQuery:
        return SearchQuery("CarePlan", (SearchParam("patient", (f"Patient/person-{n:06d}",)),))

    by_many = SearchQuery("CarePlan", (SearchParam("patient", (f"Patient/{MANY}",)),), count=10)
    token = repo.search(by_many).next_cursor
    return {
        "patient=Patient/X": patient,
        "  bound (enforcement point)": lambda n: replace(
            patient(n), count=21, binding=f"org-{n % 7}:{n}"
        ),
        "identifier=system|value": lambda n: SearchQuery(
            "CarePlan", (SearchParam("identifier", (f"{FNR}|{n:011d}",)),)
        ),
        "_id=X": lambda n: SearchQuery("CarePlan", (SearchParam("_id", (f"plan-{n:06d}",)),)),
        "patient=X, page 2 (token)": lambda _n: replace(by_many, cursor=token),
    }


Case = Callable[[int], SearchQuery]  # the search for person n


def _cpu_us(repo: SqlRepository, queries: list[SearchQuery]) -> float:
    start = time.process_time()
    for q in queries:
        repo.search(q)
    return (time.process_time() - start) / len(queries) * 1e6


def _bench(label: str, engine: Engine, persons: int, rounds: int, runs: int) -> None:
    migrate(engine)
    _fill(engine, persons)
    fast = SqlRepository(engine, minimal_structural_check)
    general = SqlRepository(engine, minimal_structural_check)
    general.driver_searches = False
    for name, make in _cases(fast).items():
        assert fast.search(make(1)).matches == general.search(make(1)).matches, name
        warm = [make(k) for k in range(rounds // 5)]
        _cpu_us(fast, warm)  # statement caches, prepared statements
        _cpu_us(general, warm)
        times: dict[bool, list[float]] = {True: [], False: []}
        for run in range(runs):
            queries = [make((run * 7919 + k * 104_729) % persons) for k in range(rounds)]
            for repo in (fast, general) if run % 2 == 0 else (general, fast):
                times[repo.driver_searches].append(_cpu_us(repo, queries))
        before, after = (statistics.median(times[k]) for k in (False, True))
        print(
            f"{label:10s} {name:30s} {before:8.0f} µs {after:8.0f} µs"
            f" {before / after:6.2f}x  (runs: {' '.join(f'{t:.0f}' for t in times[True])})"
        )


def _secure(plans: int, rounds: int, runs: int) -> None:
    import datetime as dt

    from ipfhir.adapter.bootstrap import build_wiring, secure_factory
    from ipfhir.adapter.ports import Actor
    from ipfhir.adapter.settings import Settings
    from tests.unit.consent.builders import build
    from tests.unit.consent.conftest import HPR, ORGNR, standard_spec

    with tempfile.TemporaryDirectory() as tmp:
        ok = {"resourceType": "OperationOutcome", "issue": []}
        wiring = build_wiring(Settings(data_dir=Path(tmp)), validate=lambda *_a: ok)
        store = wiring.repository
        assert isinstance(store, SqlRepository)
        for n in range(plans):
            born = dt.date(1990, 5, 17) + dt.timedelta(days=n)
            for res in build(replace(standard_spec(), plan=f"ip{n}", seed=n, born=born)):
                store.update(res["resourceType"], res["id"], res)
        hospital = secure_factory(wiring).repository_for(
            Actor(ORGNR["sykehus"], HPR["fysio"], scopes=("system/*.crs",), purpose="COC")
        )
        queries = [
            SearchQuery("Goal", (SearchParam("patient", (f"Patient/ip{n % plans}-pt",)),))
            for n in range(rounds)
        ]
        assert any(hospital.search(q).matches for q in queries)
        times: dict[bool, list[float]] = {True: [], False: []}
        for run in range(runs + 1):  # the first run warms the caches
            for on in (True, False) if run % 2 == 0 else (False, True):
                store.driver_searches = on
                start = time.process_time()
                for q in queries:
                    hospital.search(q)
                if run:
                    times[on].append((time.process_time() - start) / rounds * 1e6)
        before, after = (statistics.median(times[k]) for k in (False, True))
        print(f"secure Goal?patient (SQLite, {plans} plans): {before:.0f} µs → {after:.0f} µs")


def main() -> None:
    ap = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    ap.add_argument("--persons", type=int, default=20_000)
    ap.add_argument("--rounds", type=int, default=500)
    ap.add_argument("--runs", type=int, default=7)
    ap.add_argument("--postgres", default=os.environ.get("IPFHIR_TEST_POSTGRES_URL", PG_DEFAULT))
    ap.add_argument("--no-postgres", action="store_true")
    ap.add_argument("--no-sqlite", action="store_true")
    ap.add_argument("--secure", action="store_true")
    ap.add_argument("--plans", type=int, default=40)
    args = ap.parse_args()
    if args.secure:
        _secure(args.plans, args.rounds, args.runs)
        return
    print(
        f"CPU µs per search (process_time), medians of {args.runs} runs of {args.rounds};"
        f" {args.persons} persons; load average {os.getloadavg()[0]:.2f}"
    )
    print(f"{'':10s} {'search':30s} {'SQLAlchemy':>11s} {'driver SQL':>11s}")
    if not args.no_sqlite:
        with tempfile.TemporaryDirectory() as folder:
            engine = make_engine(f"sqlite:///{folder}/bench.sqlite3")
            _bench("SQLite", engine, args.persons, args.rounds, args.runs)
            engine.dispose()
    if args.no_postgres:
        return
    with scratch_schema(args.postgres, "bench_search_cpu") as schema:
        engine = make_engine(args.postgres, schema=schema)
        _bench("PostgreSQL", engine, args.persons, args.rounds, args.runs)
        engine.dispose()


if __name__ == "__main__":
    main()
