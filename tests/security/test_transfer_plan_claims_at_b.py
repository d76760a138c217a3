"""Nothing in A's plan message makes anyone a practitioner at B (adapter/sync/transfer_inbox.py,
``store_plan``): authority over B's copy of the plan comes from B's own answer only.

A (or whoever crafts A's plan message) adds to the carried plan an Organization with B's
organisasjonsnummer, a Practitioner with an HPR number of A's choosing, a PractitionerRole of
that practitioner at that Organization, and a CareTeam participant making the role coordinator
for good. Decided: B stores the plan without them — the Organization claiming to be B is not
stored (B's own Organization is B's), every reference to it keeps its display only, so the
PractitionerRole names no organisation and coordinates nothing at B; the same for a role naming
B's organisasjonsnummer by identifier alone. A's coordinators stay coordinators at A over the
declared overlap; one A scheduled to start after the handover is not carried over.
"""

from __future__ import annotations

import datetime as dt
import uuid
from pathlib import Path
from typing import Any

import pytest

from ipfhir.adapter.errors import NotFound
from ipfhir.adapter.ports import Actor
from ipfhir.adapter.services.transfer import request, respond
from ipfhir.mappings.codes import COORDINATOR_ROLE
from ipfhir.mappings.identifiers import HPR_SYSTEM, ORGNR_SYSTEM
from tests.api.transfer_world import B_ORG, PID, A, B, Net, build_net

CHOSEN = "9144812"  # an HPR number A chose
SYSTEM, CODE, DISPLAY = COORDINATOR_ROLE[("koordinator", "kommune")]


@pytest.fixture
def net(tmp_path: Path) -> Net:
    return build_net(tmp_path)


def _plan_message(net: Net) -> Any:
    request(net.a.wiring, net.a.factory, net.a.directory, sender=A, patient_id=PID, to_org=B_ORG)
    net.deliver(net.a)
    [filed] = [t for t in net.b.tasks() if t.get("status") == "requested"]
    respond(net.b.wiring, net.b.directory, responder=B, task_id=filed["id"], accept=True)
    net.deliver(net.b)
    [message] = net.a.outbox.claim(50)
    assert message.kind == "ip-transfer-plan"
    return message


def _add(message: Any, resource: dict[str, Any]) -> str:
    rid = str(uuid.uuid4())
    url = f"urn:uuid:{rid}"
    message.payload["entry"].append({"fullUrl": url, "resource": {**resource, "id": rid}})
    return url


def _team(message: Any) -> dict[str, Any]:
    [team] = [
        e["resource"]
        for e in message.payload["entry"]
        if e["resource"]["resourceType"] == "CareTeam"
    ]
    return team


def _coordinator(member: dict[str, Any], start: str) -> dict[str, Any]:
    return {
        "role": [{"coding": [{"system": SYSTEM, "code": CODE, "display": DISPLAY}]}],
        "member": member,
        "period": {"start": start},
    }


def _holds(net: Net, plan_id: str) -> bool:
    chosen = Actor(
        organisation=B_ORG, practitioner=CHOSEN, scopes=("system/*.cruds",), purpose="COC"
    )
    try:
        net.b.factory.repository_for(chosen).read("CarePlan", plan_id)
    except NotFound:
        return False
    return True


def _store(net: Net, message: Any) -> dict[str, Any]:
    _status, answer = net.b.receiver.process(A.orgnr, message.payload)
    net.a.outbox.delivered(message, "{}")
    assert answer["entry"][0]["resource"]["response"]["code"] == "ok", answer
    [plan] = net.b.plans("active")
    return plan


