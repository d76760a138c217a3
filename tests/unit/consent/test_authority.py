"""Write authority (adapter.consent.authority) as a pure policy, and the enforcement point
applying it over the in-memory world: who writes what, element by element, every refusal
audited."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from ipfhir.adapter.consent.authority import (
    identity_change,
    member_change,
    outranked_refusal,
    required_profiles,
    with_profiles,
)
from ipfhir.adapter.consent.bundles import entry_url
from ipfhir.adapter.security_errors import Forbidden
from ipfhir.mappings.codes import ext_url, profile_url
from ipfhir.mappings.errors import PlanRuleViolation
from ipfhir.mappings.identifiers import HPR_SYSTEM, ORGNR_SYSTEM
from tests.unit.consent.builders import TOPIC, build, topic_label
from tests.unit.consent.conftest import ORGNR, OWNER, World, standard_spec

Resource = dict[str, Any]
FYSIO = {"Practitioner/ip1-fysio", "PractitionerRole/ip1-fysio-role", "CareTeam/ip1"}
CONTRIBUTION = ext_url("ip-contribution")


def _plan() -> dict[str, Resource]:
    return {f"{r['resourceType']}/{r['id']}": r for r in build(standard_spec())}


def _team() -> Resource:
    return copy.deepcopy(_plan()["CareTeam/ip1"])


def _careplan() -> Resource:
    return copy.deepcopy(_plan()["CarePlan/ip1"])


def _mine(team: Resource) -> Resource:
    return next(p for p in team["participant"] if "fysio" in p["member"]["reference"])


# --- the pure policy ---------------------------------------------------------------------------


def test_a_member_writes_its_own_contribution_only() -> None:
    old, new = _team(), _team()
    _mine(new)["extension"] = [{"url": CONTRIBUTION, "valueString": "Trening på Øya"}]
    assert member_change(old, new, FYSIO) is None
    other = _team()
    other["participant"][3]["extension"] = [{"url": CONTRIBUTION, "valueString": "Legen sier"}]
    assert member_change(old, other, FYSIO) == "CareTeam.participant[3]"
    role = _team()
    _mine(role)["role"] = [
        {"coding": [{"system": "urn:oid:2.16.578.1.12.4.1.1.9034", "code": "8"}]}
    ]
    assert member_change(old, role, FYSIO) == "CareTeam.participant[2]"
    owner = _team()
    owner["managingOrganization"] = [{"reference": "Organization/ip1-sykehus"}]
    assert member_change(old, owner, FYSIO) == "CareTeam.managingOrganization"
    more = _team()
    more["participant"].append({"member": {"reference": "Organization/ip1-annen"}})
    assert member_change(old, more, FYSIO) == "CareTeam.participant"


def test_a_member_follows_up_the_measures_it_is_responsible_for() -> None:
    old, new = _careplan(), _careplan()
    new["activity"][0]["progress"] = [{"text": "Går trappa alene"}]
    new["activity"][0]["detail"].update(status="completed", description="Ukentlig på Ås")
    assert member_change(old, new, FYSIO) is None
    code = _careplan()
    code["activity"][0]["detail"]["code"] = {"text": "Noe annet"}
    assert member_change(old, code, FYSIO) == "CarePlan.activity[0]"
    theirs = _careplan()  # m3 is the municipality's measure
    theirs["activity"][2]["detail"]["status"] = "cancelled"
    assert member_change(old, theirs, FYSIO) == "CarePlan.activity[2]"
    label = _careplan()
    label["activity"][0]["extension"] = [topic_label("rus")]
    assert member_change(old, label, FYSIO) == "CarePlan.activity[0]"
    author = _careplan()
    author["author"] = {"reference": "Organization/ip1-sykehus"}
    assert member_change(old, author, FYSIO) == "CarePlan.author"


def test_security_labels_consents_goals_creates_and_deletes_are_not_a_members() -> None:
    old, new = _careplan(), _careplan()
    new["meta"] = {"security": [{"system": TOPIC, "code": "rus"}], "versionId": "9"}
    assert member_change(old, new, FYSIO) == "CarePlan.meta"
    served = _careplan()
    served["meta"] = {"versionId": "7", "lastUpdated": "2026-06-01T10:00:00Z"}
    assert member_change(old, served, FYSIO) is None  # what the server sets is not compared
    plan = _plan()
    consent = plan["Consent/ip1-sharing"]
    assert member_change(consent, consent, FYSIO) == "Consent"
    assert member_change(plan["Goal/ip1-g1"], plan["Goal/ip1-g1"], FYSIO) == "Goal"
    assert member_change(None, _careplan(), FYSIO) == "CarePlan"
    assert member_change(_team(), None, FYSIO) == "CareTeam"


def test_identifiers_that_carry_authority_never_change() -> None:
    org = {"resourceType": "Organization", "identifier": [{"system": ORGNR_SYSTEM, "value": "1"}]}
    renamed = {**org, "name": "Bærum kommune"}
    assert identity_change(org, renamed) is None
    added = {**org, "identifier": [*org["identifier"], {"system": ORGNR_SYSTEM, "value": "2"}]}
    assert identity_change(org, added) == "Organization.identifier"
    prac = {"resourceType": "Practitioner", "identifier": [{"system": HPR_SYSTEM, "value": "9"}]}
    assert identity_change(prac, {**prac, "identifier": []}) == "Practitioner.identifier"
    role = _plan()["PractitionerRole/ip1-lege-role"]
    moved = {**role, "organization": {"reference": "Organization/ip1-kommune"}}
    assert identity_change(role, moved) == "PractitionerRole.organization"
    assert identity_change(role, {**role, "practitioner": {"reference": "Practitioner/x"}}) == (
        "PractitionerRole.practitioner"
    )


def test_consent_bearing_resources_get_their_ip_profile() -> None:
    plan = _plan()
    assert required_profiles(plan["Consent/ip1-sharing"]) == [profile_url("ip-sharing-consent")]
    assert required_profiles(plan["Consent/ip1-plan"]) == [profile_url("ip-plan-consent")]
    assert required_profiles(plan["CarePlan/ip1"]) == [profile_url("ip-careplan")]
    assert required_profiles(plan["CareTeam/ip1"]) == [profile_url("ip-careteam")]
    assert required_profiles(plan["Goal/ip1-g1"]) == []
    other = {**plan["Consent/ip1-sharing"], "meta": {"profile": ["http://example.org/x"]}}
    stamped = with_profiles(other)["meta"]["profile"]
    assert stamped == ["http://example.org/x", profile_url("ip-sharing-consent")]
    assert with_profiles(with_profiles(other)) == with_profiles(other)


def test_a_refusal_holds_no_permit() -> None:
    consent = copy.deepcopy(_plan()["Consent/ip1-sharing"])
    assert outranked_refusal(consent) is None
    consent["provision"]["provision"][0]["provision"] = [{"type": "permit"}]
    assert outranked_refusal(consent) == "Consent.provision.provision[0].provision"
    consent["provision"]["provision"][1]["type"] = "permit"
    del consent["provision"]["provision"][0]["provision"]
    assert outranked_refusal(consent) == "Consent.provision.provision[1].type"


@pytest.mark.parametrize(
    "url",
    [
        "RelatedPerson/x",
        "/RelatedPerson/x",
        "./RelatedPerson/x",
        "//RelatedPerson/x",
        "https://ip.example.no/fhir/RelatedPerson/x",
        "http://testserver/RelatedPerson/x",
    ],
)
def test_every_spelling_of_an_entry_url_is_the_same_url(url: str) -> None:
    assert entry_url(url) == "RelatedPerson/x"
    assert entry_url(url + "?_format=json") == "RelatedPerson/x?_format=json"


# --- the enforcement point over the in-memory world --------------------------------------------


def _refused(world: World, message_id: str, call: Any) -> Any:
    with pytest.raises(Forbidden) as err:
        call()
    assert err.value.issues[0].message_id == message_id
    event = world.audit.events[-1]
    assert event["outcome"] != "0" and event["outcomeDesc"].startswith("refused (write)")
    return err.value.issues[0]


def test_a_member_updates_its_measure_in_the_plan_as_it_is_shown(world: World) -> None:
    fysio = world.as_org("sykehus", "fysio")
    before = world.repo.read("CarePlan", "ip1")
    plan = fysio.read("CarePlan", "ip1")  # type: ignore[attr-defined]
    assert [a["id"] for a in plan["activity"]] == ["m1", "m3"]  # «rus» (m2) is hidden from it
    plan["activity"][0]["detail"]["status"] = "completed"
    fysio.update("CarePlan", "ip1", plan)  # type: ignore[attr-defined]
    after = world.repo.read("CarePlan", "ip1")
    assert after["activity"][0]["detail"]["status"] == "completed"
    assert after["activity"][1] == before["activity"][1]  # what it was not shown, unchanged
    assert after["supportingInfo"] == before["supportingInfo"]
    assert after["extension"] == before["extension"]
    plan["activity"][1]["detail"]["status"] = "cancelled"  # m3, the municipality's measure
    issue = _refused(world, "IP-5109", lambda: fysio.update("CarePlan", "ip1", plan))  # type: ignore[attr-defined]
    assert issue.expression == ("CarePlan.activity[1]",)


def test_a_member_cannot_write_what_it_was_not_shown(world: World) -> None:
    fysio = world.as_org("sykehus", "fysio")
    plan = world.repo.read("CarePlan", "ip1")  # as stored: the «rus» measure included
    plan["activity"][0]["detail"]["status"] = "completed"
    _refused(world, "IP-5109", lambda: fysio.update("CarePlan", "ip1", plan))  # type: ignore[attr-defined]
    assert world.repo.read("CarePlan", "ip1")["activity"][0]["detail"]["status"] == "in-progress"


def test_holders_write_what_members_may_not(world: World) -> None:
    team = world.repo.read("CareTeam", "ip1")
    team["managingOrganization"] = [{"reference": "Organization/ip1-sykehus"}]
    for who in (("sykehus", "fysio"), ("skole", "laerer"), ("nav", None)):
        with pytest.raises(Forbidden):
            world.as_org(*who).update("CareTeam", "ip1", team)  # type: ignore[attr-defined]
    team = world.repo.read("CareTeam", "ip1")
    with pytest.raises(Forbidden):  # before: the hospital deletes nothing
        world.as_org("sykehus").delete("Goal", "ip1-g3")  # type: ignore[attr-defined]
    team["managingOrganization"] = [{"reference": "Organization/ip1-sykehus"}]
    world.as_owner().update("CareTeam", "ip1", team)  # type: ignore[attr-defined]
    now_owner = world.as_org("sykehus", roles=OWNER)  # the hospital's coordinating unit
    now_owner.delete("Goal", "ip1-g3")  # type: ignore[attr-defined]
    with pytest.raises(Exception, match="IP-4201|not found|Goal"):
        world.repo.read("Goal", "ip1-g3")


def test_directory_entries_a_plan_relies_on_are_the_owners(world: World) -> None:
    org = world.repo.read("Organization", "ip1-kommune")
    org["name"] = "Bærum kommune, tildelingskontoret"
    outsider = world.as_org("annen")
    issue = _refused(world, "IP-5110", lambda: outsider.update("Organization", "ip1-kommune", org))  # type: ignore[attr-defined]
    assert issue.expression == ("Organization",)
    assert world.as_owner().update("Organization", "ip1-kommune", org).resource["name"]  # type: ignore[attr-defined]
    org["identifier"] = [{"system": ORGNR_SYSTEM, "value": ORGNR["annen"]}]
    with pytest.raises(Forbidden) as err:  # not even the owner changes who it is
        world.as_owner().update("Organization", "ip1-kommune", org)  # type: ignore[attr-defined]
    assert err.value.issues[0].message_id == "IP-5108"
    org["identifier"] = world.repo.read("Organization", "ip1-kommune")["identifier"]
    org["patient"] = {"reference": "Patient/eget"}  # claiming a person does not escape it
    _refused(world, "IP-5110", lambda: outsider.update("Organization", "ip1-kommune", org))  # type: ignore[attr-defined]
    role = world.repo.read("PractitionerRole", "ip1-fysio-role")  # a CareTeam member's role
    _refused(world, "IP-5110", lambda: outsider.delete("PractitionerRole", "ip1-fysio-role"))  # type: ignore[attr-defined]
    assert world.repo.read("PractitionerRole", "ip1-fysio-role") == role


def test_a_consent_with_a_permit_below_a_refusal_is_refused_for_holders_too(world: World) -> None:
    consent = world.repo.read("Consent", "ip1-sharing")
    consent["provision"]["provision"][1]["provision"] = [{"type": "permit"}]
    with pytest.raises(PlanRuleViolation) as err:
        world.as_owner().update("Consent", "ip1-sharing", consent)  # type: ignore[attr-defined]
    assert err.value.issues[0].message_id == "IP-5112"
    assert err.value.issues[0].expression == ("Consent.provision.provision[1].provision",)
