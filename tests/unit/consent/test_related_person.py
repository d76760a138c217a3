"""A relative (RelatedPerson) is personal data about someone else tied to the person's plan: it
is consent-governed and audited like the rest of the plan, never directory data."""

from __future__ import annotations

import datetime as dt
import random
from dataclasses import replace
from typing import Any

import pytest

from ipfhir.adapter.consent.context import DIRECTORY_TYPES, PERSON_TYPES
from ipfhir.adapter.errors import NotFound
from ipfhir.adapter.ports import SearchParam, SearchQuery
from ipfhir.adapter.security_errors import Forbidden
from ipfhir.mappings.errors import PlanRuleViolation
from ipfhir.mappings.identifiers import FNR_SYSTEM, synthetic_fnr
from tests.unit.consent.builders import IRCP, Relative, Sharing, sharing_consent
from tests.unit.consent.conftest import World, make_world, standard_spec

PT = "Patient/ip1-pt"
MOTHER_FNR = synthetic_fnr(dt.date(1962, 3, 8), random.Random(62))


@pytest.fixture
def family() -> World:
    return make_world(replace(standard_spec(), relatives=[Relative("mor", parental=True)]))


def _mother_ids(repo: Any) -> set[str]:
    found = repo.search(SearchQuery("RelatedPerson", (SearchParam("patient", (PT,)),)))
    return {r["id"] for r in found.matches}


def test_relatives_are_person_data_not_directory_data() -> None:
    assert "RelatedPerson" in PERSON_TYPES
    assert not PERSON_TYPES & DIRECTORY_TYPES


def test_outsider_cannot_read_a_relative_and_the_refusal_is_audited(family: World) -> None:
    outsider = family.as_org("annen")
    with pytest.raises(NotFound):
        outsider.read("RelatedPerson", "ip1-mor")
    assert _mother_ids(outsider) == set()
    refused = family.audit.events[-2]  # the read's event (the search that follows found none)
    assert refused["outcome"] == "4"
    assert refused["entity"][0]["what"]["reference"] == PT
    assert any(
        e["what"]["reference"].startswith("RelatedPerson/ip1-mor") for e in refused["entity"]
    )


def _mother_in_the_team(world: World) -> None:
    """The mother takes part in the plan (a CareTeam participant) and has a fødselsnummer."""
    mother = world.repo.read("RelatedPerson", "ip1-mor")
    mother["identifier"] = [{"system": FNR_SYSTEM, "value": MOTHER_FNR}]
    world.repo.put(mother)
    team = world.repo.read("CareTeam", "ip1")
    team["participant"].append({"member": {"reference": "RelatedPerson/ip1-mor"}})
    world.repo.put(team)


def test_a_recipient_sees_no_relative_outside_the_care_team(family: World) -> None:
    """Named only where a recipient cannot look (a Consent) or nowhere: not shown."""
    with pytest.raises(NotFound):
        family.as_org("sykehus", "fysio").read("RelatedPerson", "ip1-mor")
    assert _mother_ids(family.as_org("sykehus", "fysio")) == set()
    assert _mother_ids(family.as_owner()) == {"ip1-mor"}


def test_recipient_read_of_a_relative_is_audited_as_a_disclosure(family: World) -> None:
    # The relative takes part in the plan (changed: before issue 9 a recipient read every
    # relative of the person, in the care team or not, fødselsnummer included).
    _mother_in_the_team(family)
    before = len(family.audit.events)
    mother = family.as_org("sykehus", "fysio").read("RelatedPerson", "ip1-mor")
    assert mother["patient"]["reference"] == PT
    assert "identifier" not in mother and MOTHER_FNR not in str(mother)
    assert mother["meta"]["security"][-1]["code"] == "REDACTED"
    shown = family.audit.events[before:]
    assert [e["outcome"] for e in shown] == ["0"]
    assert any(e["what"]["reference"] == "Consent/ip1-sharing" for e in shown[0]["entity"])
    owners = family.as_owner().read("RelatedPerson", "ip1-mor")
    assert owners["identifier"] == [{"system": FNR_SYSTEM, "value": MOTHER_FNR}]


def test_a_directory_read_is_not_person_data(family: World) -> None:
    before = len(family.audit.events)
    assert family.as_org("annen").read("Organization", "ip1-kommune")["name"] == "Bærum kommune"
    assert len(family.audit.events) == before


def test_refused_individual_and_revoked_consent_hide_the_relative(family: World) -> None:
    _mother_in_the_team(family)
    assert _mother_ids(family.as_org("sykehus", "fysio")) == {"ip1-mor"}
    with pytest.raises(NotFound):
        family.as_org("sykehus", "lege").read("RelatedPerson", "ip1-mor")
    revoked = sharing_consent(
        family.spec, Sharing(**{**vars(family.spec.sharing), "status": "inactive"})
    )
    family.as_org("kommune", "koord").update("Consent", "ip1-sharing", revoked)
    assert _mother_ids(family.as_org("sykehus", "fysio")) == set()
    assert _mother_ids(family.as_org("kommune", "koord")) == {"ip1-mor"}


