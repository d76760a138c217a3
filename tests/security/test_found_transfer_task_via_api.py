"""Found: the plan transfer's Tasks are ordinary Task resources to the API — the plan's holders
(the coordinator's token, the owning coordinating unit's) may create and update a Task coded
``ip-exchange#ip-transfer`` through the consent-enforcing repository (``POST/PUT Task``), and
settling (adapter/sync/transfer_state.py) and B's answers (transfer_back.py) trust every such
Task as the transfer's own record.

Attack A (the former coordinator at A, a valid token, while the plan is handed over): POST a Task
coded ip-transfer, ``status`` requested, ``focus`` the plan being handed over, ``owner`` A itself
(so the inbox rule IP-5113 does not apply), ``restriction.period.end`` in the past. What happens
now: the worker's next ``settle_transfers`` fails this Task as overdue (IP-6098) and ``lift``
removes the ``handover-pending`` mark from the plan — the plan that is on its way to B is
writable again at A (edits made now are silently lost when B confirms), without the operator's
``transfer abandon``. What should happen: a transfer Task is written by the transfer alone (the
API refuses to create or change one, like the handover marks, IP-4490), or settling ignores a
Task the transfer did not create.

Attack B (same token): PUT A's real transfer Task with ``status`` failed. What happens now: the
send-time gate holds the plan message back (IP-6109) or B's confirmation is refused ("the
transfer is failed here"), and the plan stays ``handover-pending`` for ever at A while B may
hold it as the person's active plan. What should happen: refused; only the transfer's own
steps (answers, settling, abandon) change a transfer Task.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import uuid
from pathlib import Path
from typing import Any

import pytest

from ipfhir.adapter.fhir.handover import handover_state
from ipfhir.adapter.ports import Actor
from ipfhir.adapter.services.transfer import request, respond
from ipfhir.adapter.sync.inbox import TASK_IDENTIFIER_SYSTEM
from ipfhir.adapter.sync.messaging import TRANSFER, code
from ipfhir.adapter.sync.transfer_state import settle_transfers
from ipfhir.mappings.errors import IpError
from ipfhir.mappings.identifiers import ORGNR_SYSTEM
from tests.api.transfer_world import B_ORG, PID, A, B, Net, build_net
from tests.unit.consent.conftest import HPR

COORDINATOR = Actor(
    organisation=A.orgnr, practitioner=HPR["koord"], scopes=("system/*.cruds",), purpose="COC"
)


@pytest.fixture
def net(tmp_path: Path) -> Net:
    return build_net(tmp_path)


def _pending(net: Net) -> tuple[str, dict[str, Any]]:
    """B accepted; A's plan is handover-pending and its plan message queued."""
    tid = request(
        net.a.wiring, net.a.factory, net.a.directory, sender=A, patient_id=PID, to_org=B_ORG
    ).task_id
    net.deliver(net.a)
    [filed] = [t for t in net.b.tasks() if t.get("status") == "requested"]
    respond(net.b.wiring, net.b.directory, responder=B, task_id=filed["id"], accept=True)
    net.deliver(net.b)
    [plan] = net.a.plans("active")
    assert handover_state(plan) == "handover-pending"
    return tid, plan


def test_a_forged_overdue_transfer_task_does_not_unlock_the_plan_being_handed_over(
    net: Net,
) -> None:
    _tid, plan = _pending(net)
    forged_id = str(uuid.uuid4())
    yesterday = (dt.date.today() - dt.timedelta(days=1)).isoformat()
    me = {"identifier": {"system": ORGNR_SYSTEM, "value": A.orgnr}, "display": A.name}
    forged = {
        "resourceType": "Task",
        "identifier": [{"system": TASK_IDENTIFIER_SYSTEM, "value": f"urn:uuid:{forged_id}"}],
        "status": "requested",
        "intent": "proposal",
        "code": code(TRANSFER),
        "focus": {"reference": f"CarePlan/{plan['id']}"},
        "for": {"reference": f"Patient/{PID}"},
        "authoredOn": f"{yesterday}T08:00:00Z",
        "requester": me,
        "owner": me,
        "restriction": {"period": {"end": yesterday}},
    }
    repo = net.a.factory.repository_for(COORDINATOR)
    with contextlib.suppress(IpError):  # refused by the API: the attack ends here
        repo.update("Task", forged_id, forged)
    settle_transfers(net.a.wiring.repository)
    [still] = net.a.plans("active")
    assert handover_state(still) == "handover-pending"


def test_the_transfer_task_cannot_be_failed_through_the_api(net: Net) -> None:
    tid, _plan = _pending(net)
    repo = net.a.factory.repository_for(COORDINATOR)
    task = {k: v for k, v in repo.read("Task", tid).items() if k != "meta"}
    task["status"] = "failed"
    task["statusReason"] = {"text": "Avsluttet av koordinator"}
    with contextlib.suppress(IpError):  # refused by the API: the attack ends here
        repo.update("Task", tid, task)
    assert net.a.wiring.repository.read("Task", tid)["status"] == "in-progress"
