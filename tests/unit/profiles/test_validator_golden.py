"""Every validation result stays what it was: the full issue lists of a fixed corpus, compared with
a golden file written by the validator before its speed-ups (``golden/validator_outcomes.json``).

The corpus: every fixture Bundle (JSON and XML, whole, per entry, and split into entries as the
server validates them), the assignment Bundles, the broken resources of ``fixtures/invalid/fhir``,
the 101 R4 examples, the HL7 validator test cases (each with its own set-up) and a few hundred
deterministic mutations of the Bundles and examples (a key deleted, a value of another JSON type,
an empty or unknown code, a list where one value belongs, a reference elsewhere ...), so slicing,
bindings, invariants (native and fhirpathpy) and references are met on broken data too.

Each issue is compared whole: severity, IssueType code, message id, expressions and text. A
deliberate change of outcome rewrites the file, reviewed in the diff:
``.venv/bin/python -m tests.unit.profiles.test_validator_golden --write``.
"""

from __future__ import annotations

import copy
import hashlib
import json
import random
import sys
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from ipfhir.mappings.errors import Issue
from ipfhir.mappings.fhirxml import parse_xml
from ipfhir.profiles.validator import Validator
from ipfhir.profiles.validator.engine import Engine
from ipfhir.profiles.validator.registry import Registry
from tests.unit.profiles import test_ip_profiles, test_validator_broken
from tests.unit.profiles import test_validator_message_ids as derived
from tests.unit.profiles.reference import REPO, reference_dir
from tests.unit.profiles.test_fhir_test_cases import _validator_for

GOLDEN = Path(__file__).with_name("golden") / "validator_outcomes.json"
FIXTURES = REPO / "fixtures"
BUNDLE_MUTATIONS = 40  # per fixture Bundle
EXAMPLE_MUTATIONS = 2  # per R4 example
DERIVED_MUTATIONS = 8  # per fixture Patient and CarePlan under the derived test profiles

Outcome = list[list[Any]]

# Values a mutation puts in place of another: other JSON types, empty, unknown codes, bad dates,
# embedded HTML, a reference to nothing, a primitive's extension object.
_REPLACEMENTS: list[Any] = [
    None,
    "",
    42,
    -1,
    1.5,
    True,
    "bogus-code",
    "2020-13-45",
    "2024-02-30T25:00:00Z",
    "tekst med <b>markup</b>",
    "Patient/ukjent-æøå",
    "#ukjent",
    "urn:uuid:00000000-0000-0000-0000-000000000000",
    "http://example.org/ukjent",
    [],
    {},
    {"ukjent": "verdi"},
    {"extension": [{"url": "http://example.org/ext", "valueString": "å"}]},
]


_KINDS = ["delete", "replace", "swap", "swap", "wrap", "duplicate", "unknown", "extra"]


def _outcome(issues: list[Issue]) -> Outcome:
    return [[i.severity, i.code, i.message_id, list(i.expression), i.text] for i in issues]


def _issues(validator: Validator, resource: Any, profile: str | None = None) -> Outcome:
    """The outcome; an exception is an outcome too (recorded by type, so a crash that a change
    makes or mends shows in the comparison)."""
    try:
        return _outcome(validator.issues(resource, profile))
    except Exception as e:  # noqa: BLE001 - any crash is a result to compare
        return [["crash", type(e).__name__]]


