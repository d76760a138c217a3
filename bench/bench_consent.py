"""Consent enforcement overhead: read and search latency (p50/p99) with enforcement on (a
recipient hospital practitioner, audit and recipients ledger written per request) beside the
same requests on the store's repository directly, in the same run, on SQLite.

    PYTHONPATH=. .venv/bin/python bench/bench_consent.py [--plans 40] [--rounds 200]

Prints numbers; asserts nothing. Validation of stored resources is switched off (accept-all)
so that the numbers are about consent, not the profile validator.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

from adapter.bootstrap import build_wiring, secure_factory
from adapter.ports import Actor, SearchParam, SearchQuery
from adapter.settings import Settings
from tests.unit.consent.builders import build
from tests.unit.consent.conftest import HPR, ORGNR, standard_spec


def _accept_all(resource: dict[str, Any], profile: str | None = None) -> dict[str, Any]:
    return {"resourceType": "OperationOutcome", "issue": []}


def _timed(fn: Callable[[], object], rounds: int) -> list[float]:
    out = []
    for _ in range(rounds):
        start = time.perf_counter()
        fn()
        out.append((time.perf_counter() - start) * 1000)
    return out


def _p(values: list[float], q: float) -> float:
    return statistics.quantiles(values, n=100)[int(q) - 1] if len(values) > 1 else values[0]


def main() -> None:
    args = argparse.ArgumentParser()
    args.add_argument("--plans", type=int, default=40)
    args.add_argument("--rounds", type=int, default=200)
    opts = args.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        wiring = build_wiring(Settings(data_dir=Path(tmp)), validate=_accept_all)
        for n in range(opts.plans):
            spec = replace(standard_spec(), plan=f"ip{n}", seed=n)
            for res in build(spec):
                wiring.repository.update(res["resourceType"], res["id"], res)
        plain = wiring.repository
        hospital = secure_factory(wiring).repository_for(
            Actor(
                organisation=ORGNR["sykehus"],
                practitioner=HPR["fysio"],
                scopes=("system/*.rs",),
                purpose="COC",
            )
        )
        query = SearchQuery("Goal", (SearchParam("patient", ("Patient/ip7-pt",)),))
        cases = {
            "read CarePlan": lambda repo: repo.read("CarePlan", "ip7"),
            "search Goal?patient": lambda repo: repo.search(query),
            "$everything": lambda repo: repo.everything("ip7"),
        }
        print(f"plans={opts.plans} rounds={opts.rounds} (SQLite, ms)")
        print(
            f"{'request':22} {'off p50':>8} {'off p99':>8} {'on p50':>8} {'on p99':>8}"
            f" {'overhead p50':>13}"
        )
        for name, call in cases.items():
            off = _timed(lambda c=call: c(plain), opts.rounds)
            on = _timed(lambda c=call: c(hospital), opts.rounds)
            p50_off, p50_on = _p(off, 50), _p(on, 50)
            print(
                f"{name:22} {p50_off:8.2f} {_p(off, 99):8.2f} {p50_on:8.2f} {_p(on, 99):8.2f} "
                f"{p50_on - p50_off:7.2f} ms ×{p50_on / p50_off:.1f}"
            )


if __name__ == "__main__":
    main()
