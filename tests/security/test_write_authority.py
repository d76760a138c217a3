"""Write authority and actor identity against hostile participants (issue 9).

Each attack is a regression test of a finding: authority taken from editable directory data, any
care-team member writing anything for the person, a spelling of a transaction URL that skipped
the write check, a refusal that told the refused party it was refused, and a token's purpose
and organisation ignored. Every attack is followed by a check that it gained nothing.
"""

from __future__ import annotations

import copy
import random
from typing import Any

import pytest

from ipfhir.mappings.codes import SYSTEM_9034, ext_url
from ipfhir.mappings.fhirxml import parse_xml, to_xml
from ipfhir.mappings.identifiers import HPR_SYSTEM, ORGNR_SYSTEM, synthetic_orgnr
from tests.security.conftest import ACTORS, PT, SecureWorld, message_ids
from tests.unit.consent.builders import IRCP, TOPIC
from tests.unit.consent.conftest import HPR, ORGNR

JSON = {"Content-Type": "application/fhir+json"}
XML = {"Content-Type": "application/fhir+xml", "Accept": "application/fhir+xml"}
Resource = dict[str, Any]


def _stored(world: SecureWorld, rtype: str, rid: str) -> Resource:
    return world.wiring.repository.read(rtype, rid)


def _put(world: SecureWorld, actor: str, res: Resource, *, xml: bool = False) -> Any:
    path = f"/{res['resourceType']}/{res['id']}"
    if xml:
        body = to_xml(res).encode("utf-8")
        return world.client.put(path, content=body, headers={**world.as_(actor), **XML})
    return world.client.put(path, json=res, headers={**world.as_(actor), **JSON})


def _outcome(response: Any) -> Resource:
    if response.headers["content-type"].startswith("application/fhir+xml"):
        return parse_xml(response.text)
    body: Resource = response.json()
    return body


def _sees(world: SecureWorld, actor: str, path: str) -> bool:
    got = world.client.get(path, headers=world.as_(actor))
    assert got.status_code in (200, 404), got.text
    return got.status_code == 200


def _refused(response: Any, message_id: str) -> Resource:
    assert response.status_code == 403, response.text
    outcome = _outcome(response)
    assert outcome["resourceType"] == "OperationOutcome"
    assert message_id in message_ids(outcome), outcome
    return outcome


# --- 1. authority from editable data ------------------------------------------------------------


@pytest.mark.parametrize("xml", [False, True], ids=["json", "xml"])
def test_outsider_cannot_add_its_orgnr_to_the_owners_organization(
    world: SecureWorld, xml: bool
) -> None:
    owner_org = _stored(world, "Organization", "ip1-kommune")
    forged = copy.deepcopy(owner_org)
    forged["identifier"].append({"system": ORGNR_SYSTEM, "value": ACTORS["outsider"][0]})
    outcome = _refused(_put(world, "outsider", forged, xml=xml), "IP-5108")
    assert outcome["issue"][0]["code"] == "forbidden"
    assert outcome["issue"][0]["expression"] == ["Organization.identifier"]
    assert _stored(world, "Organization", "ip1-kommune")["identifier"] == owner_org["identifier"]
    assert not _sees(world, "outsider", "/Consent/ip1-sharing")
    assert not _sees(world, "outsider", "/Goal/ip1-g2")


def test_refused_environment_cannot_renumber_organizations_to_regain_access(
    world: SecureWorld,
) -> None:
    nav = _stored(world, "Organization", "ip1-nav")
    nav["identifier"] = [{"system": ORGNR_SYSTEM, "value": ORGNR["annen"]}]
    _refused(_put(world, "refused_org", nav), "IP-5108")
    hospital = _stored(world, "Organization", "ip1-sykehus")
    hospital["identifier"].append({"system": ORGNR_SYSTEM, "value": ORGNR["nav"]})
    _refused(_put(world, "refused_org", hospital), "IP-5108")
    assert not _sees(world, "refused_org", "/Goal/ip1-g1")
    assert not _sees(world, "refused_org", "/CarePlan/ip1")


def test_refused_individual_cannot_change_his_hpr_number(world: SecureWorld) -> None:
    doctor = _stored(world, "Practitioner", "ip1-lege")
    doctor["identifier"] = [{"system": HPR_SYSTEM, "value": "9199999"}]
    _refused(_put(world, "refused_individual", doctor), "IP-5108")
    role = _stored(world, "PractitionerRole", "ip1-lege-role")
    role["practitioner"] = {"reference": "Practitioner/ip1-fysio"}
    _refused(_put(world, "refused_individual", role, xml=True), "IP-5108")
    assert not _sees(world, "refused_individual", "/Goal/ip1-g1")


