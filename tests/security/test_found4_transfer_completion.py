"""The plan transfer's last step trusts B's word and A's outbox more than the plan's fate: the
person can end up with no active plan (A's completed before B stored anything) or with two (A
gives up on a plan message B had in fact stored). Driven over two real stores joined by the
real receivers (``tests/api/transfer_world.py``)."""

from __future__ import annotations

import datetime as dt
import json
import uuid
from pathlib import Path
from typing import Any

import pytest

from ipfhir.adapter.fhir.handover import handover_state
from ipfhir.adapter.ports import Actor
from ipfhir.adapter.services.transfer import request, respond, status
from ipfhir.adapter.sync.messaging import TRANSFER_RESPONSE, code, message_bundle
from ipfhir.adapter.sync.transfer_tasks import task_message
from tests.api.transfer_world import A_ORG, B_ORG, PID, A, B, Net, build_net

COORDINATOR = "Áslat Nilsen Guttorm"


@pytest.fixture
def net(tmp_path: Path) -> Net:
    return build_net(tmp_path)


def _b_task(net: Net) -> dict[str, Any]:
    [task] = [t for t in net.b.tasks() if t["code"]["coding"][0]["code"] == "ip-transfer"]
    return task


def _until_plan_queued(net: Net) -> str:
    queued = request(
        net.a.wiring, net.a.factory, net.a.directory, sender=A, patient_id=PID, to_org=B_ORG
    )
    assert net.deliver(net.a) == 1  # the request
    respond(
        net.b.wiring,
        net.b.directory,
        responder=B,
        task_id=_b_task(net)["id"],
        accept=True,
        text=COORDINATOR,
    )
    assert net.deliver(net.b) == 1  # the acceptance: A marks its plan pending, queues the plan
    assert net.a.wiring.repository.read("Task", queued.task_id)["status"] == "in-progress"
    return queued.task_id


def test_b_completes_a_plan_it_never_received(net: Net) -> None:
    """B (the accepting municipality, authenticated as itself) answers ``completed`` before
    A's plan message has reached it — naming any address at all, here another party's — and
    A's plan becomes ``completed``/``handed-over`` at once, read-only for good. B stores
    nothing: the person has no active plan anywhere (and B can then refuse the plan message).
    Correct: A takes a completion only for a plan message B acknowledged (its outbox row
    delivered), naming an address at B's own endpoint; until then the plan stays active."""
    _until_plan_queued(net)
    early = task_message(
        {**_b_task(net), "status": "completed"},
        output=[
            {
                "type": code("successor-plan"),
                "valueReference": {"reference": "https://annen.example.no/CarePlan/x"},
            }
        ],
    )
    early.pop("input", None)
    bundle = message_bundle(
        message_id=str(uuid.uuid4()),
        event=TRANSFER_RESPONSE,
        source=B,
        destination=A,
        timestamp=dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        resources=[early],
    )
    net.a.receiver.process(B_ORG, bundle)
    assert net.b.plans("active") == []  # B holds nothing
    assert [m.status for m in net.a.outbox.list()][-1] == "queued"  # the plan never left A
    [plan] = net.a.plans()
    assert (plan["status"], handover_state(plan)) == ("active", "handover-pending")


def test_a_gives_up_on_a_plan_b_stored_and_the_person_has_two_active_plans(net: Net) -> None:
    """B stores the plan and answers ok, but the answer never reaches A (B unreachable after
    its commit until A's retries are spent): A's plan message ends ``dead``. ``ipfhir
    transfer status`` then fails the Task and lifts the pending mark — A's plan is active and
    writable again — and B's confirmation, when it arrives, is refused (IP-6095: the transfer
    is failed at A). The person now has two active plans, one in each municipality, each
    coordinating on its own, for good. Correct: a plan message that may have been stored
    (sent at least once) leaves the Task open for B's confirmation (or a failed Task still
    takes it and completes the plan); exactly one active plan in the end."""
    tid = _until_plan_queued(net)
    [plan_message] = net.a.outbox.claim(50)
    code_, answer = net.b.receiver.process(A_ORG, plan_message.payload)
    assert code_ == 200 and answer["entry"][0]["resource"]["response"]["code"] == "ok"
    assert len(net.b.plans("active")) == 1  # B stored it and queued its confirmation
    net.a.outbox.dead(plan_message, "gave up after 8 attempts: timed out reading the answer")
    status(net.a.wiring, tid)  # A: the Task failed, the pending mark lifted
    net.deliver(net.b)  # B's confirmation arrives late
    active = [*net.a.plans("active"), *net.b.plans("active")]
    assert len(active) == 1, [(p["id"], handover_state(p)) for p in active]


