"""The plan-context cache on the real store (SQLite, and PostgreSQL when reachable) across writes:
a write of a type no cached context holds (a Goal) bumps no stamp and keeps the cached context
(many clients writing Goals for one person no longer reload the person's consent context on
every request), while every write that changes what a decision reads (a Goal's label, a
Consent, the CareTeam, the Patient, a relative, the directory) is seen on the next request of
every process. Oracle: after each write, what a caching process answers each actor equals what
a process without a cache answers, and a cached context equals a fresh load of the stamped
part."""

from __future__ import annotations

import copy
from typing import Any

import pytest

import ipfhir.adapter.consent.operation as operation
from ipfhir.adapter.bootstrap import secure_factory
from ipfhir.adapter.consent.cache import stamped_part
from ipfhir.adapter.consent.loader import load_context
from ipfhir.adapter.errors import NotFound
from ipfhir.adapter.ports import Actor, SearchParam, SearchQuery
from ipfhir.mappings.identifiers import HPR_SYSTEM
from tests.api.test_consent_cache_sql import FYSIO, OWNER, SCOPES, TEACHER, Two, two  # noqa: F401
from tests.unit.consent.builders import Sharing, sharing_consent, topic_label
from tests.unit.consent.conftest import ORGNR, standard_spec

PT = "Patient/ip1-pt"
DOCTOR = Actor(ORGNR["sykehus"], "9100003", scopes=SCOPES, purpose="COC")
ACTORS = (FYSIO, TEACHER, OWNER, DOCTOR)
READS = (("CarePlan", "ip1"), ("Goal", "ip1-g1"), ("Goal", "ip1-g2"), ("Goal", "ip1-g3"))
TOPIC = topic_label("rus")["valueCoding"]["system"]


def _goal(text: str = "Å gå på ski til Ráisa") -> dict[str, Any]:
    return {
        "resourceType": "Goal",
        "lifecycleStatus": "active",
        "description": {"text": text},
        "subject": {"reference": PT},
    }


@pytest.fixture
def loads(monkeypatch: pytest.MonkeyPatch, two: Two) -> list[str]:  # noqa: F811
    """Context loads by the first process."""
    calls: list[str] = []
    real = operation.load_context
    first = two.factories[0].enforcement.inner

    def counting(repo: Any, patient: str, plan: Any = None) -> Any:
        if repo is first:
            calls.append(patient)
        return real(repo, patient, plan)

    monkeypatch.setattr(operation, "load_context", counting)
    return calls


def _answers(factory: Any) -> list[Any]:
    out: list[Any] = []
    for actor in ACTORS:
        repo = factory.repository_for(actor)
        for rtype, rid in READS:
            try:
                out.append(repo.read(rtype, rid))
            except NotFound:
                out.append(("missing", rtype, rid))
        query = SearchQuery("Goal", (SearchParam("patient", (PT,)),), count=100)
        out.append(sorted(str(g["id"]) for g in repo.search(query).matches))
    return out


def _same_as_uncached(two: Two) -> None:  # noqa: F811
    uncached = secure_factory(two.first, cache_size=0)
    assert _answers(two.factories[0]) == _answers(uncached)
    enforcement = two.factories[0].enforcement
    stamps = enforcement.stamps([PT])
    assert stamps is not None
    entry = enforcement.cache.get(PT, stamps[PT])
    assert entry is not None
    fresh = stamped_part(load_context(enforcement.inner, PT))
    assert dict(entry.context.resources) == dict(fresh.resources)


def test_goal_writes_keep_the_cached_context(two: Two, loads: list[str]) -> None:  # noqa: F811
    assert two.as_(0, FYSIO).read("Goal", "ip1-g1")["id"] == "ip1-g1"
    assert loads == [PT]
    for process in (0, 1, 0):
        created = two.as_(process, OWNER).create(_goal())
        assert created["meta"]["versionId"] == "1"
    two.as_(1, OWNER).update("Goal", created["id"], {**_goal("Å gå på ski"), "id": created["id"]})
    assert two.as_(0, FYSIO).read("Goal", "ip1-g1")["id"] == "ip1-g1"
    assert two.as_(0, OWNER).read("Goal", created["id"])["description"]["text"] == "Å gå på ski"
    assert loads == [PT]  # one load for all of it: the Goal writes bumped no stamp
    _same_as_uncached(two)


def _relabel_goal(two: Two) -> None:  # noqa: F811
    goal = two.second.repository.read("Goal", "ip1-g1")
    goal["meta"] = {"security": [{"system": TOPIC, "code": "rus"}]}  # now a refused topic
    two.as_(1, OWNER).update("Goal", "ip1-g1", goal)


def _refuse_the_school(two: Two) -> None:  # noqa: F811
    spec = standard_spec()
    sharing = Sharing(**{**vars(spec.sharing), "refused_orgs": ("nav", "skole")})
    two.as_(1, OWNER).update("Consent", "ip1-sharing", sharing_consent(spec, sharing))


def _drop_the_doctor_from_the_team(two: Two) -> None:  # noqa: F811
    team = copy.deepcopy(two.second.repository.read("CareTeam", "ip1"))
    team["participant"] = [
        p for p in team["participant"] if "ip1-lege" not in p["member"]["reference"]
    ]
    two.as_(1, OWNER).update("CareTeam", "ip1", team)


def _move_the_teacher(two: Two) -> None:  # noqa: F811
    teacher = two.second.repository.read("Practitioner", "ip1-laerer")
    teacher["identifier"] = [{"system": HPR_SYSTEM, "value": "9100099"}]
    two.second.repository.update("Practitioner", "ip1-laerer", teacher)


def _revoke(two: Two) -> None:  # noqa: F811
    spec = standard_spec()
    revoked = sharing_consent(spec, Sharing(**{**vars(spec.sharing), "status": "inactive"}))
    two.as_(1, OWNER).update("Consent", "ip1-sharing", revoked)


@pytest.mark.parametrize(
    "change",
    [_relabel_goal, _refuse_the_school, _drop_the_doctor_from_the_team, _move_the_teacher, _revoke],
)
def test_a_write_changing_what_decisions_read_is_seen_after_goal_writes(
    two: Two,  # noqa: F811
    loads: list[str],
    change: Any,
) -> None:
    """The cached context survives the Goal writes, and then the change (by the other process)
    is seen on the next request: the answers equal those of a process without a cache."""
    before = _answers(two.factories[0])
    two.as_(0, OWNER).create(_goal())
    two.as_(1, OWNER).create(_goal())
    kept = len(loads)
    assert two.as_(0, FYSIO).read("Goal", "ip1-g1")["id"] == "ip1-g1"
    assert len(loads) == kept  # kept across the Goal writes
    change(two)
    after = _answers(two.factories[0])
    assert after != before  # the change shows in some answer of this process
    _same_as_uncached(two)
