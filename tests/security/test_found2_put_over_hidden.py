"""Failing reproduction: a PUT to the id of a notification hidden from the caller (waiting in
another organisation's inbox, sent by an organisation that does not own the plan) answers 409
IP-4404 «changed concurrently», where a PUT to an id that does not exist creates (201). The
plan's owner and coordinator learn that a notification about the person waits in someone
else's inbox, under that id; hidden must answer exactly like missing (docs/threat-model.md).
At fault: the update path (adapter/consent/writes.py ``check_write`` with ``old`` hidden → the
store's create-only fallback, adapter/store/writes.py)."""

from __future__ import annotations

from typing import Any

from ipfhir.mappings.codes import cs_url
from ipfhir.mappings.identifiers import ORGNR_SYSTEM
from tests.security.conftest import ACTORS, SecureWorld

JSON = {"Content-Type": "application/fhir+json"}


def _task(tid: str, owner: str, requester: str, status: str) -> dict[str, Any]:
    return {
        "resourceType": "Task",
        "id": tid,
        "status": status,
        "intent": "order",
        "code": {"coding": [{"system": cs_url("ip-exchange"), "code": "ip-notification"}]},
        "for": {"reference": "Patient/ip1-pt"},
        "owner": {"identifier": {"system": ORGNR_SYSTEM, "value": ACTORS[owner][0]}},
        "requester": {"identifier": {"system": ORGNR_SYSTEM, "value": ACTORS[requester][0]}},
        "description": "Søknad om støttekontakt for Ørjan Áile",
    }


def test_a_put_over_a_hidden_notification_answers_like_a_put_to_a_missing_id(
    world: SecureWorld,
) -> None:
    hidden = _task("t-innboks", "recipient", "refused_org", "requested")
    world.wiring.repository.update("Task", "t-innboks", hidden)
    for who in ("owner", "coordinator"):
        headers = {**world.as_(who), **JSON}
        assert world.client.get("/Task/t-innboks", headers=headers).status_code == 404
        missing = world.client.put(
            f"/Task/t-ny-{who}",
            json=_task(f"t-ny-{who}", "owner", "owner", "in-progress"),
            headers=headers,
        )
        over = world.client.put(
            "/Task/t-innboks",
            json=_task("t-innboks", "owner", "owner", "in-progress"),
            headers=headers,
        )
        assert missing.status_code == 201, missing.text
        assert over.status_code == missing.status_code, (who, over.status_code, over.text)
