"""Task and Provenance are the person's data: a Task belongs to the person in ``Task.for``, a
Provenance to the Patient among its targets (the R4 Patient compartment), whose other targets
must be that person's own resources. They are read and written under the same rules as the
rest of the plan (before, they belonged to no one: even the owner got 404, anyone could write)."""

from __future__ import annotations

from typing import Any

import pytest

from tests.security.conftest import PT, SecureWorld, message_ids
from tests.unit.consent.builders import TOPIC

JSON_BODY = {"Content-Type": "application/fhir+json"}


def _task(topic: str | None = None, **extra: Any) -> dict[str, Any]:
    task: dict[str, Any] = {
        "resourceType": "Task",
        "status": "requested",
        "intent": "order",
        "description": "Ring Kåre om møtet på Høvik skole",
        "for": {"reference": PT},
        "basedOn": [{"reference": "CarePlan/ip1"}],
        **extra,
    }
    if topic:
        task["meta"] = {"security": [{"system": TOPIC, "code": topic}]}
    return task


def _provenance(*targets: str) -> dict[str, Any]:
    return {
        "resourceType": "Provenance",
        "target": [{"reference": t} for t in targets],
        "recorded": "2026-05-02T09:30:00+02:00",
        "agent": [{"who": {"reference": "Organization/ip1-kommune"}}],
    }


def _post(world: SecureWorld, actor: str, body: dict[str, Any]) -> Any:
    return world.client.post(
        f"/{body['resourceType']}", json=body, headers={**world.as_(actor), **JSON_BODY}
    )


def _status(world: SecureWorld, actor: str, path: str) -> int:
    return world.client.get(path, headers=world.as_(actor)).status_code


def test_a_task_is_read_under_the_persons_consent(world: SecureWorld) -> None:
    open_task = _post(world, "owner", _task())
    assert open_task.status_code == 201, open_task.text
    on_rus = _post(world, "owner", _task("rus"))
    assert on_rus.status_code == 201, on_rus.text
    path, rus_path = f"/Task/{open_task.json()['id']}", f"/Task/{on_rus.json()['id']}"
    seen = {
        actor: (_status(world, actor, path), _status(world, actor, rus_path))
        for actor in ("owner", "coordinator", "recipient", "teacher", "outsider", "refused_org")
    }
    assert seen == {
        "owner": (200, 200),
        "coordinator": (200, 200),
        "recipient": (200, 404),
        "teacher": (200, 404),
        "outsider": (404, 404),
        "refused_org": (404, 404),
    }
    found = world.client.get(f"/Task?patient={PT}", headers=world.as_("recipient")).json()
    assert [e["resource"]["id"] for e in found.get("entry", [])] == [open_task.json()["id"]]


@pytest.mark.parametrize("actor", ["outsider", "refused_org", "refused_individual"])
def test_only_the_care_team_writes_a_task(world: SecureWorld, actor: str) -> None:
    refused = _post(world, actor, _task())
    assert refused.status_code == 403, refused.text
    assert message_ids(refused.json())[0] in ("IP-5101", "IP-5105")


def test_a_task_for_nobody_is_refused(world: SecureWorld) -> None:
    task = _task()
    del task["for"]
    refused = _post(world, "owner", task)
    assert refused.status_code == 403 and message_ids(refused.json()) == ["IP-5106"]


def test_a_provenance_belongs_to_the_person_it_targets(world: SecureWorld) -> None:
    made = _post(world, "owner", _provenance("Goal/ip1-g1/_history/1", PT))
    assert made.status_code == 201, made.text
    path = f"/Provenance/{made.json()['id']}"
    assert _status(world, "owner", path) == 200
    assert _status(world, "outsider", path) == 404
    assert _post(world, "outsider", _provenance("Goal/ip1-g1", PT)).status_code == 403


def test_a_provenance_targets_only_its_persons_data(world: SecureWorld) -> None:
    """A target that does not exist and one of another person are refused alike."""
    other = {**_task(), "for": {"reference": "Patient/ip2-pt"}}
    foreign = _post(world, "owner", other)  # a person without a plan: anyone may start one
    assert foreign.status_code == 201, foreign.text
    answers = []
    for target in (f"Task/{foreign.json()['id']}", "Task/finnes-ikke"):
        r = _post(world, "owner", _provenance(target, PT))
        assert r.status_code == 400 and message_ids(r.json()) == ["IP-4140"], r.text
        answers.append(r.json()["issue"][0]["details"]["text"].replace(target, "{ref}"))
    assert answers[0] == answers[1]
    two = _post(world, "owner", _provenance(PT, "Patient/ip2-pt"))
    assert two.status_code == 403 and message_ids(two.json()) == ["IP-5106"]


def _body_of(world: SecureWorld, actor: str, path: str) -> str:
    got = world.client.get(path, headers=world.as_(actor))
    assert got.status_code == 200, got.text
    return got.text


@pytest.mark.parametrize("fmt", ["json", "xml"])
def test_task_and_provenance_never_show_a_goal_the_caller_may_not_see(
    world: SecureWorld, fmt: str
) -> None:
    """Goal ip1-g2 is on the refused topic «rus»: a recipient shown the Task and the
    Provenance that point at it must not learn its id (references to hidden goals are
    removed, as from the CarePlan), the owner sees them all; searches and $everything too."""
    task = _post(
        world,
        "owner",
        _task(
            focus={"reference": "Goal/ip1-g2"},
            basedOn=[{"reference": "CarePlan/ip1"}, {"reference": "Goal/ip1-g2"}],
            input=[
                {"type": {"text": "mål"}, "valueReference": {"reference": "Goal/ip1-g2"}},
                {"type": {"text": "mål"}, "valueReference": {"reference": "Goal/ip1-g1"}},
            ],
        ),
    )
    assert task.status_code == 201, task.text
    prov = _post(world, "owner", _provenance("Goal/ip1-g2/_history/1", "Goal/ip1-g1", PT))
    assert prov.status_code == 201, prov.text
    prov_body = {**prov.json()}
    prov_body["entity"] = [{"role": "source", "what": {"reference": "Goal/ip1-g2"}}]
    stored = world.client.put(
        f"/Provenance/{prov_body['id']}",
        json=prov_body,
        headers={**world.as_("owner"), **JSON_BODY},
    )
    assert stored.status_code == 200, stored.text
    accept = {"Accept": "application/fhir+xml"} if fmt == "xml" else {}
    paths = [
        f"/Task/{task.json()['id']}",
        f"/Provenance/{prov_body['id']}",
        f"/Task?patient={PT}",
        f"/Provenance?patient={PT}",
        "/CarePlan/ip1/$everything",
    ]
    for path in paths:
        got = world.client.get(path, headers={**world.as_("recipient"), **accept})
        assert got.status_code == 200, (path, got.text)
        assert "ip1-g2" not in got.text, (path, got.text)
        assert "REDACTED" in got.text, path
    for path in paths[:2]:
        assert "ip1-g2" in _body_of(world, "owner", path)
    seen = world.client.get(paths[0], headers=world.as_("recipient")).json()
    assert seen["input"] == [task.json()["input"][1]]
    assert seen["basedOn"] == [{"reference": "CarePlan/ip1"}] and "focus" not in seen
    seen = world.client.get(paths[1], headers=world.as_("recipient")).json()
    assert seen["target"] == [{"reference": "Goal/ip1-g1"}, {"reference": PT}]
    assert "entity" not in seen
