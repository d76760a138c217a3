"""``POST [base]/$process-message`` on the receiving coordinating unit (``build_app``, dev key):
only a directory-known sender whose MessageHeader.source is its directory endpoint reaches the
store; a message is carried out once per sender and message id (a duplicate gets the original
answer); a broken message is answered fatal-error with an OperationOutcome."""

from __future__ import annotations

import datetime as dt
import json
import random
import uuid
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine

from ipfhir.adapter.auth.devkey import mint_token
from ipfhir.adapter.bootstrap import Wiring, build_app, build_wiring
from ipfhir.adapter.consent.policy import OWNER_ROLE
from ipfhir.adapter.directory import SqlDirectory
from ipfhir.adapter.directory.guard_messages import MESSAGE_SCOPE
from ipfhir.adapter.ports import SearchParam, SearchQuery
from ipfhir.adapter.settings import Settings
from ipfhir.adapter.sync.messaging import Party, code, message_bundle
from ipfhir.mappings.identifiers import synthetic_fnr
from tests.api.notify_world import HOSPITAL, KE, ORGNR, load_directory

with warnings.catch_warnings():
    warnings.filterwarnings("ignore", message="Using `httpx` with")
    from fastapi.testclient import TestClient

BASE = "http://127.0.0.1:8080"  # the dev server's own base (host and port of Settings)
H_BASE = "http://127.0.0.1:18081"
H = Party(HOSPITAL, "UNN HF – Sámi klinihkka", H_BASE)
M = Party(KE, "Romsa suohkan – koordinerende enhet", BASE)
FNR = synthetic_fnr(dt.date(1990, 5, 17), random.Random(3))  # synthetic person


@dataclass
class Receiving:
    client: TestClient
    wiring: Wiring
    data: Path

    def auth(self, orgnr: str) -> dict[str, str]:
        token = mint_token(self.data, orgnr, scopes=(MESSAGE_SCOPE,))
        return {"Authorization": f"Bearer {token}", "Content-Type": "application/fhir+json"}

    def post(self, body: Any, orgnr: str = HOSPITAL) -> Any:
        return self.client.post("/$process-message", json=body, headers=self.auth(orgnr))

    def tasks(self, **params: str) -> list[dict[str, Any]]:
        query = SearchQuery(
            "Task", tuple(SearchParam(k, (v,)) for k, v in params.items()), count=50
        )
        return self.wiring.repository.search(query).matches


@pytest.fixture
def ke(engine: Engine, tmp_path: Path) -> Iterator[Receiving]:
    settings = Settings(data_dir=tmp_path, dev_mode=True)
    wiring = build_wiring(settings, engine=engine, run_migrations=False)
    load_directory(SqlDirectory(engine), {HOSPITAL: H_BASE, ORGNR["nav"]: "http://127.0.0.1:18083"})
    with TestClient(build_app(settings, wiring)) as client:
        yield Receiving(client, wiring, tmp_path)


def notification(source: Party = H, destination: Party = M, **task_extra: Any) -> dict[str, Any]:
    pid, tid = str(uuid.uuid4()), str(uuid.uuid4())
    patient = {
        "resourceType": "Patient",
        "id": pid,
        "identifier": [{"system": "urn:oid:2.16.578.1.12.4.1.4.1", "value": FNR}],
        "name": [{"family": "Nilsen Guttorm", "given": ["Áile"]}],
    }
    task = {
        "resourceType": "Task",
        "id": tid,
        "identifier": [{"system": "urn:ietf:rfc:3986", "value": f"urn:uuid:{tid}"}],
        "status": "requested",
        "intent": "proposal",
        "code": code("ip-notification"),
        "for": {"reference": f"urn:uuid:{pid}"},
        "requester": H.reference(),
        "owner": destination.reference(),
        "reasonCode": {"text": "Hjerneslag; trenger koordinator før utskriving"},
        **task_extra,
    }
    return message_bundle(
        message_id=str(uuid.uuid4()),
        event="ip-notification",
        source=source,
        destination=destination,
        timestamp="2026-12-01T14:00:00Z",
        resources=[task, patient],
    )


