"""A support person (støtteperson: likemann, rådgiver, venn — a RelatedPerson coded
``ip-participant-role#stotteperson``) takes part with the person but never consents for them
(mappings.competence: only the person, a relative with parental responsibility or as nearest
relative, or a guardian within the mandate; fixtures/invalid/support-person-consents is refused
IP-1026). The enforcement point's consent-competence check maps every RelatedPerson that is not
a guardian to a *relative* and never looks at the support-person code."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from ipfhir.mappings.codes import cs_url
from ipfhir.mappings.errors import PlanRuleViolation
from tests.unit.consent.conftest import OWNER
from tests.unit.consent.real_plans import Place, fixture_bundle, identifier, one

TODAY = "2026-06-01"  # Gudrun's capacity lapse (from 2025-11-20) is in force


def _stored() -> tuple[Place, Any, dict[str, Any]]:
    """demens-naermeste written by Hamar's coordinating unit; a support person (a neighbour who
    comes along to meetings) added to Gudrun's plan by the same unit."""
    bundle = fixture_bundle("demens-naermeste")
    place = Place(bundle, TODAY)
    author = one(bundle, "CarePlan")["author"]["reference"].split("/")[1]
    orgnr = identifier(one(bundle, "Organization", author[-12:]), "4.101")
    owner = place.as_actor(orgnr, None, OWNER)
    response = owner.transaction(bundle)
    assert {e["response"]["status"][:3] for e in response["entry"]} <= {"200", "201"}
    support = {
        "resourceType": "RelatedPerson",
        "id": "hamar-ip-2026-0107-stotte",
        "patient": {"reference": place.patient},
        "relationship": [
            {"coding": [{"system": cs_url("ip-participant-role"), "code": "stotteperson"}]}
        ],
        "name": [{"family": "Bråten", "given": ["Øystein"]}],
    }
    owner.update("RelatedPerson", support["id"], support)
    return place, owner, support


def test_a_support_person_cannot_consent_as_nearest_relative() -> None:
    """Attacker: a holder of the plan (the owner's coordinating unit, or a coordinator) records
    the sharing consent of a person who lacks capacity as given by a support person — a
    neighbour, not a relative — with capacity ``nearest-relative``. Changed: the consent the
    server enforces (who may see the plan) now rests on someone with no right to give it, and
    the server stores it as valid. Correct answer: refused as the model refuses it (IP-1026,
    at the enforcement point IP-5206 at ``Consent.performer[0]``), nothing stored."""
    place, owner, support = _stored()
    consent = copy.deepcopy(one(place.bundle, "Consent", "samtykke-deling"))
    owner.update("Consent", consent["id"], consent)  # the husband as nearest relative: accepted
    consent["performer"][0]["reference"] = f"RelatedPerson/{support['id']}"
    with pytest.raises(PlanRuleViolation) as err:
        owner.update("Consent", consent["id"], consent)
    assert err.value.issues[0].message_id == "IP-5206"
    assert err.value.issues[0].expression == ("Consent.performer[0]",)
