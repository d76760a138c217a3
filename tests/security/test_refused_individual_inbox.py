"""A refused individual at the receiver: the person refused one doctor outright (a named deny in
the sharing Consent, by HPR number — it follows the doctor to any organisation). A hospital
notifies the plan's coordinating unit about the person through ``$process-message``. The
coordinating unit sees the notification in its inbox; the refused doctor, holding a token of
that very coordinating unit (its organisation, its role), sees nothing of it — not the Task,
not that one is waiting — exactly as a plan holder refused outright sees nothing of the plan.
Before, the inbox rule admitted anyone with the unit's organisation and role ahead of the
refusal."""

from __future__ import annotations

import uuid
from typing import Any

from ipfhir.adapter.auth.devkey import mint_token
from ipfhir.adapter.consent.policy import OWNER_ROLE
from ipfhir.adapter.directory import SqlDirectory
from ipfhir.adapter.directory.guard_messages import MESSAGE_SCOPE
from ipfhir.adapter.sync.messaging import Party, code, message_bundle
from ipfhir.mappings.identifiers import FNR_SYSTEM
from tests.api.notify_world import load_directory
from tests.security.conftest import ACTORS, SecureWorld

BASE = "http://127.0.0.1:8080"  # the dev server's own base
SYKEHUS_BASE = "http://127.0.0.1:18084"
WORDS = "Utskrives fra Sámi klinihkka fredag; trenger koordinator og hjemmetjeneste i Kárášjohka"


def _notification(world: SecureWorld) -> dict[str, Any]:
    fnr = world.wiring.repository.read("Patient", "ip1-pt")["identifier"][0]["value"]
    hospital = Party(ACTORS["recipient"][0], "Sykehuset", SYKEHUS_BASE)
    owner = Party(ACTORS["owner"][0], "Bærum kommune – koordinerende enhet", BASE)
    pid, tid = str(uuid.uuid4()), str(uuid.uuid4())
    patient = {
        "resourceType": "Patient",
        "id": pid,
        "identifier": [{"system": FNR_SYSTEM, "value": fnr}],
    }
    task = {
        "resourceType": "Task",
        "id": tid,
        "identifier": [{"system": "urn:ietf:rfc:3986", "value": f"urn:uuid:{tid}"}],
        "status": "requested",
        "intent": "proposal",
        "code": code("ip-notification"),
        "for": {"reference": f"urn:uuid:{pid}"},
        "requester": hospital.reference(),
        "owner": owner.reference(),
        "description": WORDS,
    }
    return message_bundle(
        message_id=str(uuid.uuid4()),
        event="ip-notification",
        source=hospital,
        destination=owner,
        timestamp="2026-12-01T14:00:00Z",
        resources=[task, patient],
    )


def test_a_refused_individual_at_the_coordinating_unit_sees_nothing_of_its_inbox(
    world: SecureWorld,
) -> None:
    hospital = ACTORS["recipient"][0]
    load_directory(SqlDirectory(world.wiring.engine), {hospital: SYKEHUS_BASE})
    token = mint_token(world.data, hospital, scopes=(MESSAGE_SCOPE,))
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/fhir+json"}
    sent = world.client.post("/$process-message", json=_notification(world), headers=headers)
    assert sent.status_code == 200 and '"code":"ok"' in sent.text.replace(" ", ""), sent.text
    owner = world.client.get("/Task?status=requested", headers=world.as_("owner"))
    assert WORDS in owner.text  # the addressee has it
    refused_hpr = ACTORS["refused_individual"][1]
    at_the_unit = mint_token(
        world.data,
        ACTORS["owner"][0],
        hpr=refused_hpr,
        scopes=("system/*.rs",),
        roles=(OWNER_ROLE,),
    )
    bearer = {"Authorization": f"Bearer {at_the_unit}"}
    waiting = world.client.get("/Task?status=requested", headers=bearer)
    assert waiting.status_code == 200
    assert WORDS not in waiting.text and waiting.json().get("total", 0) == 0
    [task] = [e["resource"] for e in owner.json()["entry"] if WORDS in str(e["resource"])]
    direct = world.client.get(f"/Task/{task['id']}", headers=bearer)
    missing = world.client.get(f"/Task/{uuid.uuid4()}", headers=bearer)
    assert direct.status_code == missing.status_code == 404  # hidden answers like missing
    assert _codes(direct.json()) == _codes(missing.json())
    assert WORDS not in direct.text


def _codes(outcome: dict[str, Any]) -> list[str]:
    return [c["code"] for i in outcome["issue"] for c in i["details"]["coding"]]