def test_nobody_but_the_owner_changes_a_directory_entry_the_plan_relies_on(
    world: SecureWorld,
) -> None:
    renamed = _stored(world, "Organization", "ip1-kommune")
    renamed["name"] = "Falsk kommune"
    for actor in ("outsider", "recipient", "refused_org", "ex_coordinator"):
        _refused(_put(world, actor, renamed), "IP-5110")
    gone = world.client.delete("/Organization/ip1-kommune", headers=world.as_("outsider"))
    _refused(gone, "IP-5110")
    assert _stored(world, "Organization", "ip1-kommune")["name"] == "Bærum kommune"
    renamed["name"] = "Bærum kommune, koordinerende enhet"
    assert _put(world, "owner", renamed).status_code == 200
    # an entry no plan relies on stays open to every caller with the scope
    new = {"resourceType": "Organization", "id": "ny-barnehage", "name": "Fjellstua barnehage"}
    assert _put(world, "outsider", new).status_code == 201
    new["name"] = "Fjellstua barnehage SA"
    assert _put(world, "outsider", new).status_code == 200


# --- 2. care-team members writing what the plan does not give them ------------------------------


def test_recipient_cannot_rewrite_the_sharing_consent(world: SecureWorld) -> None:
    consent = _stored(world, "Consent", "ip1-sharing")
    before = copy.deepcopy(consent["provision"])
    consent["provision"].pop("provision")  # without the person's refusals
    outcome = _refused(_put(world, "recipient", consent), "IP-5109")
    assert outcome["issue"][0]["expression"] == ["Consent"]
    assert _stored(world, "Consent", "ip1-sharing")["provision"] == before
    assert not _sees(world, "refused_org", "/Goal/ip1-g1")


def test_recipient_cannot_post_a_consent_naming_a_third_party(world: SecureWorld) -> None:
    consent = _stored(world, "Consent", "ip1-sharing")
    del consent["id"], consent["meta"]
    consent["provision"]["actor"] = [
        {"role": IRCP, "reference": {"reference": "Organization/ip1-skole"}}
    ]
    posted = world.client.post(
        "/Consent", content=to_xml(consent).encode(), headers={**world.as_("recipient"), **XML}
    )
    _refused(posted, "IP-5109")
    found = world.client.get("/Consent?patient=Patient/ip1-pt", headers=world.as_("owner"))
    assert len(found.json()["entry"]) == 2


def test_recipient_cannot_make_itself_owner_or_coordinator(world: SecureWorld) -> None:
    team = _stored(world, "CareTeam", "ip1")
    owned = copy.deepcopy(team)
    owned["managingOrganization"] = [{"reference": "Organization/ip1-sykehus"}]
    outcome = _refused(_put(world, "recipient", owned), "IP-5109")
    assert outcome["issue"][0]["expression"] == ["CareTeam.managingOrganization"]
    coordinating = copy.deepcopy(team)
    coordinating["participant"].append(
        {
            "id": "ny-koord",
            "role": [{"coding": [{"system": SYSTEM_9034, "code": "8"}]}],
            "member": {"reference": "PractitionerRole/ip1-fysio-role"},
            "period": {"start": "2026-05-01"},
        }
    )
    _refused(_put(world, "recipient", coordinating, xml=True), "IP-5109")
    plan = _stored(world, "CarePlan", "ip1")
    plan["author"] = {"reference": "Organization/ip1-sykehus"}
    _refused(_put(world, "recipient", plan), "IP-5109")
    assert _stored(world, "CareTeam", "ip1")["participant"] == team["participant"]
    assert not _sees(world, "recipient", "/Consent/ip1-sharing")
    assert not _sees(world, "recipient", "/Goal/ip1-g2")


def test_recipient_cannot_overwrite_a_goal_it_cannot_see(world: SecureWorld) -> None:
    hidden = {
        "resourceType": "Goal",
        "id": "ip1-g2",
        "lifecycleStatus": "cancelled",
        "description": {"text": "Overskrevet"},
        "subject": {"reference": PT},
    }
    outcome = _refused(_put(world, "recipient", hidden), "IP-5109")
    missing = _put(world, "recipient", {**hidden, "id": "ip1-finnes-ikke"})
    assert (missing.status_code, message_ids(missing.json())) == (403, message_ids(outcome))
    assert _stored(world, "Goal", "ip1-g2")["lifecycleStatus"] == "active"


