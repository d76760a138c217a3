"""Revocation notices on the receiver (``POST [base]/$process-message``, event ip-revocation):
what the sender sent here under the consent is sealed — answered exactly as missing to
everyone, its coordinating unit included, in reads, searches, counts and history — once per
message id; only the organisation that sent it (the verified token's, never the message's)
can seal it: any other is refused with IP-6101/6102 and changes nothing."""

from __future__ import annotations

import json
import uuid
from typing import Any

import pytest

from ipfhir.adapter.auth.devkey import mint_token
from ipfhir.adapter.consent.policy import OWNER_ROLE
from ipfhir.adapter.directory import SqlDirectory
from ipfhir.adapter.ports import SearchQuery
from ipfhir.adapter.services.notify import respond
from ipfhir.adapter.sync.messages import NotifyRefused
from ipfhir.adapter.sync.messaging import Party, message_bundle
from ipfhir.adapter.sync.revocation import MAX_ITEMS, revocation_task
from ipfhir.mappings.codes import cs_url
from tests.api.notify_world import KE, ORGNR
from tests.api.test_process_message import FNR, H, M, Receiving, ke, notification

__all__ = ["ke"]  # the receiving coordinating unit (fixture)
NAV = Party(ORGNR["nav"], "NAV Tromsø", "http://127.0.0.1:18083")


def revocation(
    identifiers: list[str], source: Party = H, requester: Party | None = None
) -> dict[str, Any]:
    task = revocation_task(
        str(uuid.uuid4()), requester or source, M, identifiers, "withdrawn", "2026-12-01T15:00:00Z"
    )
    return message_bundle(
        message_id=str(uuid.uuid4()),
        event="ip-revocation",
        source=source,
        destination=M,
        timestamp="2026-12-01T15:00:00Z",
        resources=[task],
    )


def _identifier(message: dict[str, Any]) -> str:
    return str(message["entry"][1]["resource"]["identifier"][0]["value"])


def _response(answer: Any) -> dict[str, Any]:
    return dict(answer.json()["entry"][0]["resource"]["response"])


def _ids(answer: Any) -> list[str]:
    outcome = answer.json()["entry"][1]["resource"]
    return [c["code"] for i in outcome["issue"] for c in i["details"]["coding"]]


def _get(ke: Receiving, path: str) -> Any:
    token = mint_token(ke.data, KE, scopes=("system/*.rs",), roles=(OWNER_ROLE,))
    return ke.client.get(path, headers={"Authorization": f"Bearer {token}"})


def _as_missing(ke: Receiving, rtype: str, rid: str, suffix: str = "") -> None:
    """``GET rtype/rid{suffix}`` answers exactly as for an id that never existed."""
    other = str(uuid.uuid4())
    hidden, never = _get(ke, f"/{rtype}/{rid}{suffix}"), _get(ke, f"/{rtype}/{other}{suffix}")
    assert (hidden.status_code, never.status_code) == (404, 404)
    assert hidden.text.replace(rid, other) == never.text
    assert dict(hidden.headers).keys() == dict(never.headers).keys()


def _received(ke: Receiving) -> tuple[dict[str, Any], dict[str, Any]]:
    message = notification()
    assert _response(ke.post(message))["code"] == "ok"
    [task] = ke.tasks(identifier=f"urn:ietf:rfc:3986|{_identifier(message)}")
    return message, task


def test_a_revocation_seals_what_the_sender_sent_as_if_it_never_came(ke: Receiving) -> None:
    message, task = _received(ke)
    patient_id = task["for"]["reference"].split("/")[1]
    assert _get(ke, f"/Task/{task['id']}").status_code == 200  # the KE sees its inbox
    answer = ke.post(revocation([_identifier(message)]))
    assert _response(answer)["code"] == "ok", answer.text
    _as_missing(ke, "Task", task["id"])
    _as_missing(ke, "Task", task["id"], "/_history")
    _as_missing(ke, "Task", task["id"], "/_history/1")
    # the person came with it and nothing else holds them: sealed too
    assert ke.wiring.repository.read("Patient", patient_id)["meta"]["security"][-1]["code"] == (
        "consent-revoked"
    )
    _as_missing(ke, "Patient", patient_id)
    owner = task["owner"]["reference"]
    found = _get(ke, f"/Task?owner={owner}&status=requested").json()
    assert found.get("entry", []) == []
    assert _get(ke, "/Task?_summary=count").json()["total"] == 0
    assert (
        _get(ke, f"/Task?patient=Patient/{patient_id}&_include=Task:patient")
        .json()
        .get("entry", [])
        == []
    )
    history = _get(ke, "/Task/_history").json()
    assert task["id"] not in json.dumps(history)
    # what stays in the store (for the audit) is no longer waiting: nobody can answer it
    stored = ke.wiring.repository.read("Task", task["id"])
    assert stored["status"] == "cancelled"
    directory = SqlDirectory(ke.wiring.engine)
    try:
        respond(ke.wiring, directory, responder=M, task_id=task["id"], accept=True)
    except NotifyRefused as err:
        assert [i.message_id for i in err.issues] == ["IP-6054"]
    else:
        raise AssertionError("a sealed notification was answered")


