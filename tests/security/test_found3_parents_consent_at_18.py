"""IP-1045, the re-check at 18 (mappings/recheck.py): «a consent given by the parents alone
(capacity ``parent``) is no longer anyone's consent once the person is 18 — the person consents
now». The model reports it on a given day; the enforcement point still honours the parents'
sharing consent after the 18th birthday, so the recipients the parents chose keep reading an
adult's plan that the adult never consented to share."""

from __future__ import annotations

import copy
from typing import Any

from ipfhir.adapter.errors import NotFound
from tests.unit.consent.conftest import OWNER
from tests.unit.consent.real_plans import Place, fixture_bundle, identifier, one

BIRTHDAY_18 = "2036-05-14"  # the child of child-barnekoordinator is born 2018-05-14


def _running_on() -> dict[str, Any]:
    """child-barnekoordinator (Bodø; the parents consent for their 8-year-old, the school is a
    recipient) with the plan and both consents running on without an end date."""
    bundle = copy.deepcopy(fixture_bundle("child-barnekoordinator"))
    for entry in bundle["entry"]:
        res = entry["resource"]
        if res["resourceType"] == "Consent":
            res["provision"]["period"].pop("end", None)
        if res["resourceType"] == "CarePlan":
            res["period"].pop("end", None)
    return bundle


def _stored(today: str) -> Place:
    bundle = _running_on()
    place = Place(bundle, today)
    orgnr = identifier(one(bundle, "Organization", "bodo-kommune"), "4.101")
    response = place.as_actor(orgnr, None, OWNER).transaction(bundle)
    assert {e["response"]["status"][:3] for e in response["entry"]} <= {"200", "201"}
    return place


def _school_reads_the_plan(place: Place) -> bool:
    school = identifier(one(place.bundle, "Organization", "skole"), "4.101")
    try:
        place.as_actor(school).read("CarePlan", place.plan_id)
    except NotFound:
        return False
    return True


def test_the_parents_sharing_consent_lapses_when_the_child_is_18() -> None:
    """Attacker: the school (Organization «skole»), a recipient the *parents* named in the
    sharing consent they gave for their 8-year-old. Learns: on and after the child's 18th
    birthday it still reads the plan (here the CarePlan) — the adult's plan shared on a
    consent the model says is no longer anyone's. Correct answer: from the 18th birthday a
    sharing consent given by the parents alone permits nothing (the school gets 404, as for a
    plan it is not named in) until the person consents."""
    assert _school_reads_the_plan(_stored("2026-06-01"))  # the control: at 8, it may
    # (and it is the sharing consent that lets it: with that consent ended the school reads
    # nothing, the day being the same)
    assert not _school_reads_the_plan(_stored(BIRTHDAY_18))
