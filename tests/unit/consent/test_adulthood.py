"""The re-check at 18 (IP-1045, mappings/recheck.py) in enforcement: a sharing consent the parents
gave alone while the person was a child permits nothing from the person's 18th birthday — the
person consents now (seed 000_9834cdca9ff16a63.txt; pasient- og brukerrettighetsloven § 4-3). Its
refusals keep restricting (a refusal never discloses). The owner and the coordinator keep the plan;
a recipient named only by the parents' consent is a stranger from that day, answered like missing.
Judged on the enforcement's clock (a fixed day here), never on today's date."""

from __future__ import annotations

import datetime as dt
from dataclasses import replace

import pytest

from ipfhir.adapter.audit import InMemoryAuditSink, InMemoryLedger
from ipfhir.adapter.consent.context import PlanContext
from ipfhir.adapter.consent.enforce import ConsentRepositoryFactory
from ipfhir.adapter.consent.operation import Enforcement
from ipfhir.adapter.consent.policy import access_for
from ipfhir.adapter.consent.provisions import lapsed_at_adulthood
from ipfhir.adapter.errors import NotFound
from ipfhir.adapter.ports import Actor, SearchQuery
from ipfhir.mappings.codes import ext_url
from tests.unit.consent.builders import PlanSpec, Relative, Sharing, build
from tests.unit.consent.conftest import HPR, ORGNR, World, standard_spec
from tests.unit.consent.fakes import FixedClock, MemoryRepository

BORN = dt.date(2008, 6, 2)  # 18 on 2026-06-02
EVE, BIRTHDAY = "2026-06-01T10:00:00Z", "2026-06-02T00:30:00Z"


def _spec(performers: tuple[tuple[str, str], ...]) -> PlanSpec:
    base = standard_spec()
    sharing = replace(base.sharing or Sharing(), performers=performers)
    return replace(
        base, born=BORN, relatives=[Relative("mor", parental=True)], sharing=sharing, seed=18
    )


def _world(on: str, performers: tuple[tuple[str, str], ...]) -> World:
    spec = _spec(performers)
    repo = MemoryRepository()
    for res in build(spec):
        repo.put(res)
    audit, ledger = InMemoryAuditSink(), InMemoryLedger()
    enforcement = Enforcement(repo, audit, ledger, FixedClock(on), enforce_scopes=False)
    return World(spec, repo, ConsentRepositoryFactory(enforcement), audit, ledger)


def _goals(repo: object) -> set[str]:
    found = repo.search(SearchQuery("Goal")).matches  # type: ignore[attr-defined]
    return {m["id"] for m in found}


PARENTS = (("mor", "parent"),)
_CAPACITY = {"url": ext_url("ip-consent-capacity"), "valueCode": "parent"}


def test_the_parents_consent_permits_until_the_eve_of_the_18th_birthday() -> None:
    world = _world(EVE, PARENTS)
    assert _goals(world.as_org("sykehus", "fysio")) == {"ip1-g1", "ip1-g3"}


def test_from_the_18th_birthday_the_parents_consent_permits_nothing() -> None:
    world = _world(BIRTHDAY, PARENTS)
    recipient = world.as_org("sykehus", "fysio")
    assert _goals(recipient) == set()
    with pytest.raises(NotFound):
        recipient.read("Goal", "ip1-g1")  # type: ignore[attr-defined]
    with pytest.raises(NotFound):
        recipient.read("Goal", "ip1-nope")  # type: ignore[attr-defined]
    # the plan stays with its owner and its coordinator
    assert _goals(world.as_owner()) == {"ip1-g1", "ip1-g2", "ip1-g3"}
    assert "ip1-g1" in _goals(world.as_org("kommune", "koord"))


@pytest.mark.parametrize(
    "performers",
    [(("person", "self"),), (("person", "self"), ("mor", "parent"))],
    ids=["the-person", "the-person-with-a-parent"],
)
def test_a_consent_the_person_gave_holds_on_the_birthday(
    performers: tuple[tuple[str, str], ...],
) -> None:
    world = _world(BIRTHDAY, performers)
    assert _goals(world.as_org("sykehus", "fysio")) == {"ip1-g1", "ip1-g3"}


def test_the_parents_refusals_keep_restricting_after_18() -> None:
    """NAV was refused by the parents' consent; after 18 that consent permits nothing, and its
    refusal of NAV still holds (NAV gets nothing, as before)."""
    for on in (EVE, BIRTHDAY):
        assert _goals(_world(on, PARENTS).as_org("nav")) == set()


def test_the_explanation_names_the_re_check() -> None:
    ctx = PlanContext.of("Patient/ip1-pt", build(_spec(PARENTS)))
    actor = Actor(organisation=ORGNR["sykehus"], practitioner=HPR["fysio"])
    before, after = access_for(ctx, actor, "2026-06-01"), access_for(ctx, actor, "2026-06-02")
    assert before.basis == "consent"
    assert after.basis == "none"
    assert "IP-1045" in after.reasons[0].text
    assert after.reasons[0].consent == "Consent/ip1-sharing"


@pytest.mark.parametrize(
    ("born", "today", "lapsed"),
    [
        ("2008", "2025-12-31", False),
        ("2008", "2026-01-01", True),  # a year alone: its first day, 18 at the earliest
        ("2008-06", "2026-05-31", False),
        ("2008-06", "2026-06-01", True),
        ("2008-06-02", "2026-06-01", False),
        ("2008-06-02", "2026-06-02", True),
    ],
)
def test_a_partial_birth_date_is_read_as_its_earliest_day(
    born: str, today: str, lapsed: bool
) -> None:
    consent = {"performer": [{"reference": "RelatedPerson/mor", "extension": [_CAPACITY]}]}
    assert lapsed_at_adulthood(consent, born, today) is lapsed
    assert lapsed_at_adulthood({"performer": [{"reference": "Patient/p"}]}, born, today) is False