def _locations(value: Any, path: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    """Every key and list position inside ``value`` (document order)."""
    if isinstance(value, dict):
        for key, item in value.items():
            yield (*path, key)
            yield from _locations(item, (*path, key))
    elif isinstance(value, list):
        for i, item in enumerate(value):
            yield (*path, i)
            yield from _locations(item, (*path, i))


def _at(value: Any, path: tuple[Any, ...]) -> Any:
    for step in path:
        value = value[step]
    return value


def _mutate(resource: Any, rng: random.Random) -> tuple[Any, str]:
    """A copy of ``resource`` with one thing broken (or oddly changed), and what was done."""
    broken = copy.deepcopy(resource)
    where = rng.choice([p for p in _locations(broken) if p != ("resourceType",)])
    parent, last = _at(broken, where[:-1]), where[-1]
    current = parent[last]
    kind = rng.choice(_KINDS)
    if kind == "swap":  # a value another element of the same name has: a code, system, url ...
        others = [
            v
            for p in _locations(broken)
            if p[-1] == last and isinstance(v := _at(broken, p), str) and v != current
        ]
        parent[last] = rng.choice(others) if others else None
    elif kind == "delete":
        del parent[last]
    elif kind == "replace":
        parent[last] = copy.deepcopy(rng.choice(_REPLACEMENTS))
    elif kind == "wrap":
        parent[last] = current[0] if isinstance(current, list) and current else [current]
    elif kind == "duplicate" and isinstance(current, list) and current:
        current.append(copy.deepcopy(current[0]))
    elif kind == "unknown" and isinstance(current, dict):
        current["ukjentElement"] = "verdi"
    elif kind == "extra" and isinstance(parent, dict) and isinstance(last, str):
        parent["_" + last.lstrip("_")] = {"id": "x", "extension": []}
    else:  # the mutation does not fit this place: change the value's text instead
        parent[last] = str(current) + "-endret" if not isinstance(current, dict | list) else None
    return broken, f"{kind} {'/'.join(map(str, where))}"


def _seeded(name: str) -> random.Random:
    return random.Random(zlib.crc32(name.encode()))


def _read(path: Path) -> Any:
    return parse_xml(path.read_bytes()) if path.suffix == ".xml" else json.loads(path.read_bytes())


def compute() -> dict[str, Outcome]:
    """The outcome of every case of the corpus, by case name."""
    validator = Validator()
    found: dict[str, Outcome] = {}

    bundles = sorted((FIXTURES / "bundles").glob("*.bundle.*"))
    bundles += sorted((FIXTURES / "assignments").glob("*.bundle.*"))
    for path in bundles:
        bundle = _read(path)
        name = f"{path.parent.name}/{path.name}"
        found[name] = _outcome(validator.issues(bundle))
        for i, (res, issues) in enumerate(validator.validate_entries(bundle)):
            found[f"{name} split {i} {res.get('resourceType')}"] = _outcome(issues)
        for i, entry in enumerate(bundle["entry"]):
            found[f"{name} entry {i}"] = _outcome(validator.issues(entry["resource"]))
        if path.suffix == ".json":
            rng = _seeded(name)
            for n in range(BUNDLE_MUTATIONS):
                broken, what = _mutate(bundle, rng)
                found[f"{name} mutation {n}: {what}"] = _issues(validator, broken)

    for path in sorted((FIXTURES / "invalid" / "fhir").glob("*.json")):
        if path.name.endswith(".expect.json"):
            continue
        expect = json.loads(path.with_name(path.stem + ".expect.json").read_bytes())
        resource = json.loads(path.read_bytes())
        found[f"invalid/{path.name}"] = _outcome(validator.issues(resource, expect["profile"]))

    for name, base, mutate, *_expected in test_validator_broken.CASES:
        broken = copy.deepcopy(base)
        mutate(broken)
        found[f"broken/{name}"] = _issues(validator, broken)
    for n, (profile, mutate, _expected) in enumerate(test_ip_profiles.BROKEN):
        resource = test_ip_profiles.EXAMPLES[profile]()
        url = test_ip_profiles.EXT + profile
        found[f"ip-profiles/{profile}"] = _issues(validator, resource, url)
        mutate(resource)
        found[f"ip-profiles/{profile} broken {n}"] = _issues(validator, resource, url)

    # profiles derived in test_validator_message_ids (closed slicing, pattern, maxLength,
    # extensible binding, an invariant fhirpathpy cannot run) over the fixtures' Patients and
    # CarePlans, unbroken and mutated
    base_registry = Registry()
    registry = base_registry.overlay()
    registry.add(
        derived._derived(base_registry, "Patient", derived.PATIENT_URL, derived._patient_rules)
    )
    registry.add(
        derived._derived(base_registry, "CarePlan", derived.CAREPLAN_URL, derived._careplan_rules)
    )
    profiled = Validator(Engine(registry))
    urls = {"Patient": derived.PATIENT_URL, "CarePlan": derived.CAREPLAN_URL}
    for path in sorted((FIXTURES / "bundles").glob("*.bundle.json")):
        for i, entry in enumerate(json.loads(path.read_bytes())["entry"]):
            resource, rtype = entry["resource"], entry["resource"]["resourceType"]
            if rtype not in urls:
                continue
            resource["meta"] = {"profile": [urls[rtype]]}
            name = f"derived/{path.name} entry {i}"
            found[name] = _issues(profiled, resource)
            rng = _seeded(name)
            for n in range(DERIVED_MUTATIONS):
                broken, what = _mutate(resource, rng)
                found[f"{name} mutation {n}: {what}"] = _issues(profiled, broken)

    examples = reference_dir("r4-examples", "json")
    for path in sorted(examples.glob("*.json")):
        resource = json.loads(path.read_bytes())
        name = f"r4-examples/{path.name}"
        found[name] = _outcome(validator.issues(resource))
        rng = _seeded(name)
        for n in range(EXAMPLE_MUTATIONS):
            broken, what = _mutate(resource, rng)
            found[f"{name} mutation {n}: {what}"] = _issues(validator, broken)

    base = reference_dir("fhir-test-cases-r4")
    manifest = json.loads((base / "manifest-r4-subset.json").read_text(encoding="utf-8"))
    for case in manifest["test-cases"]:
        if not case["file"].endswith(".json") or case.get("use-test") is False:
            continue
        try:
            resource = json.loads((base / "cases" / case["file"]).read_text(encoding="utf-8"))
        except ValueError:
            continue
        issues = _validator_for(base, case).issues(resource)
        found[f"test-cases/{case['name']} {case['file']}"] = _outcome(issues)
    return found


def _golden() -> dict[str, Outcome]:
    """The golden outcomes; the file keeps each distinct issue once, under a short hash of it
    (most repeat: every mutated Bundle has the same warnings; a hash, not a position, so a
    changed outcome changes its own lines only), and each case as the hashes of its issues."""
    data = json.loads(GOLDEN.read_text(encoding="utf-8"))
    table: dict[str, list[Any]] = data["issues"]
    return {name: [table[i] for i in found] for name, found in data["outcomes"].items()}


def _key(issue: list[Any]) -> str:
    return hashlib.sha1(json.dumps(issue, ensure_ascii=False).encode()).hexdigest()[:12]


def write_golden() -> int:
    outcomes = compute()
    table = {_key(i): i for found in outcomes.values() for i in found}
    lines = ['{"issues": {']
    lines.append(
        ",\n".join(f'"{k}": {json.dumps(table[k], ensure_ascii=False)}' for k in sorted(table))
    )
    lines.append('},\n"outcomes": {')
    lines.append(
        ",\n".join(
            f"{json.dumps(name, ensure_ascii=False)}: {json.dumps([_key(i) for i in found])}"
            for name, found in sorted(outcomes.items())
        )
    )
    GOLDEN.parent.mkdir(exist_ok=True)
    GOLDEN.write_text("\n".join(lines) + "\n}}\n", encoding="utf-8")
    return len(outcomes)


def test_validation_results_equal_the_golden_file() -> None:
    golden = _golden()
    found = compute()
    assert len(found) >= 900
    assert sorted(found) == sorted(golden)
    changed = [name for name in golden if found[name] != golden[name]]
    assert changed == [], f"{len(changed)} outcomes changed, first {changed[0]!r}: " + json.dumps(
        {"golden": golden[changed[0]], "now": found[changed[0]]}, ensure_ascii=False
    )


def test_the_corpus_reaches_broken_data() -> None:
    """The golden file is not a list of clean results: most mutations draw an issue."""
    golden = _golden()
    mutated = [v for k, v in golden.items() if " mutation " in k]
    assert len(mutated) >= 400
    assert sum(bool(v) for v in mutated) >= len(mutated) // 2
    ids = {issue[2] for outcome in golden.values() for issue in outcome if len(issue) > 2}
    assert len(ids) >= 20


if __name__ == "__main__":
    if sys.argv[1:] == ["--write"]:
        print(f"{write_golden()} outcomes written to {GOLDEN}")
    else:
        pytest.main([__file__, "-q"])
