"""Throughput of the legacy-messaging layer (messages/s, single core), median of several runs.

    .venv/bin/python bench/bench_legacy.py [--runs 7] [--seconds 1.0]

Measures on the synthetic fixtures (fixtures/legacy/*.xml: two Dialogmelding 1.1 in MsgHead 1.2,
three AppRecs): bytes → model (hardened parse, schema validation, reading, identifier checks),
model → bytes (building, schema validation, serialising), and validation alone; and the path the
adapter takes (mappings/legacy/fhir.py): XML → FHIR message Bundle (parse + validate + map) and
FHIR message Bundle → XML (map + write + validate). One process, one thread: the schema set is
compiled before timing starts.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ipfhir.mappings.legacy import read_message, validate_message, write
from ipfhir.mappings.legacy.fhir import from_fhir, to_fhir
from ipfhir.mappings.legacy.schemas import message_schema

ROOT = Path(__file__).resolve().parents[1]


def rate(work: Callable[[], Any], items: int, seconds: float) -> float:
    done, start = 0, time.perf_counter()
    while True:
        work()
        done += items
        elapsed = time.perf_counter() - start
        if elapsed >= seconds:
            return done / elapsed


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--seconds", type=float, default=1.0)
    args = parser.parse_args()
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})  # one core
    texts = [p.read_bytes() for p in sorted((ROOT / "fixtures/legacy").glob("*.xml"))]
    models = [read_message(t) for t in texts]
    bundles = [to_fhir(m) for m in models]
    message_schema()
    n = len(texts)
    cases: dict[str, Callable[[], Any]] = {
        "XML -> model (parse + validate + read)": lambda: [read_message(t) for t in texts],
        "model -> XML (write + validate)": lambda: [write(m) for m in models],
        "XML -> validated only": lambda: [validate_message(t) for t in texts],
        "XML -> FHIR Bundle (parse + validate + map)": lambda: [
            to_fhir(read_message(t)) for t in texts
        ],
        "FHIR Bundle -> XML (map + write + validate)": lambda: [
            write(from_fhir(b)) for b in bundles
        ],
    }
    size = sum(len(t) for t in texts) / n
    print(
        f"{n} fixture messages (mean {size / 1024:.1f} KiB), {args.runs} runs of "
        f"{args.seconds:.1f} s each; messages/s (median, min-max)"
    )
    for name, work in cases.items():
        rates = [rate(work, n, args.seconds) for _ in range(args.runs)]
        print(f"  {name:44s} {statistics.median(rates):9.0f}  ({min(rates):.0f}-{max(rates):.0f})")


if __name__ == "__main__":
    main()
