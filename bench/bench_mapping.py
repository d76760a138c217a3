"""Throughput of the plan ⇄ FHIR mapping (plans/s, single core), median of several runs.

    .venv/bin/python bench/bench_mapping.py [--runs 7] [--seconds 1.0]

Measures on every fixture plan: plan model → transaction Bundle (dict), Bundle → checked plan
(including the plan's rules), and the same two with JSON text and FHIR XML text at the ends.
For comparison, in the same run: ``mappings.fhir_r4.parse_resource`` on the same Bundles — the
fhir.resources R4B model with the project's strict lexical check — what a consumer pays merely to
load them through the pinned FHIR layer.
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ipfhir.mappings.fhir_r4 import parse_resource
from ipfhir.mappings.fhirjson import dump_json, parse_json
from ipfhir.mappings.fhirxml import parse_xml, to_xml
from ipfhir.mappings.from_fhir import bundle_to_plan
from ipfhir.mappings.plan_io import plan_from_json
from ipfhir.mappings.to_fhir import plan_to_bundle

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
    plans = [
        plan_from_json(p.read_bytes())
        for p in sorted((ROOT / "fixtures/plans").glob("*.plan.json"))
    ]
    bundles = [plan_to_bundle(p) for p in plans]
    json_texts = [dump_json(b) for b in bundles]
    xml_texts = [to_xml(b) for b in bundles]
    n = len(plans)
    cases: dict[str, Callable[[], Any]] = {
        "plan -> FHIR (dict)": lambda: [plan_to_bundle(p) for p in plans],
        "FHIR -> plan (dict, rules checked)": lambda: [bundle_to_plan(b) for b in bundles],
        "plan -> FHIR JSON text": lambda: [dump_json(plan_to_bundle(p)) for p in plans],
        "FHIR JSON text -> plan": lambda: [bundle_to_plan(parse_json(t)) for t in json_texts],
        "plan -> FHIR XML text": lambda: [to_xml(plan_to_bundle(p)) for p in plans],
        "FHIR XML text -> plan": lambda: [bundle_to_plan(parse_xml(t)) for t in xml_texts],
        "comparison: parse_resource (R4B model, strict)": lambda: [
            parse_resource(b) for b in bundles
        ],
    }
    print(
        f"{n} fixture plans, {args.runs} runs of {args.seconds:.1f} s each; "
        "plans/s (median, min-max)"
    )
    for name, work in cases.items():
        rates = [rate(work, n, args.seconds) for _ in range(args.runs)]
        print(f"  {name:52s} {statistics.median(rates):9.0f}  ({min(rates):.0f}-{max(rates):.0f})")


if __name__ == "__main__":
    main()
