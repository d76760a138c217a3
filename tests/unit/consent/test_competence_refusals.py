"""Who may give a Consent, refused where a coordinator would try it: a guardian outside the
mandate (IP-5205) and a person whose age the server cannot know (IP-5202: without a birthDate
the age limits of samtykkekompetanse could not be applied, so no consent is taken). Each refusal
names the Consent element at fault and leaves the stored Consent as it was."""

from __future__ import annotations

import datetime as dt

import pytest

from ipfhir.adapter.errors import NotFound
from ipfhir.mappings.errors import PlanRuleViolation
from tests.unit.consent.builders import PlanSpec, Relative, Sharing, sharing_consent
from tests.unit.consent.conftest import World, make_world, standard_spec

GUARDIAN = (("verge", "guardian"),)


def _adult_with_guardian(covers: tuple[str, ...]) -> World:
    spec = PlanSpec(
        plan="ip1",
        born=dt.date(1961, 11, 30),
        orgs=standard_spec().orgs,
        relatives=[Relative("verge", guardian_covers=covers)],
    )
    return make_world(spec)


def _stored_consent(world: World) -> object:
    try:
        return world.repo.read("Consent", f"{world.spec.plan}-sharing")
    except NotFound:
        return None


def test_a_guardian_outside_the_mandate_cannot_consent() -> None:
    world = _adult_with_guardian(("child-welfare",))
    before = _stored_consent(world)
    consent = sharing_consent(world.spec, Sharing(recipients=("org:sykehus",), performers=GUARDIAN))
    with pytest.raises(PlanRuleViolation) as err:
        world.as_owner().update("Consent", "ip1-sharing", consent)
    found = [(i.message_id, i.expression) for i in err.value.issues]
    # the guardian is refused, so nobody entitled consented: the person (64) must, or a guardian
    assert found == [("IP-5205", ("Consent.performer[0]",)), ("IP-5204", ("Consent.performer",))]
    assert _stored_consent(world) == before


def test_a_guardian_within_the_mandate_consents() -> None:
    world = _adult_with_guardian(("health-and-care",))
    consent = sharing_consent(world.spec, Sharing(recipients=("org:sykehus",), performers=GUARDIAN))
    stored = world.as_owner().update("Consent", "ip1-sharing", consent)
    assert stored.resource["performer"][0]["reference"] == "RelatedPerson/ip1-verge"


def test_no_consent_is_taken_for_a_person_without_a_birth_date() -> None:
    world = make_world(standard_spec())
    patient = world.repo.read("Patient", world.spec.patient_id)
    world.repo.put({k: v for k, v in patient.items() if k not in ("birthDate", "meta")})
    before = _stored_consent(world)
    consent = sharing_consent(world.spec, Sharing(recipients=("org:sykehus",)))
    with pytest.raises(PlanRuleViolation) as err:
        world.as_owner().update("Consent", "ip1-sharing", consent)
    [issue] = err.value.issues
    assert (issue.message_id, issue.expression) == ("IP-5202", ("Consent.patient",))
    assert _stored_consent(world) == before
    draft = sharing_consent(world.spec, Sharing(status="draft", recipients=("org:sykehus",)))
    assert world.as_owner().update("Consent", "ip1-sharing", draft).resource["status"] == "draft"
