"""The validator shared by many threads from a cold start answers exactly as it does alone.

Issue 10, finding 1: the server's first requests after a start arrive together; two threads
compiled the same profile, one tree was dropped, and caches keyed by ``id(node)`` then answered
for nodes of the dropped tree whose ids Python had reused — valid resources were refused
("Element 'value[x]' is required") for the life of the process, in 7-8 of 10 starts.
"""

from __future__ import annotations

import json
import threading
from pathlib import Path
from typing import Any

import pytest

from ipfhir.profiles.validator import Validator
from ipfhir.profiles.validator.engine import Engine
from ipfhir.profiles.validator.registry import Registry
from ipfhir.profiles.validator.terminology import Terminology

BUNDLES = Path(__file__).parents[3] / "fixtures" / "bundles"
THREADS = 16
COLD_STARTS = 4


def _fixture_resources() -> list[dict[str, Any]]:
    found = []
    for path in sorted(BUNDLES.glob("*.bundle.json")):
        bundle = json.loads(path.read_text(encoding="utf-8"))
        found += [entry["resource"] for entry in bundle.get("entry", ())]
    return found


RESOURCES = _fixture_resources()


def _errors(outcome: dict[str, Any]) -> list[dict[str, Any]]:
    return [i for i in outcome.get("issue", ()) if i["severity"] in ("error", "fatal")]


@pytest.fixture(scope="module")
def alone() -> list[dict[str, Any]]:
    """Each resource's outcome from a validator used by one thread only."""
    validator = Validator()
    return [validator.validate(r) for r in RESOURCES]


def test_the_fixture_resources_are_valid(alone: list[dict[str, Any]]) -> None:
    assert len(RESOURCES) > 100
    assert {r["resourceType"] for r in RESOURCES} >= {"CarePlan", "CareTeam", "Consent", "Goal"}
    for resource, outcome in zip(RESOURCES, alone, strict=True):
        assert _errors(outcome) == [], (resource["resourceType"], resource.get("id"))


def _hammer(validator: Validator) -> list[list[tuple[int, dict[str, Any]]]]:
    """Every thread validates every resource (each from another starting point), all released
    at once on a validator that has compiled nothing yet."""
    start = threading.Barrier(THREADS)
    results: list[list[tuple[int, dict[str, Any]]]] = [[] for _ in range(THREADS)]
    failures: list[BaseException] = []

    def work(n: int) -> None:
        try:
            start.wait()
            shift = n * len(RESOURCES) // THREADS
            for i in [*range(shift, len(RESOURCES)), *range(shift)]:
                results[n].append((i, validator.validate(RESOURCES[i])))
        except BaseException as err:  # noqa: BLE001 - reported by the test thread
            failures.append(err)

    threads = [threading.Thread(target=work, args=(n,)) for n in range(THREADS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert failures == []
    return results


@pytest.mark.parametrize("start", range(COLD_STARTS))
def test_cold_validator_under_many_threads_answers_as_alone(
    start: int, alone: list[dict[str, Any]]
) -> None:
    validator = Validator(Engine(Registry()))  # a fresh process's validator: nothing compiled
    for n, answers in enumerate(_hammer(validator)):
        assert len(answers) == len(RESOURCES)
        for i, outcome in answers:
            assert _errors(outcome) == [], (start, n, RESOURCES[i]["resourceType"], outcome)
            assert outcome == alone[i], (start, n, RESOURCES[i]["resourceType"])


def test_each_profile_is_compiled_once_whatever_the_threads() -> None:
    engine = Engine(Registry())
    url = "https://ip-fhir-adapter.no/fhir/StructureDefinition/ip-careplan"
    start = threading.Barrier(THREADS)
    roots: list[object] = []

    def work() -> None:
        start.wait()
        roots.append(engine.compiled(url))

    threads = [threading.Thread(target=work) for _ in range(THREADS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(roots) == THREADS
    assert roots[0] is not None
    assert all(r is roots[0] for r in roots)


def test_unknown_profile_urls_are_not_remembered() -> None:
    """A client can name any number of profiles in meta.profile; only known ones are kept."""
    engine = Engine(Registry())
    for n in range(50):
        assert engine.compiled(f"http://example.org/StructureDefinition/nope-{n}") is None
    assert engine.compiled("http://hl7.org/fhir/StructureDefinition/Patient") is not None
    assert list(engine._compiled) == ["http://hl7.org/fhir/StructureDefinition/Patient"]


def test_an_expansion_in_progress_is_not_seen_as_unknown_by_another_thread() -> None:
    """The cycle guard of one thread's ValueSet expansion must not answer another thread."""
    registry = Registry()
    url = "http://hl7.org/fhir/ValueSet/administrative-gender"
    inside = threading.Event()
    release = threading.Event()

    class Slow(Terminology):
        def _compute(self, vs_url: str) -> Any:
            if vs_url == url:
                inside.set()
                release.wait(5)
            return super()._compute(vs_url)

    terminology = Slow(registry)
    first: list[Any] = []
    worker = threading.Thread(target=lambda: first.append(terminology.expand(url)))
    worker.start()
    assert inside.wait(5)
    second: list[Any] = []
    other = threading.Thread(target=lambda: second.append(terminology.expand(url)))
    other.start()
    other.join(0.2)
    release.set()
    worker.join()
    other.join()
    assert first[0] is not None
    assert ("http://hl7.org/fhir/administrative-gender", "female") in first[0]
    assert second == first
