"""B's coordinator after the handover (``transfer respond --accept --coordinator-hpr NNN``,
adapter/services/transfer.py, adapter/sync/transfer_inbox.py): the CareTeam B stores names the
practitioner B appointed by HPR number, as a PractitionerRole at B — the way the consent policy
recognises a coordinator — so a token carrying that HPR number at B holds the plan: it reads it
and writes it. An HPR number that is not one is refused (IP-6111), nothing answered."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest

from ipfhir.adapter.errors import NotFound
from ipfhir.adapter.ports import Actor, SearchQuery
from ipfhir.adapter.services.transfer import request, respond
from ipfhir.adapter.sync.messages import TransferRefused
from ipfhir.mappings.errors import ProfileViolation
from ipfhir.mappings.identifiers import HPR_SYSTEM
from tests.api.transfer_world import B_ORG, PID, A, B, Net, build_net

NAME = "Áslat Nilsen Guttorm"
HPR = "9144897"


@pytest.fixture
def net(tmp_path: Path) -> Net:
    return build_net(tmp_path)


def _waiting(net: Net) -> str:
    request(net.a.wiring, net.a.factory, net.a.directory, sender=A, patient_id=PID, to_org=B_ORG)
    net.deliver(net.a)
    [task] = [t for t in net.b.tasks() if t.get("status") == "requested"]
    return str(task["id"])


def _handover(net: Net, hpr: str | None) -> None:
    tid = _waiting(net)
    respond(
        net.b.wiring,
        net.b.directory,
        responder=B,
        task_id=tid,
        accept=True,
        text=NAME,
        coordinator_hpr=hpr,
    )
    assert net.deliver(net.b) == 1
    assert net.deliver(net.a) == 1
    assert net.deliver(net.b) == 1


def _coordinator(hpr: str) -> Any:
    return Actor(organisation=B_ORG, practitioner=hpr, scopes=("system/*.cruds",), purpose="COC")


def _record_consent_at_b(repo: Any, net: Net, plan: dict[str, Any]) -> str:
    """The person's consent to the plan, recorded at B (``repo``: B's coordinator) as a user
    would: the carried plan names no Consent (A's stay with A), and the profile wants one."""
    consent = copy.deepcopy(net.a.wiring.repository.read("Consent", "ip1-plan"))
    consent.pop("meta", None)
    consent["patient"] = plan["subject"]
    for performer in consent.get("performer", []):
        performer["reference"] = plan["subject"]["reference"]
    consent["organization"] = [{"reference": plan["author"]["reference"]}]
    consent["dateTime"] = "2026-12-01"
    repo.update("Consent", "romsa-plan", consent)
    return "Consent/romsa-plan"


def test_the_coordinator_b_appointed_holds_bs_plan_by_hpr_number(net: Net) -> None:
    _handover(net, HPR)
    [plan] = net.b.plans("active")
    [team_ref] = plan["careTeam"]
    team = net.b.wiring.repository.read("CareTeam", team_ref["reference"].split("/")[1])
    [appointed] = [p for p in team["participant"] if p["member"].get("display") == NAME]
    role = net.b.wiring.repository.read(
        "PractitionerRole", appointed["member"]["reference"].split("/")[1]
    )
    practitioner = net.b.wiring.repository.read(
        "Practitioner", role["practitioner"]["reference"].split("/")[1]
    )
    assert {"system": HPR_SYSTEM, "value": HPR} in practitioner["identifier"]
    organisation = net.b.wiring.repository.read(
        "Organization", role["organization"]["reference"].split("/")[1]
    )
    assert organisation["identifier"][0]["value"] == B_ORG
    # the coordinator's token at B reads the plan and updates it
    repo = net.b.factory.repository_for(_coordinator(HPR))
    seen = repo.read("CarePlan", plan["id"])
    changed = {k: v for k, v in seen.items() if k != "meta"}
    changed["description"] = "Oppdatert av ny koordinator i Romsa – mål for våren"
    with pytest.raises(ProfileViolation) as invalid:  # no Consent named: A's stayed with A
        repo.update("CarePlan", plan["id"], changed)
    assert "CarePlan.supportingInfo" in str(invalid.value)
    changed["supportingInfo"] = [{"reference": _record_consent_at_b(repo, net, plan)}]
    repo.update("CarePlan", plan["id"], changed)
    stored = net.b.wiring.repository.read("CarePlan", plan["id"])
    assert stored["description"] == changed["description"]
    # another practitioner at B holds nothing of it
    with pytest.raises(NotFound):
        net.b.factory.repository_for(_coordinator("9144898")).read("CarePlan", plan["id"])


def test_a_name_alone_appoints_no_one_who_holds_the_plan(net: Net) -> None:
    _handover(net, None)
    [plan] = net.b.plans("active")
    with pytest.raises(NotFound):
        net.b.factory.repository_for(_coordinator(HPR)).read("CarePlan", plan["id"])
    assert HPR not in str(net.b.search("Practitioner"))


@pytest.mark.parametrize("hpr", ["91448970123", "91x4489", "", "٩١٤٤٨٩٧"])
def test_an_hpr_number_that_is_not_one_is_refused(net: Net, hpr: str) -> None:
    tid = _waiting(net)
    with pytest.raises(TransferRefused) as err:
        respond(
            net.b.wiring,
            net.b.directory,
            responder=B,
            task_id=tid,
            accept=True,
            text=NAME,
            coordinator_hpr=hpr,
        )
    assert err.value.issues[0].message_id == "IP-6111"
    assert net.b.wiring.repository.read("Task", tid)["status"] == "requested"
    assert net.b.outbox.list() == []
    assert net.b.wiring.repository.search(SearchQuery("Practitioner")).matches == []