@pytest.mark.parametrize("by", ["reference", "identifier"])
def test_a_plan_message_makes_no_one_a_coordinator_at_b(net: Net, by: str) -> None:
    message = _plan_message(net)
    today = dt.date.today().isoformat()
    me = {"system": ORGNR_SYSTEM, "value": B_ORG}
    practitioner = _add(
        message,
        {
            "resourceType": "Practitioner",
            "identifier": [{"system": HPR_SYSTEM, "value": CHOSEN}],
            "name": [{"text": "Áslat Nilsen Guttorm"}],
        },
    )
    if by == "reference":
        org = {"reference": _add(message, {"resourceType": "Organization", "identifier": [me]})}
    else:
        org = {"identifier": me, "display": "Romsa suohkan"}
    role = _add(
        message,
        {
            "resourceType": "PractitionerRole",
            "practitioner": {"reference": practitioner},
            "organization": org,
        },
    )
    _team(message)["participant"].append(_coordinator({"reference": role}, today))
    plan = _store(net, message)
    assert not _holds(net, plan["id"])
    ours = [o for o in net.b.search("Organization") if B_ORG in str(o.get("identifier"))]
    assert len(ours) == 1  # B's own, nothing A sent
    roles = [r for r in net.b.search("PractitionerRole") if B_ORG in str(r)]
    assert roles == []


def test_bs_own_appointee_still_holds_the_plan(net: Net) -> None:
    request(net.a.wiring, net.a.factory, net.a.directory, sender=A, patient_id=PID, to_org=B_ORG)
    net.deliver(net.a)
    [filed] = [t for t in net.b.tasks() if t.get("status") == "requested"]
    respond(
        net.b.wiring,
        net.b.directory,
        responder=B,
        task_id=filed["id"],
        accept=True,
        text="Áslat Nilsen Guttorm",
        coordinator_hpr=CHOSEN,
    )
    net.deliver(net.b)
    net.deliver(net.a)
    [plan] = net.b.plans("active")
    assert _holds(net, plan["id"])


def test_a_coordinator_scheduled_after_the_handover_is_not_carried_over(net: Net) -> None:
    message = _plan_message(net)
    later = (dt.date.today() + dt.timedelta(days=200)).isoformat()
    _team(message)["participant"].append(
        _coordinator({"display": "Ærling Øvrebø (Bærum kommune)"}, later)
    )
    _store(net, message)
    [team] = net.b.search("CareTeam")
    assert "Ærling" not in str(team)


def test_a_request_is_filed_without_what_is_bs_to_answer(net: Net) -> None:
    """A's request's ``output`` (a coordinator, a plan) is not B's answer: not filed."""
    from ipfhir.adapter.sync.messaging import code

    request(net.a.wiring, net.a.factory, net.a.directory, sender=A, patient_id=PID, to_org=B_ORG)
    [message] = net.a.outbox.claim(50)
    [task] = [
        e["resource"] for e in message.payload["entry"] if e["resource"]["resourceType"] == "Task"
    ]
    task["output"] = [
        {"type": code("coordinator"), "valueString": "Áslat Nilsen Guttorm"},
        {"type": code("coordinator"), "valueIdentifier": {"system": HPR_SYSTEM, "value": CHOSEN}},
    ]
    task["statusReason"] = {"text": "Godkjent av Ærøy"}
    _status, answer = net.b.receiver.process(A.orgnr, message.payload)
    assert answer["entry"][0]["resource"]["response"]["code"] == "ok", answer
    [filed] = net.b.tasks()
    assert "output" not in filed and "statusReason" not in filed


def test_a_request_coded_as_a_notification_too_is_refused(net: Net) -> None:
    """Filed with both codes it would wait in B's inbox as a notification too, answerable as
    one (``ipfhir notify respond``)."""
    from ipfhir.adapter.sync.messaging import NOTIFICATION, code

    request(net.a.wiring, net.a.factory, net.a.directory, sender=A, patient_id=PID, to_org=B_ORG)
    [message] = net.a.outbox.claim(50)
    [task] = [
        e["resource"] for e in message.payload["entry"] if e["resource"]["resourceType"] == "Task"
    ]
    task["code"]["coding"] += code(NOTIFICATION)["coding"]
    _status, answer = net.b.receiver.process(A.orgnr, message.payload)
    assert answer["entry"][0]["resource"]["response"]["code"] == "fatal-error", answer
    assert "IP-6095" in str(answer)
    assert net.b.tasks() == []
