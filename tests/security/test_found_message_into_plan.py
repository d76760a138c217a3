"""A refused party writes into the person's plan through ``$process-message``: NAV Bærum, which
the person refused (a deny naming it), is in the directory and sends the plan's owner a
notification about the person (same fødselsnummer). The receiver files the Task in the
existing person's record (``adapter/sync/inbox.py: _store_notification`` writes through
``repository.writer.create``: none of the consent write checks of ``adapter/consent/writes.py``),
and the enforcement then discloses NAV's Task — its words, and that NAV is dealing with the
person — to the consent's recipients (the hospital physiotherapist, the teacher). What a
refused party sent the coordinating unit must reach the coordinating unit only."""

from __future__ import annotations

import uuid
from typing import Any

from ipfhir.adapter.auth.devkey import mint_token
from ipfhir.adapter.directory import SqlDirectory
from ipfhir.adapter.directory.guard_messages import MESSAGE_SCOPE
from ipfhir.adapter.sync.messaging import Party, code, message_bundle
from ipfhir.mappings.identifiers import FNR_SYSTEM
from tests.api.notify_world import load_directory
from tests.security.conftest import ACTORS, SecureWorld

BASE = "http://127.0.0.1:8080"  # the dev server's own base
NAV_BASE = "http://127.0.0.1:18083"
WORDS = "Melding fra NAV Bærum: økonomisk sosialhjelp, oppfølging i Kárášjohka"


def _notification(world: SecureWorld) -> dict[str, Any]:
    fnr = world.wiring.repository.read("Patient", "ip1-pt")["identifier"][0]["value"]
    nav = Party(ACTORS["refused_org"][0], "NAV Bærum", NAV_BASE)
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
        "requester": nav.reference(),
        "owner": owner.reference(),
        "description": WORDS,
    }
    return message_bundle(
        message_id=str(uuid.uuid4()),
        event="ip-notification",
        source=nav,
        destination=owner,
        timestamp="2026-12-01T14:00:00Z",
        resources=[task, patient],
    )


def test_a_refused_partys_notification_is_not_shown_to_the_plans_recipients(
    world: SecureWorld,
) -> None:
    nav_orgnr = ACTORS["refused_org"][0]
    load_directory(SqlDirectory(world.wiring.engine), {nav_orgnr: NAV_BASE})
    token = mint_token(world.data, nav_orgnr, scopes=(MESSAGE_SCOPE,))
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/fhir+json"}
    sent = world.client.post("/$process-message", json=_notification(world), headers=headers)
    assert sent.status_code == 200, sent.text
    owner = world.client.get("/Task?_count=50", headers=world.as_("owner")).json()
    assert WORDS in str(owner)  # the addressee has it
    for actor in ("recipient", "teacher"):
        found = world.client.get("/Task?_count=50", headers=world.as_(actor))
        assert found.status_code == 200
        assert WORDS not in found.text, actor
        everything = world.client.get("/CarePlan/ip1/$everything", headers=world.as_(actor))
        assert WORDS not in everything.text, actor
