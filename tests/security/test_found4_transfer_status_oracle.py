"""``ipfhir transfer respond --orgnr <C>`` on an adapter that serves several organisations:
another organisation C, given the id of a transfer request addressed to B, is refused with
IP-6091 — but the refusal names the Task's status (``requested``, ``accepted``, ``completed``)
where an id that never existed says ``not found``. C learns that the person has a transfer
under way (and how far it got). Correct: a Task not addressed to the responder is answered
exactly as a missing one."""

from __future__ import annotations

import json
import uuid
from pathlib import Path

import pytest

from ipfhir.adapter.services.transfer import request, respond
from ipfhir.adapter.sync.messages import TransferRefused
from ipfhir.adapter.sync.messaging import Party
from tests.api.notify_world import ORGNR
from tests.api.transfer_world import B_ORG, PID, A, Net, build_net

C = Party(ORGNR["annen"], "Annen kommune – koordinerende enhet", "http://127.0.0.1:18093")


@pytest.fixture
def net(tmp_path: Path) -> Net:
    return build_net(tmp_path)


def _refusal(net: Net, tid: str) -> str:
    with pytest.raises(TransferRefused) as err:
        respond(net.b.wiring, net.b.directory, responder=C, task_id=tid, accept=True)
    [issue] = err.value.issues
    assert issue.message_id == "IP-6091"
    return json.dumps(issue.to_fhir(), ensure_ascii=False).replace(tid, "<tid>")


def test_another_organisation_learns_a_transfer_is_under_way(net: Net) -> None:
    request(net.a.wiring, net.a.factory, net.a.directory, sender=A, patient_id=PID, to_org=B_ORG)
    net.deliver(net.a)
    [waiting] = [t for t in net.b.tasks() if t["code"]["coding"][0]["code"] == "ip-transfer"]
    assert _refusal(net, waiting["id"]) == _refusal(net, str(uuid.uuid4()))
