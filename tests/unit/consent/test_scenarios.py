"""Scenarios from the seeds (002 § 4.4, § 7.7, vedlegg 2; shared/domain § 5) through the
enforcement point, with an in-memory store."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import pytest

from ipfhir.adapter.errors import NotFound
from ipfhir.adapter.ports import Actor, SearchParam, SearchQuery
from ipfhir.adapter.security_errors import Forbidden
from ipfhir.mappings.errors import PlanRuleViolation
from tests.unit.consent.builders import PlanSpec, Relative, Sharing, sharing_consent
from tests.unit.consent.conftest import ORGNR, OWNER, World, make_world, standard_spec

PT = "Patient/ip1-pt"


def _text(resources: list[dict[str, Any]]) -> str:
    return json.dumps(resources, ensure_ascii=False)


def _goals(repo: Any) -> set[str]:
    found = repo.search(SearchQuery("Goal", (SearchParam("subject", (PT,)),)))
    return {g["id"] for g in found.matches}


def test_refused_topic_never_reaches_a_recipient(world: World) -> None:
    hospital = world.as_org("sykehus", "fysio")
    with pytest.raises(NotFound) as err:
        hospital.read("Goal", "ip1-g2")
    assert err.value.issues[0].message_id == "IP-4201"
    assert _goals(hospital) == {"ip1-g1", "ip1-g3"}
    plan = hospital.read("CarePlan", "ip1")
    assert [a["id"] for a in plan["activity"]] == ["m1", "m3"]
    assert "detail" in plan["activity"][1] and "goal" not in plan["activity"][1]["detail"]
    assert {"code": "REDACTED"}.items() <= plan["meta"]["security"][-1].items()
    everything = hospital.everything("ip1")
    assert '"rus"' not in _text(everything)
    assert "ip1-g2" not in _text(everything)
    assert not any(r["resourceType"] == "Consent" for r in everything)


def test_refused_topic_visible_to_coordinator_and_owner(world: World) -> None:
    for repo in (world.as_org("kommune", "koord"), world.as_owner()):
        assert _goals(repo) == {"ip1-g1", "ip1-g2", "ip1-g3"}
        plan = repo.read("CarePlan", "ip1")
        assert [a["id"] for a in plan["activity"]] == ["m1", "m2", "m3"]
        assert "security" not in plan.get("meta", {})


def test_owning_municipality_coordinator_sees_all(world: World) -> None:
    got = world.as_org("kommune", "koord").everything("ip1")
    assert {r["resourceType"] + "/" + r["id"] for r in got} >= {
        "CarePlan/ip1",
        "CareTeam/ip1",
        "Consent/ip1-plan",
        "Consent/ip1-sharing",
        "Goal/ip1-g1",
        "Goal/ip1-g2",
        "Goal/ip1-g3",
        "Patient/ip1-pt",
    }


def test_refused_individual_sees_nothing(world: World) -> None:
    doctor = world.as_org("sykehus", "lege")  # the hospital is a recipient, this doctor is refused
    for rtype, rid in (("CarePlan", "ip1"), ("Goal", "ip1-g1"), ("Patient", "ip1-pt")):
        with pytest.raises(NotFound):
            doctor.read(rtype, rid)
    assert _goals(doctor) == set()
    with pytest.raises(NotFound):
        doctor.everything("ip1")


def test_refused_environment_loses_against_its_permit(world: World) -> None:
    nav = world.as_org("nav")  # permitted recipient *and* refused environment: deny wins
    with pytest.raises(NotFound):
        nav.read("CarePlan", "ip1")


def test_teacher_named_as_individual_recipient_sees_the_shared_part(world: World) -> None:
    teacher = world.as_org("skole", "laerer")
    assert _goals(teacher) == {"ip1-g1", "ip1-g3"}
    assert world.as_org("skole").search(SearchQuery("Goal")).matches == []  # the school alone: no


def test_outsider_sees_directory_data_only(world: World) -> None:
    outsider = world.as_org("annen")
    assert outsider.read("Organization", "ip1-kommune")["name"] == "Bærum kommune"
    with pytest.raises(NotFound):
        outsider.read("Patient", "ip1-pt")


@pytest.mark.parametrize(
    ("change", "why"),
    [
        ({"end": "2025-12-31"}, "expired"),
        ({"start": "2026-07-01"}, "not yet valid"),
        ({"status": "draft"}, "draft"),
        ({"status": "rejected"}, "rejected"),
        ({"status": "inactive"}, "revoked"),
        ({"revoked_on": "2026-05-31"}, "revoked by date"),
    ],
)
def test_consent_not_in_force_shares_nothing(change: dict[str, Any], why: str) -> None:
    world = make_world(standard_spec(**change))
    hospital = world.as_org("sykehus", "fysio")
    with pytest.raises(NotFound):
        hospital.read("CarePlan", "ip1")
    assert _goals(hospital) == set(), why
    assert world.as_org("kommune", "koord").read("CarePlan", "ip1")["id"] == "ip1"


def test_revocation_stops_the_next_request_and_lists_recipients(world: World) -> None:
    hospital = world.as_org("sykehus", "fysio")
    assert hospital.read("CarePlan", "ip1")["id"] == "ip1"
    world.as_org("skole", "laerer").read("Goal", "ip1-g1")
    revoked = sharing_consent(
        world.spec, Sharing(**{**vars(world.spec.sharing), "status": "inactive"})
    )
    world.as_org("kommune", "koord").update("Consent", "ip1-sharing", revoked)
    with pytest.raises(NotFound):
        hospital.read("CarePlan", "ip1")
    recipients = world.ledger.recipients("Consent/ip1-sharing")
    assert [r.organisation for r in recipients] == sorted([ORGNR["sykehus"], ORGNR["skole"]])
    assert all(r.first_disclosed <= r.last_disclosed for r in recipients)


def test_audit_records_disclosures_and_refusals(world: World) -> None:
    world.as_org("sykehus", "fysio").read("CarePlan", "ip1")
    with pytest.raises(NotFound):
        world.as_org("sykehus", "fysio").read("Goal", "ip1-g2")
    shown, refused = world.audit.events[-2:]
    assert shown["outcome"] == "0" and refused["outcome"] == "4"
    person = shown["entity"][0]["what"]
    assert person["reference"] == PT
    assert person["identifier"]["value"] == world.spec.fnr()
    assert {"what": {"reference": "CarePlan/ip1/_history/1"}}.items() <= shown["entity"][1].items()
    assert any(e["what"]["reference"] == "Consent/ip1-sharing" for e in shown["entity"])
    assert shown["agent"][0]["who"]["identifier"]["value"] == ORGNR["sykehus"]
    assert any(e["what"]["reference"] == "Goal/ip1-g2/_history/1" for e in refused["entity"])


def test_totals_never_count_hidden_resources(world: World) -> None:
    hospital = world.as_org("sykehus", "fysio")
    query = SearchQuery("Goal", (SearchParam("subject", (PT,)),), count=1)
    page = hospital.search(query)
    assert page.total is None
    seen: list[str] = []
    while True:  # every page filtered
        seen += [g["id"] for g in page.matches]
        if page.next_cursor is None:
            break
        page = hospital.search(SearchQuery("Goal", query.params, count=1, cursor=page.next_cursor))
    assert sorted(seen) == ["ip1-g1", "ip1-g3"]
    counted = hospital.search(SearchQuery("Goal", query.params, summary_count=True))
    assert counted.total == 2
    assert world.as_owner().search(SearchQuery("Goal", summary_count=True)).total == 3


def test_history_and_includes_are_filtered(world: World) -> None:
    hospital = world.as_org("sykehus", "fysio")
    assert {e.resource_id for e in hospital.history("Goal").entries} == {"ip1-g1", "ip1-g3"}
    result = hospital.search(
        SearchQuery("CarePlan", (SearchParam("subject", (PT,)),), include=("CarePlan:goal",))
    )
    included = {f"{r['resourceType']}/{r['id']}" for r in result.includes}
    assert "Goal/ip1-g2" not in included and "Consent/ip1-sharing" not in included


def test_batch_response_is_filtered(world: World) -> None:
    bundle = {
        "resourceType": "Bundle",
        "type": "batch",
        "entry": [
            {"request": {"method": "GET", "url": "Goal/ip1-g1"}},
            {"request": {"method": "GET", "url": "Goal/ip1-g2"}},
        ],
    }
    out = world.as_org("sykehus", "fysio").transaction(bundle)["entry"]
    assert out[0]["resource"]["id"] == "ip1-g1"
    assert "resource" not in out[1] and out[1]["response"]["status"].startswith("404")


def test_writes_from_outside_the_care_team_are_refused(world: World) -> None:
    goal = {
        "resourceType": "Goal",
        "lifecycleStatus": "active",
        "subject": {"reference": PT},
        "description": {"text": "Jeg vil gå på ski i Nordmarka"},
    }
    with pytest.raises(Forbidden) as err:
        world.as_org("skole", "laerer").create(goal)  # a recipient, not in the care team
    assert err.value.issues[0].message_id == "IP-5101"
    outsider = err.value.issues
    with pytest.raises(Forbidden) as err:
        world.as_org("sykehus", "lege").create(goal)  # in the care team, but refused
    assert err.value.issues == outsider  # the answer does not say that he was refused
    assert world.audit.events[-1]["outcomeDesc"] == "refused (write): write by a refused recipient"
    with pytest.raises(Forbidden) as err:
        world.as_org("sykehus", "fysio").create(goal)  # a member: goals are the holders' to write
    assert err.value.issues[0].message_id == "IP-5109"
    assert world.as_org("kommune", "koord").create(goal)["subject"]["reference"] == PT
    assert world.audit.events[-1]["outcome"] == "0"


def test_audit_event_is_read_only_to_clients(world: World) -> None:
    with pytest.raises(Forbidden) as err:
        world.as_org("kommune", "koord").create({"resourceType": "AuditEvent"})
    assert err.value.issues[0].message_id == "IP-5102"


def _child_world(age: int, relatives: list[Relative]) -> World:
    spec = PlanSpec(
        plan="ip1", born=dt.date(2026 - age, 3, 1), orgs=standard_spec().orgs, relatives=relatives
    )
    return make_world(spec)


def test_fifteen_year_old_cannot_consent_alone_in_health_and_care() -> None:
    world = _child_world(15, [])
    consent = sharing_consent(world.spec, Sharing(recipients=("org:sykehus",)))
    with pytest.raises(PlanRuleViolation) as err:
        world.as_owner().update("Consent", "ip1-sharing", consent)
    assert err.value.issues[0].message_id == "IP-5204"
    assert err.value.issues[0].expression == ("Consent.performer",)


def test_parents_consent_for_an_eight_year_old_is_accepted() -> None:
    world = _child_world(8, [Relative("mor", parental=True), Relative("tante")])
    parents = Sharing(recipients=("org:sykehus",), performers=(("mor", "parent"),))
    stored = world.as_owner().update("Consent", "ip1-sharing", sharing_consent(world.spec, parents))
    assert stored.resource["status"] == "active"
    aunt = Sharing(recipients=("org:sykehus",), performers=(("tante", "parent"),))
    with pytest.raises(PlanRuleViolation) as err:
        world.as_owner().update("Consent", "ip1-sharing", sharing_consent(world.spec, aunt))
    assert {i.message_id for i in err.value.issues} == {"IP-5206", "IP-5204"}


def test_new_plan_must_name_the_callers_organisation_as_owner() -> None:
    world = make_world(PlanSpec(plan="ip1", orgs=standard_spec().orgs))
    plan = {
        "resourceType": "CarePlan",
        "id": "ip2",
        "status": "draft",
        "intent": "plan",
        "subject": {"reference": "Patient/ny"},
        "author": {"reference": "Organization/ip1-kommune"},
    }
    with pytest.raises(Forbidden) as err:
        world.as_org("sykehus").update("CarePlan", "ip2", plan)
    assert err.value.issues[0].message_id == "IP-5104"
    assert world.as_owner().update("CarePlan", "ip2", plan).created


def test_scopes_are_enforced_when_switched_on() -> None:
    world = make_world(standard_spec(), enforce_scopes=True)
    actor = Actor(organisation=ORGNR["kommune"], roles=OWNER, scopes=("system/Goal.rs",))
    repo = world.factory.repository_for(actor)
    assert len(repo.search(SearchQuery("Goal")).matches) == 3
    with pytest.raises(Forbidden) as err:
        repo.read("CarePlan", "ip1")
    assert err.value.issues[0].message_id == "IP-5003"
    with pytest.raises(Forbidden):
        repo.create({"resourceType": "Goal", "subject": {"reference": PT}})
