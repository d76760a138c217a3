"""The seed scenarios on the project's real plans: fixtures/bundles (made by mappings.to_fhir)
and variants mapped from fixtures/plans, written as transactions through the enforcement point
by the owning municipality, then read back by each kind of recipient on every egress path, as
JSON and as XML (seed 002 § 4.4, § 7.7, vedlegg 2; shared/domain § 5)."""

from __future__ import annotations

from typing import Any

import pytest

from ipfhir.adapter.consent.context import DIRECTORY_TYPES
from ipfhir.adapter.errors import NotFound
from ipfhir.adapter.ports import Actor
from ipfhir.mappings.errors import PlanRuleViolation
from tests.unit.consent.conftest import OWNER
from tests.unit.consent.real_plans import (
    Place,
    as_text,
    egress,
    fixture_bundle,
    identifier,
    mapped_bundle,
    one,
    refused_parts,
    resources_of,
    shown_parts,
    topics,
)

ORGNR, HPR = "4.101", "4.4"  # identifier system suffixes
RUS_REFUSED = {"psykisk-helse", "familie"}


def _stored(bundle: dict[str, Any], today: str, owner_hpr: str | None = None) -> Place:
    """The plan written as a transaction by its owner (so the write checks run on it too)."""
    place = Place(bundle, today)
    author = one(bundle, "CarePlan")["author"]["reference"].split("/")[1]
    orgnr = identifier(one(bundle, "Organization", author[-12:]), ORGNR)
    owner = place.as_actor(orgnr, owner_hpr, OWNER)  # the owner's coordinating unit
    response = owner.transaction(bundle)
    assert {e["response"]["status"][:3] for e in response["entry"]} <= {"200", "201"}
    return place


def _actor(place: Place, org: str, prac: str | None = None, *, unit: bool = False) -> Any:
    """``org`` (and its practitioner ``prac``); ``unit``: with the role claim of the
    organisation's coordinating unit (the owner, when ``org`` owns the plan)."""
    orgnr = identifier(one(place.bundle, "Organization", org), ORGNR)
    hpr = identifier(one(place.bundle, "Practitioner", prac), HPR) if prac else None
    return place.as_actor(orgnr, hpr, OWNER if unit else ())


def _person_data(resources: list[dict[str, Any]]) -> list[str]:
    return [
        f"{r['resourceType']}/{r['id']}"
        for r in resources
        if r.get("resourceType") not in DIRECTORY_TYPES
    ]


@pytest.fixture(scope="module")
def rus() -> Place:
    return _stored(fixture_bundle("rus-psykisk-helse"), "2026-06-01")


@pytest.mark.parametrize(
    ("org", "prac"),
    [("sshf", "lar-lege"), ("sshf", None), ("legekontor", "fastlege"), ("nav", None)],
)
def test_refused_topics_never_reach_a_recipient(rus: Place, org: str, prac: str | None) -> None:
    got = egress(rus, _actor(rus, org, prac))
    refused = refused_parts(rus.bundle, RUS_REFUSED)
    assert refused >= {"krs-ip-2025-0913-emma", "krs-ip-2025-0913-sove", "angstbehandling"}
    assert not shown_parts(got) & refused
    assert not topics(got) & RUS_REFUSED
    as_json, as_xml = as_text(got)
    for code in RUS_REFUSED:
        assert f'"{code}"' not in as_json and f'value="{code}"' not in as_xml
    assert "Consent" not in {r["resourceType"] for r in got}
    # and yet the consented part arrives: LAR, housing and work
    assert {"lar", "boligoppfolging", "kvp", "krs-ip-2025-0913-rusfri"} <= shown_parts(got)


def test_refused_environment_sees_nothing_but_the_directory(rus: Place) -> None:
    got = egress(rus, _actor(rus, "barnevern"))
    assert _person_data(got) == []
    assert rus.patient.split("/")[1] not in as_text(got)[1]
    assert rus.audit.events[-1]["outcome"] == "4"  # the refusal is audited


def test_refused_individual_sees_nothing() -> None:
    def refuse_gp(plan: dict[str, Any]) -> None:  # permitted and refused: deny beats permit
        plan["sharing_consent"]["refused_individuals"].append("fastlege")

    place = _stored(mapped_bundle("rus-psykisk-helse", refuse_gp), "2026-06-01")
    assert _person_data(egress(place, _actor(place, "legekontor", "fastlege"))) == []
    assert "krs-ip-2025-0913-rusfri" in shown_parts(egress(place, _actor(place, "sshf")))


