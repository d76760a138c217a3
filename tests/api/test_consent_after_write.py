"""After a write the response is judged on the context the stamps then say is current: a Goal
created bumps no stamp, so the context checked before it is found in the cache again; when
another process wrote for the person in between, or the write is of a type in the context, the
context is loaded afresh. Either way the cached context equals a fresh load, on SQLite and
PostgreSQL."""

from __future__ import annotations

from typing import Any

import pytest

import ipfhir.adapter.consent.operation as operation
from ipfhir.adapter.consent.loader import load_context
from tests.api.test_consent_cache_sql import OWNER, Two, two  # noqa: F401
from tests.unit.consent.builders import Sharing, sharing_consent
from tests.unit.consent.conftest import standard_spec

PT = "Patient/ip1-pt"


def _goal() -> dict[str, Any]:
    return {
        "resourceType": "Goal",
        "lifecycleStatus": "active",
        "description": {"text": "Lære å lage bidos med Ánde i Guovdageaidnu"},
        "subject": {"reference": PT},
    }


@pytest.fixture
def loads(monkeypatch: pytest.MonkeyPatch, two: Two) -> list[str]:  # noqa: F811
    """Loads by the first process (the one under test)."""
    calls: list[str] = []
    real = operation.load_context
    first = two.factories[0].enforcement.inner

    def counting(repo: Any, patient: str, plan: Any = None) -> Any:
        if repo is first:
            calls.append(patient)
        return real(repo, patient, plan)

    monkeypatch.setattr(operation, "load_context", counting)
    return calls


def _cached_is_fresh(two: Two) -> None:  # noqa: F811
    enforcement = two.factories[0].enforcement
    stamps = enforcement.stamps([PT])
    assert stamps is not None
    entry = enforcement.cache.get(PT, stamps[PT])
    assert entry is not None, "the context judged after the write is cached under the new stamps"
    fresh = load_context(enforcement.inner, PT)
    assert dict(entry.context.resources) == dict(fresh.resources)


def test_a_goal_create_is_judged_on_the_context_it_checked(two: Two, loads: list[str]) -> None:  # noqa: F811
    created = two.as_(0, OWNER).create(_goal())
    assert created["resourceType"] == "Goal" and created["meta"]["versionId"] == "1"
    assert loads == [PT]  # the check's load only; not again for the response
    _cached_is_fresh(two)
    assert two.as_(0, OWNER).read("Goal", created["id"])["id"] == created["id"]
    assert loads == [PT]  # and the next request finds it in the cache


def test_a_write_in_between_by_another_process_reloads(
    two: Two,  # noqa: F811
    loads: list[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    inner = two.factories[0].enforcement.inner
    real_create = inner.create
    spec = standard_spec()
    revoked = sharing_consent(spec, Sharing(**{**vars(spec.sharing), "status": "inactive"}))

    def racing(resource: dict[str, Any]) -> dict[str, Any]:
        two.as_(1, OWNER).update("Consent", "ip1-sharing", revoked)
        return real_create(resource)  # type: ignore[no-any-return]

    monkeypatch.setattr(inner, "create", racing)
    two.as_(0, OWNER).create(_goal())
    assert loads.count(PT) == 2  # the Consent bumped the stamp: the context is not reused
    _cached_is_fresh(two)
    enforcement = two.factories[0].enforcement
    stamps = enforcement.stamps([PT])
    assert stamps is not None
    entry = enforcement.cache.get(PT, stamps[PT])
    assert entry is not None
    assert entry.context.resources["Consent/ip1-sharing"]["status"] == "inactive"


def test_a_write_of_a_context_type_reloads(two: Two, loads: list[str]) -> None:  # noqa: F811
    spec = standard_spec()
    changed = sharing_consent(spec, Sharing(**{**vars(spec.sharing), "end": "2027-06-30"}))
    two.as_(0, OWNER).update("Consent", "ip1-sharing", changed)
    assert loads.count(PT) == 2
    _cached_is_fresh(two)