def test_a_duplicate_revocation_gets_the_original_answer_and_changes_nothing(
    ke: Receiving,
) -> None:
    message, task = _received(ke)
    notice = revocation([_identifier(message)])
    first = ke.post(notice)
    version = ke.wiring.repository.read("Task", task["id"])["meta"]["versionId"]
    again = ke.post(notice)
    assert again.json() == first.json()
    assert ke.wiring.repository.read("Task", task["id"])["meta"]["versionId"] == version
    # a second revocation (another message id) of the same finds it sealed already
    assert _response(ke.post(revocation([_identifier(message)])))["code"] == "ok"
    assert ke.wiring.repository.read("Task", task["id"])["meta"]["versionId"] == version


def test_a_third_organisation_cannot_revoke_what_another_sent(ke: Receiving) -> None:
    message, task = _received(ke)
    before = ke.wiring.repository.read("Task", task["id"])
    forged = revocation([_identifier(message)], source=NAV)
    answer = ke.post(forged, orgnr=NAV.orgnr)
    assert _response(answer)["code"] == "fatal-error" and _ids(answer) == ["IP-6101"]
    # the same answer as for an identifier nobody ever sent: nothing learned of the Task
    nothing = ke.post(revocation([f"urn:uuid:{uuid.uuid4()}"], source=NAV), orgnr=NAV.orgnr)
    assert _ids(nothing) == ["IP-6101"]
    # naming the real sender in the message does not make it the sender
    posing = ke.post(revocation([_identifier(message)], NAV, requester=H), orgnr=NAV.orgnr)
    assert _response(posing)["code"] == "fatal-error" and _ids(posing) == ["IP-6102"]
    assert ke.wiring.repository.read("Task", task["id"]) == before
    assert _get(ke, f"/Task/{task['id']}").status_code == 200
    events = ke.wiring.repository.search(SearchQuery("AuditEvent", count=200)).matches
    refused = [e for e in events if "IP-6101" in e.get("outcomeDesc", "")]
    assert refused and refused[0]["agent"][0]["who"]["identifier"]["value"] == NAV.orgnr


def test_the_sender_seals_only_its_own_of_several(ke: Receiving) -> None:
    mine, task = _received(ke)
    theirs = notification(source=NAV)
    theirs["entry"][1]["resource"]["requester"] = NAV.reference()
    assert _response(ke.post(theirs, orgnr=NAV.orgnr))["code"] == "ok"
    [other] = ke.tasks(identifier=f"urn:ietf:rfc:3986|{_identifier(theirs)}")
    answer = ke.post(revocation([_identifier(mine), _identifier(theirs)]))
    assert _response(answer)["code"] == "ok"
    _as_missing(ke, "Task", task["id"])
    assert _get(ke, f"/Task/{other['id']}").status_code == 200
    # the person stays: another organisation's notification still holds them
    patient = ke.wiring.repository.read(*other["for"]["reference"].split("/"))
    assert "security" not in patient.get("meta", {})


def test_a_broken_revocation_is_refused_whole(ke: Receiving) -> None:
    message, task = _received(ke)
    notice = revocation([_identifier(message)])
    notice["entry"][1]["resource"]["input"].append(
        {"type": notice["entry"][1]["resource"]["input"][0]["type"], "valueString": "Task/1"}
    )
    answer = ke.post(notice)
    assert _response(answer)["code"] == "fatal-error" and _ids(answer) == ["IP-6102"]
    assert _get(ke, f"/Task/{task['id']}").status_code == 200


def test_a_revocation_naming_nothing_is_recorded_and_answered_ok(ke: Receiving) -> None:
    answer = ke.post(revocation([]))
    assert _response(answer)["code"] == "ok"


def test_a_later_notification_files_the_person_anew(ke: Receiving) -> None:
    message, task = _received(ke)
    assert _response(ke.post(revocation([_identifier(message)])))["code"] == "ok"
    again = notification()
    assert _response(ke.post(again))["code"] == "ok"
    [fresh] = ke.tasks(identifier=f"urn:ietf:rfc:3986|{_identifier(again)}")
    assert fresh["for"]["reference"] != task["for"]["reference"]
    assert _get(ke, f"/Task/{fresh['id']}").status_code == 200
    patient = ke.wiring.repository.read(*fresh["for"]["reference"].split("/"))
    assert "security" not in patient.get("meta", {})
    _as_missing(ke, "Task", task["id"])


