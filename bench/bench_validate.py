"""Throughput of the profile validator, single core (prints numbers, asserts nothing).

    .venv/bin/python bench/bench_validate.py [--runs 5] [--passes 3] [--profile [a|b]]

(a) base R4 validation of the 101 official examples, cache warm; (b) IP-profile validation of the
fixture Bundles ``fixtures/bundles/*.bundle.json`` (each entry resource, in its Bundle);
beside fhir.resources' own ``model_validate_json`` (R4B) on the same resources in the same run
(the baseline: the only other place that imports fhir.resources is ``mappings/fhir_r4.py``).
``--profile [a|b]`` prints the top functions by own time for (a), the default, or (b).
``--baseline REV`` also times the validator as it was at git revision REV (its
``profiles/validator`` copied to a temporary package), interleaved with the current one, so a
before/after ratio comes from one run on a shared machine.
"""

from __future__ import annotations

import argparse
import cProfile
import json
import os
import pstats
import statistics
import subprocess
import sys
import tempfile
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


Case = tuple[str, list[Any], Callable[[Any], object], int]


def _rates(cases: list[Case], runs: int, passes: int) -> list[float]:
    """Resources/s of each case: CPU time, median of ``runs``, the cases interleaved per run."""
    timings: list[list[float]] = [[] for _ in cases]
    for _ in range(runs):
        for timing, (_label, items, work, _per) in zip(timings, cases, strict=True):
            start = time.process_time()  # CPU time: robust on a shared machine
            for _ in range(passes):
                for item in items:
                    work(item)
            timing.append(time.process_time() - start)
    return [
        len(items) * passes / statistics.median(timing)
        for timing, (_label, items, _work, _per) in zip(timings, cases, strict=True)
    ]


def _baseline_validator(rev: str) -> Any:
    """A ``Validator`` class from ``profiles/validator`` at git revision ``rev``."""
    folder = Path(tempfile.mkdtemp(prefix="ipfhir-baseline-")) / "_ipfhir_baseline"
    (folder / "validator").mkdir(parents=True)
    (folder / "__init__.py").write_text("")
    names = subprocess.run(
        ["git", "-C", str(ROOT), "ls-tree", "--name-only", rev, "profiles/validator/"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.split()
    for name in names:
        text = subprocess.run(
            ["git", "-C", str(ROOT), "show", f"{rev}:{name}"],
            check=True,
            capture_output=True,
            text=True,
        ).stdout
        text = text.replace("ipfhir.profiles.validator", "_ipfhir_baseline.validator")
        (folder / "validator" / Path(name).name).write_text(text)
    sys.path.insert(0, str(folder.parent))
    from _ipfhir_baseline.validator import Validator as Baseline  # type: ignore[import-not-found]

    return Baseline


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
    parser.add_argument("--profile", nargs="?", const="a", choices=("a", "b"))
    parser.add_argument("--baseline", metavar="REV", help="also time the validator at REV")
    args = parser.parse_args()

    from fhir.resources.R4B import get_fhir_model_class

    json_bytes = [p.read_bytes() for p in sorted((EXAMPLES / "json").glob("*.json"))]
    resources = [json.loads(b) for b in json_bytes]
    validator = Validator()
    old = _baseline_validator(args.baseline)() if args.baseline else None
    bundles = _plan_entries()
    for v in (validator, old) if old else (validator,):
        for r in resources + bundles:  # warm: compile every profile used
            v.issues(r)
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

    cases: list[Case] = [
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
    if old is not None:
        cases[1:1] = [(f"(a) validate() at {args.baseline}", resources, old.issues, 1)]
        cases.insert(4, (f"(b) validate() at {args.baseline}", bundles, old.issues, 0))
    print(
        f"{len(resources)} examples; {len(bundles)} plan Bundles with {n_entries} entries; "
        f"median of {args.runs} runs x {args.passes} passes, interleaved, one process "
        f"(single core); load average {os.getloadavg()[0]:.2f}"
    )
    for (label, items, _work, per_item), rate in zip(
        cases, _rates(cases, args.runs, args.passes), strict=True
    ):
        if not per_item:
            rate = rate * n_entries / len(items)
        print(f"{label:55s} {rate:10.0f} resources/s")
    if args.profile:
        profiler = cProfile.Profile()
        profiler.enable()
        for _ in range(args.passes):
            for r in resources if args.profile == "a" else bundles:
                validator.issues(r)
        profiler.disable()
        pstats.Stats(profiler).sort_stats("tottime").print_stats(15)


if __name__ == "__main__":
    main()
