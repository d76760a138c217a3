"""A support person (``ip-participant-role#stotteperson``) never consents for the person, in any
capacity, and a GUARD code added beside the support-person code does not make one a guardian
(deny beats permit). The nearest-relative case alone is
tests/security/test_found3_support_person_consent.py."""

from __future__ import annotations

import copy

import pytest

from ipfhir.mappings.codes import cs_url, ext_url
from ipfhir.mappings.errors import PlanRuleViolation
from tests.unit.consent.conftest import OWNER
from tests.unit.consent.real_plans import Place, fixture_bundle, identifier, one

TODAY = "2026-06-01"
_GUARD = {"system": "http://terminology.hl7.org/CodeSystem/v3-RoleCode", "code": "GUARD"}
_MANDATE = {
    "url": ext_url("ip-guardian-mandate"),
    "extension": [{"url": "covers", "valueCode": "health-and-care"}],
}


@pytest.mark.parametrize(
    ("capacity", "also_guardian"),
    [("parent", False), ("guardian", False), ("guardian", True), ("nearest-relative", True)],
)
def test_a_support_person_consents_in_no_capacity(capacity: str, also_guardian: bool) -> None:
    bundle = fixture_bundle("demens-naermeste")
    place = Place(bundle, TODAY)
    author = one(bundle, "CarePlan")["author"]["reference"].split("/")[1]
    owner = place.as_actor(
        identifier(one(bundle, "Organization", author[-12:]), "4.101"), None, OWNER
    )
    owner.transaction(bundle)
    support = {
        "resourceType": "RelatedPerson",
        "id": "hamar-ip-2026-0107-stotte",
        "patient": {"reference": place.patient},
        "relationship": [
            {"coding": [{"system": cs_url("ip-participant-role"), "code": "stotteperson"}]}
        ]
        + ([{"coding": [_GUARD]}] if also_guardian else []),
        "name": [{"family": "Bråten", "given": ["Øystein"]}],
    }
    if also_guardian:
        support["extension"] = [_MANDATE]
    owner.update("RelatedPerson", support["id"], support)
    consent = copy.deepcopy(one(place.bundle, "Consent", "samtykke-deling"))
    owner.update("Consent", consent["id"], consent)
    consent["performer"][0]["reference"] = f"RelatedPerson/{support['id']}"
    for ext in consent["performer"][0].get("extension", []):
        if ext.get("url", "").endswith("ip-consent-capacity"):
            ext["valueCode"] = capacity
    with pytest.raises(PlanRuleViolation) as err:
        owner.update("Consent", consent["id"], consent)
    assert err.value.issues[0].message_id == "IP-5206"
    assert err.value.issues[0].expression == ("Consent.performer[0]",)
