"""Throughput of the FHIR layer over the 101 official R4 examples (prints numbers, asserts nothing).

    .venv/bin/python bench/bench_fhir_layer.py [--runs 5] [--passes 3]

Each line is the median of ``--runs`` runs; a run handles every example ``--passes`` times.
For comparison, fhir.resources' own ``model_validate_json`` (R4B) runs on the same files in the
same process (the only place outside ``mappings/fhir_r4.py`` that imports it: it is the baseline).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from ipfhir.mappings.fhir_r4 import check_resource  # noqa: E402
from ipfhir.mappings.fhirjson import dump_json, parse_json  # noqa: E402
from ipfhir.mappings.fhirxml import parse_xml, to_xml  # noqa: E402

EXAMPLES = Path(
    os.environ.get("IPFHIR_R4_EXAMPLES", ROOT / "fixtures" / "third-party" / "r4-examples")
)


def _rate(items: list[Any], work: Callable[[Any], object], runs: int, passes: int) -> float:
    timings = []
    for _ in range(runs):
        start = time.perf_counter()
        for _ in range(passes):
            for item in items:
                work(item)
        timings.append(time.perf_counter() - start)
    return len(items) * passes / statistics.median(timings)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--passes", type=int, default=3)
    args = parser.parse_args()

    json_files = sorted((EXAMPLES / "json").glob("*.json"))
    json_bytes = [p.read_bytes() for p in json_files]
    xml_bytes = [(EXAMPLES / "xml" / f"{p.stem}.xml").read_bytes() for p in json_files]
    resources = [parse_json(b) for b in json_bytes]

    from fhir.resources.R4B import get_fhir_model_class

    classes = [get_fhir_model_class(r["resourceType"]) for r in resources]
    pairs = list(zip(classes, json_bytes, strict=True))
    check_resource(resources[0])  # warm the model imports before timing
    to_xml(resources[0])

    cases: list[tuple[str, list[Any], Callable[[Any], object]]] = [
        ("JSON parse_json + dump_json", json_bytes, lambda b: dump_json(parse_json(b))),
        ("JSON check_resource (R4B round trip)", resources, check_resource),
        ("JSON parse_json + check_resource + dump_json", json_bytes,
         lambda b: dump_json(check_resource(parse_json(b)))),
        ("XML -> dict (parse_xml)", xml_bytes, parse_xml),
        ("dict -> XML (to_xml)", resources, to_xml),
        ("fhir.resources model_validate_json (baseline)", pairs,
         lambda p: p[0].model_validate_json(p[1])),
    ]  # fmt: skip
    print(f"{len(json_files)} examples, median of {args.runs} runs x {args.passes} passes")
    for label, items, work in cases:
        print(f"{label:48s} {_rate(items, work, args.runs, args.passes):10.0f} resources/s")


if __name__ == "__main__":
    main()