def _response(answer: Any) -> dict[str, Any]:
    header = answer.json()["entry"][0]["resource"]
    return dict(header["response"])


def _ids(answer: Any) -> list[str]:
    outcome = answer.json()
    if outcome["resourceType"] == "Bundle":
        outcome = outcome["entry"][1]["resource"]
    return [c["code"] for i in outcome["issue"] for c in i["details"]["coding"]]


def test_notification_lands_in_the_inbox_once(ke: Receiving) -> None:
    message = notification()
    first = ke.post(message)
    assert first.status_code == 200, first.text
    assert _response(first) == {"identifier": message["id"], "code": "ok"}
    again = ke.post(message)
    assert again.json() == first.json()  # the original answer, word for word
    [task] = ke.tasks(status="requested")
    assert task["owner"]["identifier"]["value"] == KE
    assert ke.tasks(owner=task["owner"]["reference"], status="requested") == [task]
    assert task["requester"]["display"] == "UNN HF – Sámi klinihkka"  # from the directory
    events = ke.wiring.repository.search(SearchQuery("AuditEvent", count=50)).matches
    written = [
        e
        for e in events
        if {"reference": f"Task/{task['id']}/_history/1"} in [x["what"] for x in e["entity"]]
    ]
    assert [e["agent"][0]["who"]["identifier"]["value"] for e in written] == [HOSPITAL]
    assert written[0]["entity"][0]["what"]["identifier"]["value"] == FNR
    patient = ke.wiring.repository.read(*task["for"]["reference"].split("/"))
    assert patient["name"][0]["given"] == ["Áile"]
    # a second notification for the same person reuses the Patient
    assert ke.post(notification()).status_code == 200
    tasks = ke.tasks(status="requested")
    assert len(tasks) == 2 and len({t["for"]["reference"] for t in tasks}) == 1


def test_only_a_directory_sender_at_its_own_endpoint_reaches_the_store(ke: Receiving) -> None:
    message = notification()
    stranger = ke.post(message, orgnr=ORGNR["annen"])  # authenticated, not in the directory
    assert stranger.status_code == 403 and _ids(stranger) == ["IP-6070"]
    other = ke.post(message, orgnr=ORGNR["nav"])  # in the directory, but not the source
    assert other.status_code == 403 and _ids(other) == ["IP-6072"]
    anonymous = ke.client.post("/$process-message", json=message)
    assert anonymous.status_code == 401
    assert ke.tasks() == []
    # the refusals recorded nothing: the real sender's message is still carried out
    assert _response(ke.post(message))["code"] == "ok"


def test_another_senders_message_id_is_another_message(ke: Receiving) -> None:
    message = notification()
    assert _response(ke.post(message))["code"] == "ok"
    nav = Party(ORGNR["nav"], "NAV", "http://127.0.0.1:18083")
    forged = notification(source=nav)
    forged["id"] = forged["entry"][0]["resource"]["id"] = message["id"]
    answer = ke.post(forged, orgnr=ORGNR["nav"])
    # NAV is not the requester its Task names: refused, and it never saw H's answer
    assert _response(answer)["code"] == "fatal-error" and _ids(answer) == ["IP-6075"]
    assert len(ke.tasks()) == 1


@pytest.mark.parametrize(
    ("breakage", "message_id"),
    [
        ("wrong destination", "IP-6073"),
        ("unknown event", "IP-6074"),
        ("no Task in focus", "IP-6071"),
        ("Task for another owner", "IP-6075"),
        ("Task already accepted", "IP-6075"),
    ],
)
def test_a_broken_message_is_answered_fatal_error(
    ke: Receiving, breakage: str, message_id: str
) -> None:
    message = notification()
    header = message["entry"][0]["resource"]
    if breakage == "wrong destination":
        header["destination"][0]["endpoint"] = "http://127.0.0.1:9/$process-message"
    elif breakage == "unknown event":
        header["eventCoding"]["code"] = "ip-ukjent-hendelse"  # ip-transfer is processed now
    elif breakage == "no Task in focus":
        header["focus"] = [{"reference": message["entry"][2]["fullUrl"]}]
    elif breakage == "Task for another owner":
        message["entry"][1]["resource"]["owner"] = H.reference()
    else:
        message["entry"][1]["resource"]["status"] = "accepted"
    answer = ke.post(message)
    assert answer.status_code == 200
    assert _response(answer)["code"] == "fatal-error" and _ids(answer) == [message_id], breakage
    assert ke.post(message).json() == answer.json()
    assert ke.tasks() == []


