"""A notification waiting in an inbox is shown to its addressee's coordinating unit
(adapter/consent/inbox.py). Through the API nobody may put one in another organisation's inbox:
that would show the words of the person's plan to an organisation the person's consent does not
name, bypassing the consent check every notification gets when it is sent (``ipfhir notify``,
adapter/sync). Only the exchange itself (``$process-message``) files notifications."""

from __future__ import annotations

from typing import Any

import pytest

from ipfhir.adapter.auth.devkey import mint_token
from ipfhir.adapter.consent.policy import OWNER_ROLE
from ipfhir.mappings.codes import cs_url
from ipfhir.mappings.identifiers import ORGNR_SYSTEM
from tests.security.conftest import ACTORS, PT, SecureWorld, message_ids
from tests.unit.consent.conftest import ORGNR

JSON = {"Content-Type": "application/fhir+json"}


def _notification(owner: str, requester: str) -> dict[str, Any]:
    return {
        "resourceType": "Task",
        "status": "requested",
        "intent": "proposal",
        "code": {"coding": [{"system": cs_url("ip-exchange"), "code": "ip-notification"}]},
        "for": {"reference": PT},
        "owner": {"identifier": {"system": ORGNR_SYSTEM, "value": owner}},
        "requester": {"identifier": {"system": ORGNR_SYSTEM, "value": requester}},
        "description": "Áile har angst og bor på hybel i Kárášjohka – ønsker koordinator.",
    }


def _inbox(world: SecureWorld, orgnr: str) -> list[dict[str, Any]]:
    token = mint_token(world.data, orgnr, roles=(OWNER_ROLE,))
    found = world.client.get("/Task", headers={"Authorization": f"Bearer {token}"})
    assert found.status_code == 200, found.text
    return [e["resource"] for e in found.json().get("entry", [])]


@pytest.mark.parametrize("actor", ["owner", "coordinator", "recipient", "refused_org"])
@pytest.mark.parametrize("requester", ["own", "sykehus"])
def test_no_api_write_puts_a_notification_in_another_inbox(
    world: SecureWorld, actor: str, requester: str
) -> None:
    own = ACTORS[actor][0]
    target = ORGNR["annen"]  # an organisation the person's consent does not name
    body = _notification(target, own if requester == "own" else ORGNR["sykehus"])
    answer = world.client.post("/Task", json=body, headers={**world.as_(actor), **JSON})
    assert answer.status_code in (403, 404), answer.text
    if actor in ("owner", "coordinator"):  # may write Tasks for the person: refused for this
        assert "IP-5113" in message_ids(answer.json()), answer.text
    assert _inbox(world, target) == []


def test_a_notification_to_ones_own_inbox_is_allowed(world: SecureWorld) -> None:
    """The owning municipality may keep a notification addressed to itself (e.g. a notice taken
    by telephone): it reaches nobody new."""
    own = ACTORS["owner"][0]
    body = _notification(own, own)
    answer = world.client.post("/Task", json=body, headers={**world.as_("owner"), **JSON})
    assert answer.status_code == 201, answer.text