def test_recipient_may_record_its_own_contribution_and_progress_on_its_measure(
    world: SecureWorld,
) -> None:
    team = _stored(world, "CareTeam", "ip1")
    mine = next(p for p in team["participant"] if "fysio" in p["member"]["reference"])
    mine["extension"] = [
        {"url": ext_url("ip-contribution"), "valueString": "Fysioterapi to ganger i uka, i Ålesund"}
    ]
    assert _put(world, "recipient", team).status_code == 200, "own contribution"
    before = _stored(world, "CarePlan", "ip1")
    plan = world.client.get("/CarePlan/ip1", headers=world.as_("recipient")).json()
    assert {a["id"] for a in plan["activity"]} == {"m1", "m3"}  # «rus» (m2) is not shown
    m1 = next(a for a in plan["activity"] if a["id"] == "m1")
    m1["detail"]["status"] = "completed"
    m1["progress"] = [{"text": "Går trappa alene nå, også i Tromsø"}]
    assert _put(world, "recipient", plan, xml=True).status_code == 200
    after = _stored(world, "CarePlan", "ip1")
    assert next(a for a in after["activity"] if a["id"] == "m1")["detail"]["status"] == "completed"
    assert after["activity"][1] == before["activity"][1]  # the hidden measure, as it was
    assert after["supportingInfo"] == before["supportingInfo"]  # the Consents it cannot see
    m3 = next(a for a in plan["activity"] if a["id"] == "m3")  # the municipality's measure
    m3["detail"]["status"] = "cancelled"
    _refused(_put(world, "recipient", plan), "IP-5109")
    full = copy.deepcopy(after)  # the stored plan, hidden parts included, sent back
    _refused(_put(world, "recipient", full), "IP-5109")


def test_a_consent_whose_nested_permit_outranks_the_refusal_is_not_accepted(
    world: SecureWorld,
) -> None:
    consent = _stored(world, "Consent", "ip1-sharing")
    del consent["meta"]
    consent["id"] = "ip1-sharing-2"
    nav = {"role": IRCP, "reference": {"reference": "Organization/ip1-nav"}}
    consent["provision"]["provision"] = [
        {
            "type": "deny",
            "securityLabel": [{"system": TOPIC, "code": "rus"}],
            "provision": [{"type": "permit", "actor": [nav]}],
        }
    ]
    response = _put(world, "owner", consent)
    assert response.status_code == 400, response.text
    issue = response.json()["issue"][0]
    assert issue["details"]["coding"][0]["code"] == "IP-5112"
    assert issue["expression"] == ["Consent.provision.provision[0].provision"]
    assert world.client.get("/Consent/ip1-sharing-2", headers=world.as_("owner")).status_code == 404
    assert not _sees(world, "recipient", "/Goal/ip1-g2")
    assert not _sees(world, "refused_org", "/Goal/ip1-g1")


@pytest.mark.parametrize(
    "profile",
    [None, "http://hl7.org/fhir/StructureDefinition/Consent"],
    ids=["no-profile", "base-profile"],
)
def test_the_ip_profile_applies_to_a_consent_whatever_meta_profile_says(
    world: SecureWorld, profile: str | None
) -> None:
    consent = _stored(world, "Consent", "ip1-sharing")
    consent["id"] = "ip1-sharing-3"
    consent["meta"] = {"profile": [profile]} if profile else {}
    del consent["provision"]["period"]  # a sharing consent in force must be time-bounded
    response = _put(world, "owner", consent, xml=True)
    assert response.status_code == 422, response.text
    issues = _outcome(response)["issue"]
    assert any(
        i["details"]["coding"][0]["code"] == "IP-3002"
        and i["expression"] == ["Consent.provision.period"]
        for i in issues
    ), issues
    consent["provision"]["period"] = {"start": "2026-01-01", "end": "2026-12-31"}
    stored = _put(world, "owner", consent)
    assert stored.status_code == 201, stored.text
    assert (
        "https://ip-fhir-adapter.no/fhir/StructureDefinition/ip-sharing-consent"
        in stored.json()["meta"]["profile"]
    )


