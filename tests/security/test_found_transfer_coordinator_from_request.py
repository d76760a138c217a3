"""Found: the coordinator HPR number that makes a practitioner hold the plan at B is read from
B's filed transfer Task (``_coordinator_hpr(mine)`` in adapter/sync/transfer_inbox.py), and
that Task keeps whatever ``Task.output`` the *requesting* municipality put in its
``ip-transfer`` request (``store_request`` stores the request's Task as sent, minus meta and
focus; ``respond --accept`` replaces ``output`` only when B names a coordinator).

Attack: A (malicious, or A's former coordinator crafting the request) sends an ``ip-transfer``
whose Task carries ``output`` = [coordinator "Áslat …" (valueString), coordinator HPR
(valueIdentifier)].
B's coordinating unit accepts with a plain ``ipfhir transfer respond TASK --accept``.

What happens now: the plan B stores names a PractitionerRole at B for the HPR number A chose;
a token at B carrying that HPR number holds (reads, writes) the person's plan at B — authority
over B's data granted by the content of another organisation's message, never by B.

What should happen: only B's own answer (``--coordinator-hpr``, IP-6111 checked) appoints a
coordinator at B; a request's ``output`` is not B's and is never stored as B's decision (or is
refused).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from ipfhir.adapter.errors import NotFound
from ipfhir.adapter.ports import Actor
from ipfhir.adapter.services.transfer import request, respond
from ipfhir.adapter.sync.messaging import code
from ipfhir.mappings.identifiers import HPR_SYSTEM
from tests.api.transfer_world import B_ORG, PID, A, B, Net, build_net

CHOSEN = "9144811"  # an HPR number A chose, not B


@pytest.fixture
def net(tmp_path: Path) -> Net:
    return build_net(tmp_path)


def _code(answer: dict[str, Any]) -> str:
    return str(answer["entry"][0]["resource"]["response"]["code"])


def test_a_request_cannot_appoint_bs_coordinator(net: Net) -> None:
    request(net.a.wiring, net.a.factory, net.a.directory, sender=A, patient_id=PID, to_org=B_ORG)
    [message] = net.a.outbox.claim(50)
    [task] = [
        e["resource"]
        for e in message.payload["entry"][1:]
        if e["resource"]["resourceType"] == "Task"
    ]
    task["output"] = [
        {"type": code("coordinator"), "valueString": "Áslat Nilsen Guttorm"},
        {"type": code("coordinator"), "valueIdentifier": {"system": HPR_SYSTEM, "value": CHOSEN}},
    ]
    _status, answer = net.b.receiver.process(A.orgnr, message.payload)
    net.a.outbox.delivered(message, "{}")
    if _code(answer) != "ok":
        return  # refused outright: acceptable
    [filed] = [t for t in net.b.tasks() if t.get("status") == "requested"]
    # B's coordinating unit accepts without naming anyone (the CLI default)
    respond(net.b.wiring, net.b.directory, responder=B, task_id=filed["id"], accept=True)
    assert net.deliver(net.b) == 1  # accepted
    assert net.deliver(net.a) == 1  # the plan
    [plan] = net.b.plans("active")
    chosen = Actor(
        organisation=B_ORG, practitioner=CHOSEN, scopes=("system/*.cruds",), purpose="COC"
    )
    with pytest.raises(NotFound):
        net.b.factory.repository_for(chosen).read("CarePlan", plan["id"])
    assert CHOSEN not in str(net.b.search("PractitionerRole")) + str(net.b.search("Practitioner"))
