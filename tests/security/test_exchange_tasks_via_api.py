"""The exchange's Tasks are written by the exchange only (adapter/sync/exchange_only.py): through
the API nobody — not the plan's owner, not its coordinator — creates, changes or deletes a Task
coded ``ip-exchange`` ``ip-transfer`` / ``ip-transfer-query`` / ``ip-revocation`` or one with an
identifier in the exchange's system (``urn:ietf:rfc:3986``): 409 IP-6117, nothing stored. Settling
and the transfer's answers trust those Tasks as the exchange's own record.

The refusal is judged on what the caller may see: a Task hidden from the caller answers exactly
as a missing one."""

from __future__ import annotations

import copy
import uuid
from typing import Any

import pytest

from ipfhir.mappings.codes import cs_url
from ipfhir.mappings.identifiers import ORGNR_SYSTEM
from tests.security.conftest import ACTORS, PT, SecureWorld, message_ids

JSON = {"Content-Type": "application/fhir+json"}
EXCHANGE = cs_url("ip-exchange")
URI = "urn:ietf:rfc:3986"
REAL = "ip1-overforing"  # the transfer Task the exchange wrote


def _org(actor: str) -> dict[str, Any]:
    return {"identifier": {"system": ORGNR_SYSTEM, "value": ACTORS[actor][0]}}


def _task(code: str, *, identifier: bool = True, **extra: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "resourceType": "Task",
        "status": "in-progress",
        "intent": "proposal",
        "code": {"coding": [{"system": EXCHANGE, "code": code}]},
        "for": {"reference": PT},
        "requester": _org("owner"),
        "owner": _org("outsider"),
        "description": "Overføring av individuell plan til Kárášjohka kommune – Ærøy går videre.",
        **extra,
    }
    if identifier:
        body["identifier"] = [{"system": URI, "value": f"urn:uuid:{uuid.uuid4()}"}]
    return body


@pytest.fixture
def real(world: SecureWorld) -> dict[str, Any]:
    """A transfer Task as the exchange stored it (the requesting side's, under way)."""
    task = {**_task("ip-transfer"), "id": REAL, "focus": {"reference": "CarePlan/ip1-plan"}}
    world.wiring.repository.update("Task", REAL, task)
    return world.wiring.repository.read("Task", REAL)


def _tasks(world: SecureWorld) -> list[dict[str, Any]]:
    from ipfhir.adapter.ports import SearchQuery

    return world.wiring.repository.search(SearchQuery("Task", (), count=100)).matches


def _refused(answer: Any) -> None:
    assert answer.status_code == 409, answer.text
    assert "IP-6117" in message_ids(answer.json()), answer.text


@pytest.mark.parametrize(
    ("code", "identifier"),
    [
        ("ip-transfer", True),
        ("ip-transfer", False),
        ("ip-transfer-query", False),
        ("ip-revocation", False),
        ("ip-notification", True),  # a notification the exchange would find by identifier
        ("annet", True),  # any Task identified in the exchange's system
    ],
)
@pytest.mark.parametrize("actor", ["owner", "coordinator"])
def test_no_api_create_of_an_exchange_task(
    world: SecureWorld, real: dict[str, Any], actor: str, code: str, identifier: bool
) -> None:
    before = len(_tasks(world))
    body = _task(code, identifier=identifier)
    _refused(world.client.post("/Task", json=body, headers={**world.as_(actor), **JSON}))
    fresh = str(uuid.uuid4())  # PUT to a free id: a create
    put = world.client.put(
        f"/Task/{fresh}", json={**body, "id": fresh}, headers={**world.as_(actor), **JSON}
    )
    _refused(put)
    assert len(_tasks(world)) == before


@pytest.mark.parametrize("actor", ["owner", "coordinator"])
def test_the_exchanges_task_is_not_changed_or_deleted_through_the_api(
    world: SecureWorld, real: dict[str, Any], actor: str
) -> None:
    failed = {k: v for k, v in copy.deepcopy(real).items() if k != "meta"}
    failed.update(status="failed", statusReason={"text": "Avsluttet av koordinator"})
    headers = {**world.as_(actor), **JSON}
    _refused(world.client.put(f"/Task/{REAL}", json=failed, headers=headers))
    plain = {k: v for k, v in failed.items() if k not in ("code", "identifier")}
    _refused(world.client.put(f"/Task/{REAL}", json=plain, headers=headers))  # stripped too
    _refused(world.client.delete(f"/Task/{REAL}", headers=headers))
    assert world.wiring.repository.read("Task", REAL) == real


def test_no_exchange_task_in_a_transaction(world: SecureWorld, real: dict[str, Any]) -> None:
    before = len(_tasks(world))
    failed = {k: v for k, v in real.items() if k != "meta"} | {"status": "failed"}
    for entry in (
        {"resource": _task("ip-transfer"), "request": {"method": "POST", "url": "Task"}},
        {"resource": failed, "request": {"method": "PUT", "url": f"Task/{REAL}"}},
        {"request": {"method": "DELETE", "url": f"Task/{REAL}"}},
    ):
        bundle = {"resourceType": "Bundle", "type": "transaction", "entry": [entry]}
        answer = world.client.post("/", json=bundle, headers={**world.as_("owner"), **JSON})
        assert answer.status_code in (400, 409), answer.text
        assert "IP-6117" in answer.text, answer.text
    assert len(_tasks(world)) == before
    assert world.wiring.repository.read("Task", REAL) == real


def test_an_ordinary_task_is_still_written(world: SecureWorld) -> None:
    body = _task("ip-transfer", identifier=False)
    body["code"] = {"text": "Følg opp søknad om støttekontakt"}
    answer = world.client.post("/Task", json=body, headers={**world.as_("owner"), **JSON})
    assert answer.status_code == 201, answer.text


def _shape(answer: Any, rid: str) -> tuple[int, str]:
    return answer.status_code, answer.text.replace(rid, "ID")


@pytest.mark.parametrize("actor", ["outsider", "ex_coordinator", "refused_org"])
def test_a_hidden_exchange_task_answers_like_a_missing_one(
    world: SecureWorld, real: dict[str, Any], actor: str
) -> None:
    """Whatever the caller sends, the exchange's Task it may not see is not there for it: the
    answers at its id and at a free id are the same."""
    # none of these may see the transfer Task: a read that finds it is a finding, not a skip
    seen = world.client.get(f"/Task/{REAL}", headers=world.as_(actor))
    assert seen.status_code == 404, seen.text
    missing = str(uuid.uuid4())
    headers = {**world.as_(actor), **JSON}
    bodies = [
        {k: v for k, v in real.items() if k != "meta"} | {"status": "failed"},
        {k: v for k, v in real.items() if k not in ("meta", "code", "identifier")},
    ]
    for body in bodies:
        hidden = world.client.put(f"/Task/{REAL}", json={**body, "id": REAL}, headers=headers)
        free = world.client.put(f"/Task/{missing}", json={**body, "id": missing}, headers=headers)
        assert _shape(hidden, REAL) == _shape(free, missing)
    hidden = world.client.delete(f"/Task/{REAL}", headers=headers)
    free = world.client.delete(f"/Task/{missing}", headers=headers)
    assert _shape(hidden, REAL) == _shape(free, missing)
    assert world.wiring.repository.read("Task", REAL) == real
