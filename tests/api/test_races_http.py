"""Races over HTTP with 16 concurrent clients, on SQLite and PostgreSQL alike: every answer is a
FHIR answer (never a 5xx), the same counts of each status on both backends, and no store
invariant broken — If-Match updates of one version, opposite-order transactions, conditional
creates, one active plan per person, PUT-creates of one new id."""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from tests.api.conftest import JSON, careplan, create, message_ids, patient

CLIENTS = 16


def _all_at_once(call: Callable[[int], Any]) -> list[Any]:
    start = threading.Barrier(CLIENTS)

    def one(i: int) -> Any:
        start.wait()
        return call(i)

    with ThreadPoolExecutor(CLIENTS) as pool:
        return list(pool.map(one, range(CLIENTS)))


def _statuses(answers: list[Any]) -> Counter[int]:
    return Counter(a.status_code for a in answers)


def _goal(pid: str, text: str, gid: str | None = None) -> dict[str, Any]:
    goal = {
        "resourceType": "Goal",
        "lifecycleStatus": "active",
        "description": {"text": text},
        "subject": {"reference": f"Patient/{pid}"},
    }
    return {**goal, "id": gid} if gid else goal


def test_if_match_updates_of_one_version_let_one_through(client: Any) -> None:
    pid = create(client, patient())["id"]
    gid = create(client, _goal(pid, "Bo hjemme i Kautokeino"))["id"]
    answers = _all_at_once(
        lambda i: client.put(
            f"/Goal/{gid}",
            json=_goal(pid, f"Bo hjemme, forsøk {i}", gid),
            headers={**JSON, "If-Match": 'W/"1"'},
        )
    )
    assert _statuses(answers) == Counter({200: 1, 412: CLIENTS - 1})
    assert {tuple(message_ids(a.json())) for a in answers if a.status_code == 412} == {("IP-4402",)}
    assert client.get(f"/Goal/{gid}").json()["meta"]["versionId"] == "2"


def test_put_creates_of_one_new_id_create_once(client: Any) -> None:
    pid = create(client, patient())["id"]
    answers = _all_at_once(
        lambda i: client.put(
            "/Goal/ny-maal-1", json=_goal(pid, f"Mål {i}", "ny-maal-1"), headers=JSON
        )
    )
    assert _statuses(answers) == Counter({201: 1, 200: CLIENTS - 1})
    versions = sorted(int(a.json()["meta"]["versionId"]) for a in answers)
    assert versions == list(range(1, CLIENTS + 1))


def test_conditional_creates_create_once(client: Any) -> None:
    fnr = patient()["identifier"][0]["value"]
    body = patient(fnr, family="Čuoppa")
    condition = f"identifier=urn:oid:2.16.578.1.12.4.1.4.1|{fnr}"
    answers = _all_at_once(
        lambda i: client.post("/Patient", json=body, headers={**JSON, "If-None-Exist": condition})
    )
    assert _statuses(answers) == Counter({201: 1, 200: CLIENTS - 1})
    assert len({a.json()["id"] for a in answers}) == 1
    found = client.get(f"/Patient?{condition}&_summary=count").json()
    assert found["total"] == 1


def test_one_active_plan_per_person(client: Any) -> None:
    pid = create(client, patient())["id"]
    answers = _all_at_once(lambda i: client.post("/CarePlan", json=careplan(pid), headers=JSON))
    assert _statuses(answers) == Counter({201: 1, 409: CLIENTS - 1})
    assert {tuple(message_ids(a.json())) for a in answers if a.status_code == 409} == {("IP-4401",)}
    assert client.get(f"/CarePlan?patient={pid}&status=active").json()["total"] == 1


def test_opposite_order_transactions_all_commit(client: Any) -> None:
    pid = create(client, patient())["id"]
    ids = ("motsatt-a", "motsatt-b")
    for gid in ids:
        assert client.put(f"/Goal/{gid}", json=_goal(pid, "Start", gid), headers=JSON).status_code

    def bundle(i: int) -> dict[str, Any]:
        order = ids if i % 2 == 0 else ids[::-1]
        entries = [
            {
                "resource": _goal(pid, f"Runde {i}", g),
                "request": {"method": "PUT", "url": f"Goal/{g}"},
            }
            for g in order
        ]
        return {"resourceType": "Bundle", "type": "transaction", "entry": entries}

    answers = _all_at_once(lambda i: client.post("/", json=bundle(i), headers=JSON))
    assert _statuses(answers) == Counter({200: CLIENTS})
    for gid in ids:
        assert client.get(f"/Goal/{gid}").json()["meta"]["versionId"] == str(1 + CLIENTS)