def test_nobody_writes_the_seal_through_the_api_or_a_message(ke: Receiving) -> None:
    """The label would hide a plan from everyone for good (an undeletable CarePlan, in
    effect deleted): only a revocation notice sets it."""
    token = mint_token(ke.data, KE, scopes=("system/*.cruds",), roles=(OWNER_ROLE,))
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/fhir+json"}
    sealed = {"system": cs_url("ip-exchange"), "code": "consent-revoked"}
    patient = {"resourceType": "Patient", "meta": {"security": [sealed]}, "gender": "female"}
    created = ke.client.post("/Patient", json=patient, headers=headers)
    assert created.status_code == 400
    assert [c["code"] for i in created.json()["issue"] for c in i["details"]["coding"]] == [
        "IP-6103"
    ]
    assert created.json()["issue"][0]["expression"] == ["Patient.meta.security[0]"]
    bundle = {
        "resourceType": "Bundle",
        "type": "transaction",
        "entry": [{"resource": patient, "request": {"method": "POST", "url": "Patient"}}],
    }
    assert ke.client.post("/", json=bundle, headers=headers).status_code == 400
    assert ke.wiring.repository.search(SearchQuery("Patient", count=5)).matches == []
    message = notification()
    message["entry"][2]["resource"]["meta"] = {"security": [sealed]}
    answer = ke.post(message)
    assert _response(answer)["code"] == "fatal-error" and _ids(answer) == ["IP-6103"]
    assert ke.tasks() == []


def test_a_sender_never_seals_the_receivers_own_patient(ke: Receiving) -> None:
    own = {
        "resourceType": "Patient",
        "identifier": [{"system": "urn:oid:2.16.578.1.12.4.1.4.1", "value": FNR}],
        "name": [{"family": "Nilsen Guttorm", "given": ["Áile"]}],
        "telecom": [{"system": "phone", "value": "77 00 00 00"}],
    }
    mine = ke.wiring.repository.create(own)
    message, task = _received(ke)
    assert task["for"]["reference"] == f"Patient/{mine['id']}"  # filed under the one held here
    assert _response(ke.post(revocation([_identifier(message)])))["code"] == "ok"
    _as_missing(ke, "Task", task["id"])
    assert "security" not in ke.wiring.repository.read("Patient", mine["id"]).get("meta", {})


def test_a_patient_the_receiver_changed_since_is_its_own(ke: Receiving) -> None:
    message, task = _received(ke)
    pid = task["for"]["reference"].split("/")[1]
    patient = ke.wiring.repository.read("Patient", pid)
    patient["telecom"] = [{"system": "phone", "value": "77 00 00 01"}]
    ke.wiring.repository.update("Patient", pid, {k: v for k, v in patient.items() if k != "meta"})
    assert _response(ke.post(revocation([_identifier(message)])))["code"] == "ok"
    _as_missing(ke, "Task", task["id"])
    assert "security" not in ke.wiring.repository.read("Patient", pid).get("meta", {})


_INPUT = ("entry", 1, "resource", "input")
HOSTILE_REVOCATIONS: list[tuple[tuple[Any, ...], Any]] = [
    (_INPUT, "alt"),
    (_INPUT, [None, 5, "urn:uuid:x"]),
    ((*_INPUT, 0, "valueString"), 17),
    ((*_INPUT, 0, "valueString"), "urn:uuid:" + "9" * 200),
    ((*_INPUT, 0, "type"), "revoked-notification"),
    (("entry", 1, "resource", "code"), None),
    (("entry", 1, "resource", "requester"), "Organization/x"),
    (("entry", 1, "resource", "status"), ["requested"]),
]


@pytest.mark.parametrize(
    ("path", "value"), HOSTILE_REVOCATIONS, ids=[str(h[0]) for h in HOSTILE_REVOCATIONS]
)
def test_hostile_revocations_get_an_answer_and_change_nothing(
    ke: Receiving, path: tuple[Any, ...], value: Any
) -> None:
    message, task = _received(ke)
    notice = revocation([_identifier(message)])
    node: Any = notice
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = value
    answer = ke.post(notice)
    assert answer.status_code in (200, 400), answer.text
    assert answer.status_code == 200 and _response(answer)["code"] == "fatal-error"
    assert _ids(answer) == ["IP-6102"]
    assert _get(ke, f"/Task/{task['id']}").status_code == 200


def test_many_notifications_in_one_revocation_are_refused_above_the_limit(ke: Receiving) -> None:
    message, task = _received(ke)
    names = [_identifier(message), *(f"urn:uuid:{uuid.uuid4()}" for _ in range(MAX_ITEMS))]
    answer = ke.post(revocation(names))
    assert _ids(answer) == ["IP-6102"]
    assert _get(ke, f"/Task/{task['id']}").status_code == 200
