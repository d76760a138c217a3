"""Guards (these pass today; kept because each pins an invariant of the handover that the new
query / not-stored / coordinator-hpr steps could easily break):

- a third municipality C, after A has asked B (so a "not stored" *would* be taken), answers
  "not stored" for A's transfer, by its own token: refused (IP-6095) exactly like an answer
  about an unknown transfer; A's plan stays pending — only the organisation the transfer was
  addressed to can unlock it;
- B's own "not stored" replayed *after* A completed the handover (a duplicate or out-of-order
  answer, under a fresh message id) changes nothing: A's Task stays completed, the plan
  handed over; and the same message id again is answered with the first answer;
- the HPR number B appoints (``--coordinator-hpr``) grants nothing at A: it travels to A in B's
  answer, but A stores no Practitioner/PractitionerRole for it and a token with that HPR
  number (at A's or B's organisation) reads nothing of the person's plan at A.
"""

from __future__ import annotations

import contextlib
import copy
import datetime as dt
import uuid
from pathlib import Path
from typing import Any

import pytest

from ipfhir.adapter.directory import parse_directory
from ipfhir.adapter.directory.build import directory_bundle, organisation_entry
from ipfhir.adapter.errors import NotFound
from ipfhir.adapter.fhir.handover import handover_state
from ipfhir.adapter.ports import Actor
from ipfhir.adapter.services.transfer import request, respond
from ipfhir.adapter.sync.messaging import TRANSFER_RESPONSE, Party, message_bundle
from ipfhir.adapter.sync.transfer_state import settle_transfers
from ipfhir.adapter.sync.transfer_tasks import task_message
from tests.api.notify_world import ORGNR
from tests.api.transfer_world import B_ORG, PID, A, B, Net, build_net

C = Party(ORGNR["annen"], "Annen kommune – koordinerende enhet", "http://127.0.0.1:18093")
HPR = "9144897"


@pytest.fixture
def net(tmp_path: Path) -> Net:
    net = build_net(tmp_path)
    entry = organisation_entry(
        C.orgnr,
        C.name,
        C.endpoint,
        kommunenummer="1103",
        coordinating_unit=True,
        jwks_url=f"{C.endpoint}/.well-known/jwks.json",
    )
    for side in (net.a, net.b):
        side.directory.load(parse_directory(directory_bundle(*entry)))
    return net


def _code(answer: dict[str, Any]) -> str:
    return str(answer["entry"][0]["resource"]["response"]["code"])


def _issues(answer: dict[str, Any]) -> Any:
    return [e["resource"]["issue"] for e in answer["entry"][1:]]


def _b_task(net: Net) -> dict[str, Any]:
    [task] = [t for t in net.b.tasks() if t["code"]["coding"][0]["code"] == "ip-transfer"]
    return task


def _answer(source: Party, task: dict[str, Any], mid: str | None = None) -> dict[str, Any]:
    return message_bundle(
        message_id=mid or str(uuid.uuid4()),
        event=TRANSFER_RESPONSE,
        source=source,
        destination=A,
        timestamp=dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        resources=[task],
    )


def _accepted(net: Net, hpr: str | None = None) -> str:
    tid = request(
        net.a.wiring, net.a.factory, net.a.directory, sender=A, patient_id=PID, to_org=B_ORG
    ).task_id
    net.deliver(net.a)
    [filed] = [t for t in net.b.tasks() if t.get("status") == "requested"]
    respond(
        net.b.wiring,
        net.b.directory,
        responder=B,
        task_id=filed["id"],
        accept=True,
        text="Áslat Nilsen Guttorm" if hpr else None,
        coordinator_hpr=hpr,
    )
    net.deliver(net.b)
    return str(tid)


def test_a_third_party_not_stored_is_refused_even_after_a_asked(net: Net) -> None:
    tid = _accepted(net)
    [plan] = net.a.outbox.claim(50)
    net.a.outbox.dead(plan, "gave up after 8 attempts: no answer: ReadTimeout")
    settle_transfers(net.a.wiring.repository)  # A asks B: a "not stored" would now be taken
    told = task_message({**_b_task(net), "status": "failed"})
    told.pop("input", None)
    by_c = copy.deepcopy(told)
    by_c["owner"] = C.reference()
    _s, third = net.a.receiver.process(C.orgnr, _answer(C, by_c))
    unknown = copy.deepcopy(by_c)
    unknown["identifier"][0]["value"] = f"urn:uuid:{uuid.uuid4()}"
    _s, nothing = net.a.receiver.process(C.orgnr, _answer(C, unknown))
    assert _code(third) == _code(nothing) == "fatal-error"
    assert _issues(third) == _issues(nothing)
    assert net.a.wiring.repository.read("Task", tid)["status"] == "in-progress"
    assert handover_state(net.a.plans("active")[0]) == "handover-pending"


def test_a_late_not_stored_after_completion_changes_nothing(net: Net) -> None:
    tid = _accepted(net)
    [plan] = net.a.outbox.claim(50)
    net.a.outbox.dead(plan, "gave up after 8 attempts: no answer: ReadTimeout")
    settle_transfers(net.a.wiring.repository)  # asked
    net.a.outbox.replay(plan.message_id)
    net.deliver(net.a)  # the plan (replayed) and the query: B stores and confirms
    net.deliver(net.b)
    assert net.a.wiring.repository.read("Task", tid)["status"] == "completed"
    told = task_message({**_b_task(net), "status": "failed"})
    told.pop("input", None)
    late = _answer(B, told)
    _s, first = net.a.receiver.process(B.orgnr, late)
    _s, again = net.a.receiver.process(B.orgnr, late)
    assert first == again  # the same message id: the first answer
    assert net.a.wiring.repository.read("Task", tid)["status"] == "completed"
    assert net.a.plans("active") == []
    assert handover_state(net.a.plans("completed")[0]) == "handed-over"


def test_the_hpr_b_appoints_grants_nothing_at_a(net: Net) -> None:
    _accepted(net, hpr=HPR)
    net.deliver(net.a)  # the plan
    net.deliver(net.b)  # the confirmation
    assert len(net.b.plans("active")) == 1
    held = str(net.a.search("Practitioner")) + str(net.a.search("PractitionerRole"))
    assert HPR not in held

    def sees(org: str, hpr: str) -> list[str]:
        actor = Actor(organisation=org, practitioner=hpr, scopes=("system/*.cruds",), purpose="COC")
        repo = net.a.factory.repository_for(actor)
        seen = []
        for plan in net.a.plans():
            with contextlib.suppress(NotFound):
                seen.append(str(repo.read("CarePlan", plan["id"])))
        return seen

    assert sees(A.orgnr, HPR) == []
    # at B's organisation the HPR number adds nothing to what the person's consent gives B
    assert sees(B_ORG, HPR) == sees(B_ORG, "9144898")