@pytest.mark.parametrize(
    "patient",
    [
        None,
        {"reference": "https://annen.example.no/fhir/Patient/ip1-pt"},
        {"identifier": {"system": "urn:oid:2.16.578.1.12.4.1.4.1", "value": "15076500565"}},
    ],
)
def test_a_relative_that_names_no_local_person_is_refused(
    family: World, patient: dict[str, Any] | None
) -> None:
    relative: dict[str, Any] = {"resourceType": "RelatedPerson", "name": [{"text": "Åsa Ørnes"}]}
    if patient is not None:
        relative["patient"] = patient
    with pytest.raises(Forbidden) as err:
        family.as_org("annen").create(relative)  # would have been "tied to no person"
    assert err.value.issues[0].message_id == "IP-5106"
    assert err.value.issues[0].expression == ("RelatedPerson.patient",)


def test_someone_elses_relative_cannot_consent_for_the_person() -> None:
    world = make_world(
        replace(standard_spec(), born=standard_spec().born.replace(year=2018), relatives=[])
    )
    world.repo.put(
        {
            "resourceType": "RelatedPerson",
            "id": "annen-mor",
            "patient": {"reference": "Patient/annen-pt"},
            "extension": [
                {
                    "url": "https://ip-fhir-adapter.no/fhir/StructureDefinition/"
                    "ip-parental-responsibility",
                    "valueBoolean": True,
                }
            ],
        }
    )
    consent = sharing_consent(world.spec, Sharing(recipients=("org:sykehus",)))
    consent["performer"] = [
        {
            "reference": "RelatedPerson/annen-mor",
            "extension": [
                {
                    "url": "https://ip-fhir-adapter.no/fhir/StructureDefinition/ip-consent-capacity",
                    "valueCode": "parent",
                }
            ],
        }
    ]
    with pytest.raises(PlanRuleViolation) as err:
        world.as_org("kommune", "koord").update("Consent", "ip1-sharing", consent)
    assert err.value.issues[0].message_id == "IP-5203"
    assert err.value.issues[0].expression == ("Consent.performer[0]",)


def test_a_new_persons_relative_in_a_post_transaction_is_tied_to_that_person(
    family: World,
) -> None:
    bundle = {
        "resourceType": "Bundle",
        "type": "transaction",
        "entry": [
            {
                "fullUrl": "urn:uuid:5f1c2a52-0c7e-4d0e-9a55-3c1f0f3d2b11",
                "resource": {"resourceType": "Patient", "birthDate": "1990-01-02"},
                "request": {"method": "POST", "url": "Patient"},
            },
            {
                "fullUrl": "urn:uuid:0b8d8b8e-5b0a-4a4f-8e0e-6b1c3f1e9d22",
                "resource": {
                    "resourceType": "RelatedPerson",
                    "patient": {"reference": "urn:uuid:5f1c2a52-0c7e-4d0e-9a55-3c1f0f3d2b11"},
                    "name": [{"text": "Sámi Ánde Øverli"}],
                },
                "request": {"method": "POST", "url": "RelatedPerson"},
            },
        ],
    }
    before = sum(1 for (t, _i) in family.repo.current if t == "RelatedPerson")
    out = family.as_org("annen").transaction(bundle)  # not refused as "tied to no person"
    assert len(out["entry"]) == 2
    assert sum(1 for (t, _i) in family.repo.current if t == "RelatedPerson") == before + 1
    orphan = {**bundle, "entry": bundle["entry"][1:]}  # the person it names is nowhere
    with pytest.raises(Forbidden) as err:
        family.as_org("annen").transaction(orphan)
    assert err.value.issues[0].message_id == "IP-5106"


def _refuse_mother(world: World) -> None:
    """The person refuses the mother outright (a deny naming her, as in the security world)."""
    consent = world.repo.read("Consent", "ip1-sharing")
    consent["provision"].setdefault("provision", []).append(
        {
            "type": "deny",
            "actor": [
                {"role": IRCP, "reference": {"reference": "RelatedPerson/ip1-mor"}},
            ],
        }
    )
    world.repo.put(consent)


def test_a_refused_relative_is_shown_to_owner_and_coordinator_only(family: World) -> None:
    _mother_in_the_team(family)
    _refuse_mother(family)
    for repo in (family.as_owner(), family.as_org("kommune", "koord")):
        assert repo.read("RelatedPerson", "ip1-mor")["identifier"][0]["value"] == MOTHER_FNR
        members = [p["member"]["reference"] for p in repo.read("CareTeam", "ip1")["participant"]]
        assert "RelatedPerson/ip1-mor" in members
    for repo in (family.as_org("sykehus", "fysio"), family.as_org("skole", "laerer")):
        with pytest.raises(NotFound):
            repo.read("RelatedPerson", "ip1-mor")
        assert _mother_ids(repo) == set()
        team = repo.read("CareTeam", "ip1")
        assert "RelatedPerson/ip1-mor" not in str(team)
        assert team["meta"]["security"][-1]["code"] == "REDACTED"
