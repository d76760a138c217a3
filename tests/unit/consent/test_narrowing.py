"""A change to a sharing Consent that takes away what it gave is told to its recipients
(:func:`adapter.consent.narrowing.narrowing`): withdrawn, period shortened, a permit narrowed
(an actor or a topic removed), a deny added. A change that gives as much or more tells nobody."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from ipfhir.adapter.consent.narrowing import narrowing
from ipfhir.mappings.codes import cs_url, ext_url
from tests.api.notify_world import hospital_resources
from tests.unit.consent.builders import CONSENT_END

TODAY = "2026-12-01"
LATER = f"{int(CONSENT_END[:4]) + 1}-12-31"  # after the world's consent ends
TOPICS = cs_url("ip-information-topic")


def _sharing() -> dict[str, Any]:
    [consent] = [r for r in hospital_resources() if r.get("id") == "ip1-sharing"]
    return copy.deepcopy(consent)


def _actor(ref: str) -> dict[str, Any]:
    role = {"system": "http://terminology.hl7.org/CodeSystem/v3-ParticipationType", "code": "IRCP"}
    return {"role": {"coding": [role]}, "reference": {"reference": ref}}


def _changed(change: Any) -> tuple[str, ...]:
    old = _sharing()
    new = copy.deepcopy(old)
    change(new)
    return narrowing(old, new, TODAY)


@pytest.mark.parametrize("status", ["inactive", "rejected", "entered-in-error", "draft"])
def test_a_status_other_than_active_is_a_withdrawal(status: str) -> None:
    found = _changed(lambda c: c.update(status=status))
    assert len(found) == 1 and found[0].startswith("withdrawn: status is")


def test_the_revoked_extension_dated_today_is_a_withdrawal_one_dated_later_not_yet() -> None:
    def revoked(on: str) -> Any:
        return lambda c: c.update(
            extension=[{"url": ext_url("ip-consent-revoked"), "valueDate": on}]
        )

    assert _changed(revoked(TODAY))[0].startswith("withdrawn: revoked on")
    assert _changed(revoked("2027-03-01")) == ()


def test_a_deleted_consent_is_a_withdrawal() -> None:
    assert narrowing(_sharing(), None, TODAY) == ("withdrawn: the consent was deleted",)


def test_the_base_provision_turned_deny_is_a_withdrawal() -> None:
    assert _changed(lambda c: c["provision"].update(type="deny"))[0].startswith("withdrawn")


def test_an_expired_period_is_a_withdrawal_a_shortened_one_a_narrowing() -> None:
    assert _changed(lambda c: c["provision"]["period"].update(end="2026-11-30"))[0].startswith(
        "withdrawn: outside provision.period"
    )
    assert _changed(lambda c: c["provision"]["period"].update(end="2027-06-30")) == (
        "period shortened",
    )
    assert _changed(lambda c: c["provision"]["period"].update(end=LATER)) == ()


def test_a_recipient_removed_narrows() -> None:
    def without_ke(c: dict[str, Any]) -> None:
        c["provision"]["actor"] = [
            a
            for a in c["provision"]["actor"]
            if a["reference"]["reference"] != "Organization/ip1-ke"
        ]

    assert _changed(without_ke) == ("permit narrowed",)


def test_a_recipient_added_does_not_narrow() -> None:
    assert (
        _changed(lambda c: c["provision"]["actor"].append(_actor("Organization/ip1-skole"))) == ()
    )


def test_a_refused_topic_added_after_the_fact_narrows() -> None:
    def deny_health(c: dict[str, Any]) -> None:
        topic = {"system": TOPICS, "code": "behandling"}
        c["provision"]["provision"].append({"type": "deny", "securityLabel": [topic]})

    assert _changed(deny_health) == ("deny added",)


def test_a_refused_individual_added_narrows_one_taken_away_does_not() -> None:
    def deny_teacher(c: dict[str, Any]) -> None:
        c["provision"]["provision"].append(
            {"type": "deny", "actor": [_actor("Practitioner/ip1-laerer")]}
        )

    assert _changed(deny_teacher) == ("deny added",)
    assert _changed(lambda c: c["provision"]["provision"].pop(2)) == ()  # the doctor again


def test_a_deny_reaching_more_actors_narrows_fewer_does_not() -> None:
    def nav_and_school(c: dict[str, Any]) -> None:
        c["provision"]["provision"][1]["actor"].append(_actor("Organization/ip1-skole"))

    assert _changed(nav_and_school) == ("deny added",)
    old = _sharing()
    nav_and_school(old)
    assert narrowing(old, _sharing(), TODAY) == ()


def test_a_limit_of_topics_losing_one_narrows_gaining_one_does_not() -> None:
    def limit(*codes: str) -> Any:
        def change(c: dict[str, Any]) -> None:
            labels = [{"system": TOPICS, "code": code} for code in codes]
            c["provision"]["provision"].append(
                {
                    "type": "permit",
                    "actor": [_actor("Organization/ip1-ke")],
                    "securityLabel": labels,
                }
            )

        return change

    old = _sharing()
    limit("behandling", "opplaering")(old)
    fewer, more = copy.deepcopy(_sharing()), copy.deepcopy(_sharing())
    limit("behandling")(fewer)
    limit("behandling", "opplaering", "arbeid")(more)
    assert narrowing(old, fewer, TODAY) == ("permit narrowed",)
    assert narrowing(old, more, TODAY) == ()


def test_provisions_reordered_or_unchanged_tell_nobody() -> None:
    assert _changed(lambda c: c["provision"]["provision"].reverse()) == ()
    assert _changed(lambda c: c.update(dateTime="2026-02-01")) == ()


def test_several_narrowings_are_all_named() -> None:
    def both(c: dict[str, Any]) -> None:
        c["provision"]["period"]["end"] = "2027-01-31"
        c["provision"]["actor"].pop(0)
        c["provision"]["provision"].append(
            {"type": "deny", "actor": [_actor("Organization/ip1-ke")]}
        )

    assert _changed(both) == ("period shortened", "permit narrowed", "deny added")


def test_a_consent_not_in_force_before_or_not_a_sharing_consent_tells_nobody() -> None:
    old, new = _sharing(), _sharing()
    old["status"] = "draft"
    assert narrowing(old, new, TODAY) == ()  # put in force: more, not less
    assert narrowing(None, new, TODAY) == ()
    plan = next(r for r in hospital_resources() if r.get("id") == "ip1-plan")
    assert narrowing(plan, {**plan, "status": "inactive"}, TODAY) == ()