def test_a_body_without_a_message_is_400(ke: Receiving) -> None:
    answer = ke.post({"resourceType": "Bundle", "type": "collection", "entry": []})
    assert answer.status_code == 400 and _ids(answer) == ["IP-6071"]
    assert ke.post({"resourceType": "Patient"}).status_code == 400


def test_simultaneous_duplicates_store_one_task(ke: Receiving) -> None:
    """Two workers (or a retry racing a slow first attempt) deliver the same message at once:
    one transaction wins, the other rolls back and answers with the winner's answer."""
    import threading

    receiver = ke.client.app.state.message_receiver  # type: ignore[attr-defined]
    message = notification()
    answers: list[Any] = []
    start = threading.Barrier(4)

    def deliver() -> None:
        start.wait()
        answers.append(receiver.process(HOSPITAL, message))

    threads = [threading.Thread(target=deliver) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(answers) == 4 and len({json.dumps(a, sort_keys=True) for a in answers}) == 1
    assert answers[0][1]["entry"][0]["resource"]["response"]["code"] == "ok"
    assert len(ke.tasks()) == 1


def _answer(task: dict[str, Any], status: str, by: Party, to: Party = H) -> dict[str, Any]:
    answer = {
        "resourceType": "Task",
        "id": str(uuid.uuid4()),
        "identifier": task["identifier"],
        "status": status,
        "intent": "proposal",
        "code": code("ip-notification"),
        "requester": to.reference(),
        "owner": by.reference(),
        "output": [{"type": code("decline-reason"), "valueString": "Personen bor i Kárášjohka"}],
    }
    return message_bundle(
        message_id=str(uuid.uuid4()),
        event="ip-notification-response",
        source=by,
        destination=to,
        timestamp="2026-12-01T15:00:00Z",
        resources=[answer],
    )


def test_only_the_notified_organisation_answers_a_notification(ke: Receiving) -> None:
    """Here the receiving server plays the hospital: it holds a notification it sent to NAV."""
    nav = Party(ORGNR["nav"], "NAV", "http://127.0.0.1:18083")
    here = Party(HOSPITAL, "UNN HF – Sámi klinihkka", BASE)
    tid = str(uuid.uuid4())
    sent = {
        "resourceType": "Task",
        "identifier": [{"system": "urn:ietf:rfc:3986", "value": f"urn:uuid:{tid}"}],
        "status": "requested",
        "intent": "proposal",
        "code": code("ip-notification"),
        "owner": nav.reference(),
        "requester": here.reference(),
    }
    ke.wiring.repository.update("Task", tid, sent)
    h_answer = ke.post(_answer(sent, "accepted", H, here))  # H was not asked
    assert _response(h_answer)["code"] == "fatal-error" and _ids(h_answer) == ["IP-6076"]
    assert ke.wiring.repository.read("Task", tid)["status"] == "requested"
    declined = ke.post(_answer(sent, "rejected", nav, here), orgnr=ORGNR["nav"])
    assert _response(declined)["code"] == "ok", declined.text
    stored = ke.wiring.repository.read("Task", tid)
    assert stored["status"] == "rejected"
    assert stored["output"][0]["valueString"] == "Personen bor i Kárášjohka"
    # changing its mind afterwards is refused; the same answer again is harmless
    late = ke.post(_answer(sent, "accepted", nav, here), orgnr=ORGNR["nav"])
    assert _response(late)["code"] == "fatal-error" and _ids(late) == ["IP-6075"]
    assert (
        _response(ke.post(_answer(sent, "rejected", nav, here), orgnr=ORGNR["nav"]))["code"] == "ok"
    )


def _mangle(message: dict[str, Any], path: tuple[Any, ...], value: Any) -> dict[str, Any]:
    target: Any = message
    for step in path[:-1]:
        target = target[step]
    target[path[-1]] = value
    return message


TASK = ("entry", 1, "resource")
HOSTILE = [
    ("entry", "not a list"),
    ("entry", [None, 7, "x"]),
    (("entry", 0, "resource", "id"), "x" * 65),
    (("entry", 0, "resource", "eventCoding"), ["ip-notification"]),
    (("entry", 0, "resource", "focus"), "urn:uuid:x"),
    (("entry", 0, "resource", "destination"), {"endpoint": 5}),
    ((*TASK, "code"), ["ip-notification"]),
    ((*TASK, "for"), "Patient/x"),
    ((*TASK, "owner"), [KE]),
    ((*TASK, "identifier"), {"value": 1}),
    ((*TASK, "input"), "Øvrige tjenester"),
    ((*TASK, "status"), None),
    ((*TASK, "authoredOn"), "i går"),  # the profile validator refuses the Task
    (("entry", 2, "resource", "identifier"), [None, "17059012345"]),
]


@pytest.mark.parametrize(("path", "value"), HOSTILE, ids=[str(h[0]) for h in HOSTILE])
def test_hostile_messages_get_an_answer_never_a_crash(ke: Receiving, path: Any, value: Any) -> None:
    message = _mangle(notification(), path if isinstance(path, tuple) else (path,), value)
    answer = ke.post(message)
    assert answer.status_code in (200, 400), answer.text
    ids = _ids(answer)
    assert ids and all(i.startswith(("IP-60", "IP-45", "IP-3", "IP-2")) for i in ids), ids
    if answer.status_code == 200:
        assert _response(answer)["code"] == "fatal-error"
    assert ke.tasks() == []


def _inbox(ke: Receiving, owner: str, roles: tuple[str, ...]) -> list[str]:
    token = mint_token(ke.data, KE, scopes=("system/*.rs",), roles=roles)
    headers = {"Authorization": f"Bearer {token}"}
    found = ke.client.get(f"/Task?owner={owner}&status=requested", headers=headers)
    assert found.status_code == 200
    return [e["resource"]["id"] for e in found.json().get("entry", [])]


def test_the_coordinating_unit_finds_its_inbox_through_the_api(ke: Receiving) -> None:
    assert _response(ke.post(notification()))["code"] == "ok"
    [task] = ke.tasks()
    assert _inbox(ke, task["owner"]["reference"], (OWNER_ROLE,)) == [task["id"]]


def test_the_rest_of_the_receiving_organisation_does_not_see_its_inbox(ke: Receiving) -> None:
    assert _response(ke.post(notification()))["code"] == "ok"
    [task] = ke.tasks()
    assert _inbox(ke, task["owner"]["reference"], ()) == []


def test_once_the_directory_names_this_adapters_organisations_only_they_receive(
    ke: Receiving,
) -> None:
    load_directory(SqlDirectory(ke.wiring.engine), {KE: BASE})  # this adapter serves KE
    stranger = Party(ORGNR["annen"], "Guovdageainnu suohkan", BASE)
    refused = ke.post(notification(destination=stranger))
    assert _response(refused)["code"] == "fatal-error" and _ids(refused) == ["IP-6077"]
    assert ke.tasks() == []
    assert _response(ke.post(notification()))["code"] == "ok"
    assert [t["owner"]["identifier"]["value"] for t in ke.tasks()] == [KE]


def test_a_message_refused_as_it_stands_is_audited_with_its_sender(ke: Receiving) -> None:
    refused = ke.post(notification(status="accepted"))  # a notification is status requested
    assert _response(refused)["code"] == "fatal-error"
    events = ke.wiring.repository.search(SearchQuery("AuditEvent", count=50)).matches
    mine = [
        e
        for e in events
        if e["outcome"] == "4"
        and any(a["who"].get("identifier", {}).get("value") == HOSPITAL for a in e["agent"])
    ]
    assert len(mine) == 1 and "IP-6075" in mine[0]["outcomeDesc"], events