def _refs(resources: list[dict[str, Any]]) -> set[str]:
    return {f"{r['resourceType']}/{r['id']}" for r in resources}


def test_owning_municipality_and_its_coordinator_see_all(rus: Place) -> None:
    stored = _refs(resources_of(rus.bundle))
    for repo in (_actor(rus, "krs-kommune", "koordinator"), _actor(rus, "krs-kommune", unit=True)):
        assert _refs(egress(rus, repo)) == stored
        plan = repo.read("CarePlan", rus.plan_id)
        assert "security" not in plan.get("meta", {})
        assert topics(plan) >= RUS_REFUSED
        assert shown_parts([plan]) == shown_parts([one(rus.bundle, "CarePlan")])


def test_withdrawn_consent_shares_nothing() -> None:
    place = _stored(fixture_bundle("dnummer-withdrawn"), "2026-07-01")
    for org in ("st-olavs", "nav"):
        assert _person_data(egress(place, _actor(place, org))) == []
    # the coordinator's assignment ended with the withdrawal; the municipality still holds it
    with pytest.raises(NotFound):
        _actor(place, "nav").read("CarePlan", place.plan_id)
    owner = _actor(place, "hitra-kommune", unit=True)
    assert owner.read("CarePlan", place.plan_id)["status"] == "revoked"
    assert _refs(egress(place, owner)) == _refs(resources_of(place.bundle))


def _stroke(today: str, edit: Any = None) -> Place:
    bundle = mapped_bundle("stroke-handover", edit) if edit else fixture_bundle("stroke-handover")
    return _stored(bundle, today)


def test_temporary_hospital_coordinator_holds_the_plan_only_during_her_assignment() -> None:
    during = _stroke("2026-04-10")  # the declared overlap: both coordinators in force
    temp = _actor(during, "sykehuset-innlandet", "midlertidig-koord")
    consents = [r for r in temp.everything(during.plan_id) if r["resourceType"] == "Consent"]
    assert len(consents) == 2
    after = _stroke("2026-06-01")
    temp = _actor(after, "sykehuset-innlandet", "midlertidig-koord")
    got = egress(after, temp)
    assert "Consent" not in {r["resourceType"] for r in got}  # only what the consent gives
    plan = temp.read("CarePlan", after.plan_id)
    assert "supportingInfo" not in plan and plan["meta"]["security"][-1]["code"] == "REDACTED"
    municipal = _actor(after, "gjovik-kommune", "kommune-koord")
    assert len([r for r in municipal.everything(after.plan_id) if r["resourceType"] == "Consent"])


def test_after_handover_a_hospital_not_named_in_the_consent_sees_nothing() -> None:
    def only_the_municipality(plan: dict[str, Any]) -> None:
        plan["sharing_consent"]["permitted_recipients"] = ["gjovik-kommune", "kommune-koord"]

    after = _stroke("2026-06-01", only_the_municipality)
    temp = _actor(after, "sykehuset-innlandet", "midlertidig-koord")
    assert _person_data(egress(after, temp)) == []
    during = _stroke("2026-04-10", only_the_municipality)
    temp = _actor(during, "sykehuset-innlandet", "midlertidig-koord")
    assert temp.read("CarePlan", during.plan_id)["id"] == during.plan_id


def test_a_fifteen_year_old_cannot_consent_alone() -> None:
    place = _stored(fixture_bundle("sixteen-alone"), "2026-06-01")
    consent = one(place.bundle, "Consent", "samtykke-deling")
    assert consent["performer"][0]["reference"] == place.patient  # she alone, at 16: accepted
    fifteen = {**consent, "dateTime": "2026-02-20"}  # two weeks before her 16th birthday
    owner = _actor(place, "stavanger-kommune", "helsesykepleier")
    with pytest.raises(PlanRuleViolation) as err:
        owner.update("Consent", consent["id"], fifteen)
    assert err.value.issues[0].message_id == "IP-5204"
    assert err.value.issues[0].expression == ("Consent.performer",)
    bundle = {"resourceType": "Bundle", "type": "transaction", "entry": [
        {"resource": fifteen, "request": {"method": "PUT", "url": f"Consent/{consent['id']}"}}
    ]}  # fmt: skip
    with pytest.raises(PlanRuleViolation) as err:
        owner.transaction(bundle)
    assert err.value.issues[0].message_id == "IP-5204"