# --- 3. transaction entry URLs -----------------------------------------------------------------


@pytest.mark.parametrize(
    "url",
    [
        "/RelatedPerson/ip1-mor",
        "./RelatedPerson/ip1-mor",
        "http://testserver/RelatedPerson/ip1-mor",
    ],
)
def test_every_spelling_of_an_entry_url_gets_the_write_check(world: SecureWorld, url: str) -> None:
    """The outsider may not see the refused mother: every spelling of the DELETE is answered
    exactly as the plain spelling and as a DELETE of an id that never existed, and nothing is
    deleted."""

    def delete(entry_url: str) -> Any:
        bundle = {
            "resourceType": "Bundle",
            "type": "transaction",
            "entry": [{"request": {"method": "DELETE", "url": entry_url}}],
        }
        return world.client.post("/", json=bundle, headers={**world.as_("outsider"), **JSON})

    posted, plain = delete(url), delete("RelatedPerson/ip1-mor")
    missing = delete(url.replace("ip1-mor", "finnes-ikke"))
    assert posted.status_code == plain.status_code == missing.status_code == 404, posted.text
    ids = message_ids(_outcome(posted))
    assert ids == message_ids(_outcome(plain)) == message_ids(_outcome(missing)) != []
    assert _stored(world, "RelatedPerson", "ip1-mor")["patient"]["reference"] == PT


def test_a_slashed_put_cannot_move_a_relative_out_of_the_plan(world: SecureWorld) -> None:
    mother = _stored(world, "RelatedPerson", "ip1-mor")
    mother["patient"] = {"reference": "Patient/annen-person"}
    bundle = {
        "resourceType": "Bundle",
        "type": "batch",
        "entry": [
            {"resource": mother, "request": {"method": "PUT", "url": "/RelatedPerson/ip1-mor"}}
        ],
    }
    posted = world.client.post("/", json=bundle, headers={**world.as_("outsider"), **JSON})
    assert posted.status_code == 200, posted.text
    entry = posted.json()["entry"][0]
    assert entry["response"]["status"][:1] == "4", entry  # refused (the mother is hidden)
    assert "resource" not in entry
    assert _stored(world, "RelatedPerson", "ip1-mor")["patient"]["reference"] == PT


# --- 4. refused and outsider get the same answer -----------------------------------------------


@pytest.mark.parametrize("refused", ["refused_org", "refused_individual", "ex_coordinator"])
def test_a_refused_party_is_answered_exactly_like_an_outsider(
    world: SecureWorld, refused: str
) -> None:
    goal = {
        "resourceType": "Goal",
        "lifecycleStatus": "active",
        "description": {"text": "Jeg vil på tur til Kautokeino"},
        "subject": {"reference": PT},
    }
    answers = []
    for actor in (refused, "outsider"):
        got = world.client.post("/Goal", json=goal, headers={**world.as_(actor), **JSON})
        answers.append((got.status_code, got.json()["issue"]))
    assert answers[0] == answers[1]
    assert answers[0][0] == 403 and answers[0][1][0]["details"]["coding"][0]["code"] == "IP-5101"


# --- 5. identity from the token ----------------------------------------------------------------


def test_a_purpose_outside_the_allowed_set_is_refused(world: SecureWorld) -> None:
    marketing = world.client.get("/Goal/ip1-g1", headers=world.as_("recipient", purpose="HMARKT"))
    _refused(marketing, "IP-5107")
    care = world.client.get("/Goal/ip1-g1", headers=world.as_("recipient", purpose="COC"))
    assert care.status_code == 200
    assert _sees(world, "recipient", "/Goal/ip1-g1")  # no claim: the configured default purpose


def test_the_coordinators_hpr_from_another_organisation_is_not_the_coordinator(
    world: SecureWorld,
) -> None:
    from ipfhir.adapter.auth.devkey import mint_token

    token = mint_token(world.data, ORGNR["annen"], hpr=HPR["koord"])
    impostor = {"Authorization": f"Bearer {token}"}
    assert world.client.get("/Consent/ip1-sharing", headers=impostor).status_code == 404
    assert world.client.get("/Goal/ip1-g2", headers=impostor).status_code == 404
    assert _sees(world, "coordinator", "/Consent/ip1-sharing")