def test_a_plan_message_plants_another_persons_patient_and_data_at_b(net: Net) -> None:
    """The sender of an accepted transfer (A, or any organisation in B's directory whose
    request B accepted) adds to its ``ip-transfer-plan`` message a second Patient — another
    person's fødselsnummer — and a Goal about that person. B's receiver carries every
    resource of the CARRIED_TYPES, Patient included, created as it came (no binding by
    fødselsnummer): B now holds a second Patient for a person it already knows and the planted
    data under it. Correct: a plan transfer carries exactly one Patient (``Task.for``) and
    every carried resource is about that person; anything else refused (IP-6095), nothing
    stored."""
    import copy
    import random

    from ipfhir.mappings.identifiers import FNR_SYSTEM, synthetic_fnr

    other_fnr = synthetic_fnr(dt.date(1962, 3, 8), random.Random(62))
    known = {
        "resourceType": "Patient",
        "identifier": [{"system": FNR_SYSTEM, "value": other_fnr}],
        "name": [{"family": "Ørnø-Sámi", "given": ["Siri"]}],
    }
    net.b.wiring.repository.create(known)  # B knows the other person already
    _until_plan_queued(net)
    [plan_message] = net.a.outbox.claim(50)
    payload = copy.deepcopy(plan_message.payload)
    pid, gid = str(uuid.uuid4()), str(uuid.uuid4())
    planted_patient = {**known, "id": pid, "name": [{"family": "Planta", "given": ["Åse"]}]}
    planted_goal = {
        "resourceType": "Goal",
        "id": gid,
        "lifecycleStatus": "active",
        "description": {"text": "Plantet mål om en annen person"},
        "subject": {"reference": f"urn:uuid:{pid}"},
    }
    for res in (planted_patient, planted_goal):
        payload["entry"].append({"fullUrl": f"urn:uuid:{res['id']}", "resource": res})
    code_, answer = net.b.receiver.process(A_ORG, payload)
    outcome = answer["entry"][0]["resource"]["response"]["code"]
    same_person = [
        p
        for p in net.b.search("Patient")
        if any(i.get("value") == other_fnr for i in p.get("identifier") or [])
    ]
    assert (outcome, len(same_person)) == ("fatal-error", 1)


def test_a_topic_refused_after_the_plan_was_queued_still_reaches_b(net: Net) -> None:
    """B accepted; A read the plan as B could see it then and queued it. Before it leaves (B
    down for a while, the message waiting for its retry) the person refuses «psykisk helse»
    to everyone. The gate holds back a transfer only when B no longer sees the person at all
    (its content "is not compared element by element"), so the plan goes as it was read: B
    stores the refused goal (g3) as part of the person's active plan, and the revocation
    notice that goes to B names no notification, so B seals nothing. Correct: a plan message
    carrying more than B may see now is held back (IP-6056; the Task fails, A's plan stays
    active) — as a notification is."""
    from ipfhir.mappings.codes import cs_url

    _until_plan_queued(net)
    consent = net.a.wiring.repository.read("Consent", "ip1-sharing")
    consent.pop("meta")
    topic = {"system": cs_url("ip-information-topic"), "code": "psykisk-helse"}
    consent["provision"]["provision"].append({"type": "deny", "securityLabel": [topic]})
    net.a.factory.repository_for(_owner_actor()).update("Consent", "ip1-sharing", consent)
    as_b = Actor(organisation=B_ORG, scopes=("system/*.rs",), purpose="COC")
    now = json.dumps(net.a.factory.repository_for(as_b).everything("ip1"), ensure_ascii=False)
    assert "(g1)" in now and "(g3)" not in now  # B may no longer see g3
    net.deliver(net.a)
    stored = [g["description"]["text"] for g in net.b.search("Goal")]
    assert not any("(g3)" in text for text in stored), stored


def _owner_actor() -> Any:
    from ipfhir.adapter.consent.policy import OWNER_ROLE

    return Actor(organisation=A_ORG, roles=(OWNER_ROLE,), scopes=("system/*.cruds",), purpose="COC")


def test_a_plan_for_another_person_is_stored_under_a_transfer_accepted_for_the_first(
    net: Net,
) -> None:
    """B accepted the transfer of person Y's plan (its Task ``for`` Y). The plan message that
    follows names person X instead (another fødselsnummer; a sender's bug or a malicious
    sender): B binds X by fødselsnummer and stores the plan as X's active plan, completing the
    Task accepted for Y. Nobody at B ever accepted a plan for X. Correct: the plan message's
    person is the one B's Task is for, else IP-6095 and nothing stored."""
    import copy
    import random

    from ipfhir.mappings.identifiers import synthetic_fnr

    x_fnr = synthetic_fnr(dt.date(1962, 3, 8), random.Random(62))
    _until_plan_queued(net)
    accepted_for = _b_task(net)["for"]["reference"]
    [plan_message] = net.a.outbox.claim(50)
    payload = copy.deepcopy(plan_message.payload)
    task = payload["entry"][1]["resource"]
    patient_url = task["for"]["reference"]
    [patient] = [e["resource"] for e in payload["entry"] if e["fullUrl"] == patient_url]
    patient["identifier"][0]["value"] = x_fnr
    patient["name"] = [{"family": "Xåsen", "given": ["Øyvind"]}]
    _code, answer = net.b.receiver.process(A_ORG, payload)
    outcome = answer["entry"][0]["resource"]["response"]["code"]
    subjects = [p["subject"]["reference"] for p in net.b.plans("active")]
    assert (outcome, subjects) == ("fatal-error", []), (accepted_for, subjects)