def test_parents_consent_for_an_eight_year_old_is_accepted() -> None:
    place = _stored(fixture_bundle("child-barnekoordinator"), "2026-06-01")  # checked on write
    consent = one(place.bundle, "Consent", "samtykke-deling")
    assert {p["reference"].split("/")[0] for p in consent["performer"]} == {"RelatedPerson"}
    owner = _actor(place, "bodo-kommune", "barnekoordinator")
    assert owner.update("Consent", consent["id"], consent).resource["status"] == "active"
    alone = {**consent, "performer": [{**consent["performer"][0], "reference": place.patient}]}
    with pytest.raises(PlanRuleViolation) as err:
        owner.update("Consent", consent["id"], alone)
    assert err.value.issues[0].message_id in ("IP-5204", "IP-5206")
    school = _actor(place, "skole")
    assert "bodo-ip-2026-0117-skoledag" in shown_parts(egress(place, school))


# --- the relative's contribution (CareTeam.participant labelled «familie») -------------------

RECIPIENTS = [
    ("sshf", "lar-lege"),
    ("sshf", None),
    ("legekontor", "fastlege"),
    ("nav", None),  # NAV's counsellor has no HPR number: NAV is the recipient
]


def _brother(place: Place) -> tuple[str, str]:
    """(member reference, contribution text) of the brother's participant, from the Bundle."""
    team = one(place.bundle, "CareTeam")
    [participant] = [p for p in team["participant"] if p["member"]["reference"].endswith("-bror")]
    assert topics(participant) == {"familie"}
    text = next(e["valueString"] for e in participant["extension"] if "valueString" in e)
    return participant["member"]["reference"], text


@pytest.mark.parametrize(("org", "prac"), RECIPIENTS)
def test_the_relatives_contribution_never_reaches_a_recipient(
    rus: Place, org: str, prac: str | None
) -> None:
    member, contribution = _brother(rus)
    got = egress(rus, _actor(rus, org, prac))
    teams = [r for r in got if r["resourceType"] == "CareTeam"]
    assert teams, "the care team itself is shared"
    for team in teams:
        members = [p["member"]["reference"] for p in team["participant"]]
        assert member not in members and rus.patient in members
        assert team["meta"]["security"][-1]["code"] == "REDACTED"
    as_json, as_xml = as_text(got)
    for text in (as_json, as_xml):
        assert contribution not in text and "kjører meg til Vennesla" not in text
    # the rest of the team and its contributions still arrive
    assert "Kvalifiseringsprogram, økonomisk rådgivning" in as_json
    assert "Kvalifiseringsprogram, økonomisk rådgivning" in as_xml


def test_owner_and_coordinator_see_the_relatives_contribution(rus: Place) -> None:
    member, contribution = _brother(rus)
    for repo in (_actor(rus, "krs-kommune", "koordinator"), _actor(rus, "krs-kommune", unit=True)):
        team = repo.read("CareTeam", rus.plan_id)
        assert team == one(rus.bundle, "CareTeam") | {"meta": team["meta"]}
        assert "security" not in team["meta"]
        assert contribution in as_text(egress(rus, repo))[1]


def test_removed_participant_is_explained(rus: Place) -> None:
    member, _ = _brother(rus)
    index = [p["member"]["reference"] for p in one(rus.bundle, "CareTeam")["participant"]].index(
        member
    )
    owner = _actor(rus, "krs-kommune", unit=True)
    sshf = identifier(one(rus.bundle, "Organization", "sshf"), ORGNR)
    answer = owner.evaluate("CareTeam", rus.plan_id, Actor(organisation=sshf, purpose="COC"))
    [decision] = [p for p in answer["parameter"] if p["name"] == "decision"]
    parts = decision["part"]
    assert {"name": "effect", "valueCode": "redact"} in parts
    removed = [
        {q["name"]: q["valueString"] for q in p["part"]} for p in parts if p["name"] == "removed"
    ]
    members = [p["member"]["reference"] for p in one(rus.bundle, "CareTeam")["participant"]]
    hospital = members.index(f"Organization/{rus.plan_id}-sshf")
    # the brother's participation, and the psykisk-helse part of the hospital's contribution
    assert [r["path"] for r in removed] == [
        f"CareTeam.participant[{index}]",
        f"CareTeam.participant[{hospital}].extension[0].extension:part[1]",
    ]
    assert removed[0]["why"].startswith("refused topic (") and "familie" in removed[0]["why"]
    assert "samtykke-deling" in removed[0]["why"]
    assert "psykisk-helse" in removed[1]["why"]