@pytest.mark.parametrize("btype", ["transaction", "batch"])
def test_a_members_progress_in_a_bundle_keeps_what_it_cannot_see(
    world: SecureWorld, btype: str
) -> None:
    """Found by the generated writes: in a Bundle, a member's PUT of the plan as it is shown to
    it stored what it sent — the plan without the measure, need and Consents it may not see —
    where the same PUT alone stores the stored version with the member's change carried in."""
    before = _stored(world, "CarePlan", "ip1")
    plan = world.client.get("/CarePlan/ip1", headers=world.as_("recipient")).json()
    m1 = next(a for a in plan["activity"] if a["id"] == "m1")
    m1["progress"] = [{"text": "Går til Ørsta på ski, også i Čáhcesuolu"}]
    bundle = {
        "resourceType": "Bundle",
        "type": btype,
        "entry": [{"resource": plan, "request": {"method": "PUT", "url": "CarePlan/ip1"}}],
    }
    response = world.client.post("/", json=bundle, headers={**world.as_("recipient"), **JSON})
    assert response.status_code == 200, response.text
    assert response.json()["entry"][0]["response"]["status"].startswith("200"), response.text
    after = _stored(world, "CarePlan", "ip1")
    assert next(a for a in after["activity"] if a["id"] == "m1")["progress"] == m1["progress"]
    assert after["activity"][1] == before["activity"][1]  # the hidden measure, as it was
    assert after["supportingInfo"] == before["supportingInfo"]
    assert after["extension"] == before["extension"]  # the need on the refused topic too


def _second_plan(world: SecureWorld) -> str:
    """Patient ip2-pt's plan, owned by Organization/ip2-ke, which only ``CarePlan.author`` and
    ``CareTeam.managingOrganization`` name (no Consent, no CareTeam member). Its orgnr."""
    orgnr = synthetic_orgnr(random.Random(2002))
    repo = world.wiring.repository
    owner = {
        "resourceType": "Organization",
        "id": "ip2-ke",
        "identifier": [{"system": ORGNR_SYSTEM, "value": orgnr}],
        "name": "Kautokeino gielda",
    }
    person = {"resourceType": "Patient", "id": "ip2-pt", "name": [{"text": "Elle Sara"}]}
    team = copy.deepcopy(_stored(world, "CareTeam", "ip1"))
    team.update(
        id="ip2",
        subject={"reference": "Patient/ip2-pt"},
        managingOrganization=[{"reference": "Organization/ip2-ke"}],
        participant=[{**team["participant"][0], "member": {"reference": "Patient/ip2-pt"}}],
    )
    plan = copy.deepcopy(_stored(world, "CarePlan", "ip1"))
    for key in ("meta", "goal", "activity", "supportingInfo", "extension"):
        plan.pop(key, None)
    plan.update(
        id="ip2",
        subject={"reference": "Patient/ip2-pt"},
        author={"reference": "Organization/ip2-ke"},
        careTeam=[{"reference": "CareTeam/ip2"}],
    )
    team.pop("meta", None)
    for res in (owner, person, team, plan):
        repo.update(res["resourceType"], res["id"], res)
    return orgnr


def test_the_owners_entry_named_only_as_author_and_managing_organization_is_the_owners(
    world: SecureWorld,
) -> None:
    """The reverse lookup of the plans an entry serves missed ``CarePlan.author`` and
    ``CareTeam.managingOrganization``: anyone could rename or delete the Organization a plan's
    owner is known by when no Consent named it (issue 9)."""
    from ipfhir.adapter.auth.devkey import mint_token
    from ipfhir.adapter.consent.policy import OWNER_ROLE

    orgnr = _second_plan(world)
    entry = _stored(world, "Organization", "ip2-ke")
    renamed = {**entry, "name": "Falsk gielda"}
    del renamed["meta"]
    for actor in ("outsider", "recipient", "owner", "coordinator"):  # owners of another plan
        _refused(_put(world, actor, renamed), "IP-5110")
        _refused(world.client.delete("/Organization/ip2-ke", headers=world.as_(actor)), "IP-5110")
    assert _stored(world, "Organization", "ip2-ke")["name"] == "Kautokeino gielda"
    unit = mint_token(world.data, orgnr, roles=(OWNER_ROLE,))  # its coordinating unit
    mine = {"Authorization": f"Bearer {unit}", **JSON}
    renamed["name"] = "Guovdageainnu gielda"
    answer = world.client.put("/Organization/ip2-ke", json=renamed, headers=mine)
    assert answer.status_code == 200, answer.text
