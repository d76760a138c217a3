"""Consent enforcement overhead: read, search, $everything and create with enforcement on (a
recipient hospital practitioner in the care team, AuditEvent and recipients ledger written per
request) beside the same requests on the store's repository directly, in the same run, on SQLite.

    PYTHONPATH=. .venv/bin/python bench/bench_consent.py [--plans 40] [--rounds 200] [--repeat 5]
        [--cache-size N]   # plan-context cache size (0 = off: every request loads the context)

Creates go to other persons' plans than the reads, after the reads (on: ip8, off: ip9, so that
the store's creates do not change the stamps of the person the enforced creates write to): an
enforced create finds the context of its check in the cache and loads it afresh for judging its
response (the write changed the person's stamp).

Off and on calls alternate round by round (so load from other processes hits both alike); each
repeat prints wall p50/p99 and CPU p50 (process time) per request and the SQL statements per
request (counted on the engine); the last table holds the medians over the repeats. Prints
numbers; asserts nothing. Validation of stored resources is switched off (accept-all) so that the
numbers are about consent, not the profile validator.
"""

from __future__ import annotations

import argparse
import datetime as dt
import statistics
import tempfile
import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

from sqlalchemy import event

from ipfhir.adapter.bootstrap import build_wiring, secure_factory
from ipfhir.adapter.consent.cache import DEFAULT_SIZE, ContextCache
from ipfhir.adapter.ports import Actor, SearchParam, SearchQuery
from ipfhir.adapter.settings import Settings
from tests.unit.consent.builders import build
from tests.unit.consent.conftest import HPR, ORGNR, OWNER, standard_spec

# Each plan's person is born on its own day: a synthetic fødselsnummer is unique per person (one
# person has one active plan; the store refuses a second).
_BORN = dt.date(1990, 5, 17)

Row = dict[str, float]


def _accept_all(resource: dict[str, Any], profile: str | None = None) -> dict[str, Any]:
    return {"resourceType": "OperationOutcome", "issue": []}


def _goal(patient: str) -> dict[str, Any]:
    return {
        "resourceType": "Goal",
        "lifecycleStatus": "active",
        "description": {"text": "Gå på ski med Áilu i Kautokeino"},
        "subject": {"reference": patient},
    }


def _p(values: list[float], q: int) -> float:
    return statistics.quantiles(values, n=100)[q - 1] if len(values) > 1 else values[0]


class _Counter:
    def __init__(self) -> None:
        self.n = 0

    def __call__(self, *_args: Any) -> None:
        self.n += 1


def _measure(
    off: Callable[[], object], on: Callable[[], object], rounds: int, sql: _Counter
) -> Row:
    wall: dict[str, list[float]] = {"off": [], "on": []}
    cpu: dict[str, list[float]] = {"off": [], "on": []}
    stmts: dict[str, int] = {"off": 0, "on": 0}
    for _ in range(rounds):
        for name, fn in (("off", off), ("on", on)):
            before, w0, c0 = sql.n, time.perf_counter(), time.process_time()
            fn()
            wall[name].append((time.perf_counter() - w0) * 1000)
            cpu[name].append((time.process_time() - c0) * 1000)
            stmts[name] += sql.n - before
    return {
        **{f"{k} p50": _p(v, 50) for k, v in wall.items()},
        **{f"{k} p99": _p(v, 99) for k, v in wall.items()},
        **{f"{k} cpu": statistics.median(v) for k, v in cpu.items()},
        **{f"{k} sql": stmts[k] / rounds for k in stmts},
    }


_COLS = ("off p50", "off p99", "on p50", "on p99", "off cpu", "on cpu", "off sql", "on sql")


def _print(title: str, rows: dict[str, Row]) -> None:
    print(title)
    print(f"{'request':22}" + "".join(f"{c:>9}" for c in _COLS) + f"{'overhead p50':>15}")
    for name, row in rows.items():
        cells = "".join(f"{row[c]:9.2f}" for c in _COLS)
        extra = row["on p50"] - row["off p50"]
        print(f"{name:22}{cells}{extra:9.2f} ms ×{row['on p50'] / row['off p50']:.1f}")


def main() -> None:
    args = argparse.ArgumentParser()
    args.add_argument("--plans", type=int, default=40)
    args.add_argument("--rounds", type=int, default=200)
    args.add_argument("--repeat", type=int, default=5)
    args.add_argument("--cache-size", type=int, default=DEFAULT_SIZE)
    opts = args.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        wiring = build_wiring(Settings(data_dir=Path(tmp)), validate=_accept_all)
        for n in range(opts.plans):
            born = _BORN + dt.timedelta(days=n)
            spec = replace(standard_spec(), plan=f"ip{n}", seed=n, born=born)
            for res in build(spec):
                wiring.repository.update(res["resourceType"], res["id"], res)
        sql = _Counter()
        event.listen(wiring.engine, "before_cursor_execute", sql)
        plain = wiring.repository
        factory = secure_factory(wiring)
        factory.enforcement.cache = ContextCache(opts.cache_size)
        hospital = factory.repository_for(
            Actor(
                organisation=ORGNR["sykehus"],
                practitioner=HPR["fysio"],
                scopes=("system/*.crs",),
                purpose="COC",
            )
        )
        # Goals are written by the plan's owner (its coordinating unit; a care-team member writes
        # only its own contribution): creates go through the owner's enforced repository.
        owner = factory.repository_for(
            Actor(
                organisation=ORGNR["kommune"],
                practitioner=HPR["koord"],
                roles=OWNER,
                scopes=("system/*.crs",),
                purpose="COC",
            )
        )
        creates = {True: "Patient/ip9-pt", False: "Patient/ip8-pt"}  # off / on: not the same
        query = SearchQuery("Goal", (SearchParam("patient", ("Patient/ip7-pt",)),))
        cases: dict[str, Callable[[Any], object]] = {
            "read CarePlan": lambda repo: repo.read("CarePlan", "ip7"),
            "read Goal": lambda repo: repo.read("Goal", "ip7-g1"),
            "search Goal?patient": lambda repo: repo.search(query),
            "$everything": lambda repo: repo.everything("ip7"),
            "create Goal": lambda repo: (plain if repo is plain else owner).create(
                _goal(creates[repo is plain])
            ),
        }
        runs: list[dict[str, Row]] = []
        for run in range(opts.repeat):
            rows = {
                name: _measure(lambda c=c: c(plain), lambda c=c: c(hospital), opts.rounds, sql)
                for name, c in cases.items()
            }
            runs.append(rows)
            _print(f"run {run + 1}: plans={opts.plans} rounds={opts.rounds} (SQLite, ms)", rows)
        medians = {
            name: {col: statistics.median(r[name][col] for r in runs) for col in _COLS}
            for name in cases
        }
        _print(f"median of {opts.repeat} runs (cache size {opts.cache_size})", medians)
        cache = factory.enforcement.cache
        print(f"context cache: {cache.hits} hits, {cache.misses} misses, {len(cache)} entries")


if __name__ == "__main__":
    main()
