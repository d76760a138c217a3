"""Throughput of the profile validator, single core (prints numbers, asserts nothing).

    .venv/bin/python bench/bench_validate.py [--runs 5] [--passes 3] [--profile]

(a) base R4 validation of the 101 official examples, cache warm; (b) IP-profile validation of the
fixture Bundles ``fixtures/bundles/*.bundle.json`` (each entry resource, in its Bundle);
beside fhir.resources' own ``model_validate_json`` (R4B) on the same resources in the same run
(the baseline: the only other place that imports fhir.resources is ``mappings/fhir_r4.py``).
``--profile`` prints the top functions by own time for (a).
"""

from __future__ import annotations

import argparse
import cProfile
import json
import os
import pstats
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from ipfhir.profiles.validator import Validator  # noqa: E402

EXAMPLES = Path(
    os.environ.get("IPFHIR_R4_EXAMPLES", ROOT / "fixtures" / "third-party" / "r4-examples")
)


def _rate(items: list[Any], work: Callable[[Any], object], runs: int, passes: int) -> float:
    timings = []
    for _ in range(runs):
        start = time.process_time()  # CPU time: robust on a shared machine
        for _ in range(passes):
            for item in items:
                work(item)
        timings.append(time.process_time() - start)
    return len(items) * passes / statistics.median(timings)


def _plan_entries() -> list[dict[str, Any]]:
    """The fixture Bundles (``fixtures/bundles/*.bundle.json``: every plan mapped to FHIR)."""
    return [
        json.loads(p.read_bytes())
        for p in sorted((ROOT / "fixtures" / "bundles").glob("*.bundle.json"))
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--passes", type=int, default=3)
    parser.add_argument("--profile", action="store_true")
    args = parser.parse_args()

    from fhir.resources.R4B import get_fhir_model_class

    json_bytes = [p.read_bytes() for p in sorted((EXAMPLES / "json").glob("*.json"))]
    resources = [json.loads(b) for b in json_bytes]
    validator = Validator()
    for r in resources:  # warm: compile every profile used
        validator.issues(r)
    bundles = _plan_entries()
    for b in bundles:
        validator.issues(b)
    entries = [e["resource"] for b in bundles for e in b["entry"]]
    entry_bytes = [json.dumps(e).encode() for e in entries]
    base_pairs = [
        (get_fhir_model_class(r["resourceType"]), b)
        for r, b in zip(resources, json_bytes, strict=True)
    ]
    entry_pairs = [
        (get_fhir_model_class(r["resourceType"]), b)
        for r, b in zip(entries, entry_bytes, strict=True)
    ]
    n_entries = len(entries)

    cases: list[tuple[str, list[Any], Callable[[Any], object], int]] = [
        ("(a) base R4, 101 examples: validate()", resources, validator.issues, 1),
        (
            "(a) fhir.resources model_validate_json",
            base_pairs,
            lambda p: p[0].model_validate_json(p[1]),
            1,
        ),
        ("(b) IP profiles, plan Bundles (per entry resource)", bundles, validator.issues, 0),
        (
            "(b) fhir.resources model_validate_json",
            entry_pairs,
            lambda p: p[0].model_validate_json(p[1]),
            1,
        ),
    ]
    print(
        f"{len(resources)} examples; {len(bundles)} plan Bundles with {n_entries} entries; "
        f"median of {args.runs} runs x {args.passes} passes, one process (single core)"
    )
    for label, items, work, per_item in cases:
        rate = _rate(items, work, args.runs, args.passes)
        if not per_item:
            rate = rate * n_entries / len(items)
        print(f"{label:55s} {rate:10.0f} resources/s")
    if args.profile:
        profiler = cProfile.Profile()
        profiler.enable()
        for _ in range(args.passes):
            for r in resources:
                validator.issues(r)
        profiler.disable()
        pstats.Stats(profiler).sort_stats("tottime").print_stats(15)


if __name__ == "__main__":
    main()
