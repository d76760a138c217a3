"""``POST [base]/$process-message`` played by a directory-known sender against the receiving
coordinating unit: the message decides too much (whose inbox a Task lands in), and a value the
API refuses as unstorable reaches the store through a message."""

from __future__ import annotations

from typing import Any

from ipfhir.adapter.sync.messaging import Party
from tests.api.notify_world import HOSPITAL, ORGNR
from tests.api.test_process_message import Receiving, _response, ke, notification

__all__ = ["ke"]

BASE = "http://127.0.0.1:8080"


def test_a_sender_cannot_file_a_task_in_another_organisations_inbox(ke: Receiving) -> None:
    """The receiving adapter serves the coordinating unit. A hospital addresses its message to
    this adapter's endpoint but names NAV (whose directory endpoint is another server) as the
    receiver and as the Task's owner: ``Incoming.receiver_orgnr`` is taken from the message and
    only compared with ``Task.owner``, never with the organisation(s) this adapter serves, so
    the Task is stored as NAV's notification (answer "ok")."""
    nav = Party(ORGNR["nav"], "NAV Bærum", BASE)  # this adapter's endpoint, another organisation
    answer = ke.post(notification(destination=nav))
    assert answer.status_code in (200, 403), answer.text
    if answer.status_code == 200:
        assert _response(answer)["code"] == "fatal-error", answer.text
    owners = [t["owner"]["identifier"]["value"] for t in ke.tasks()]
    assert owners == [], owners


def test_a_sender_cannot_file_a_task_in_its_own_name_here(ke: Receiving) -> None:
    """The same with the sender itself as receiver and owner: a Task the hospital owns, filed
    in another organisation's store, is no notification to anyone here."""
    self_addressed = Party(HOSPITAL, "UNN HF – Sámi klinihkka", BASE)
    answer = ke.post(notification(destination=self_addressed))
    assert answer.status_code in (200, 403), answer.text
    owners = [t["owner"]["identifier"]["value"] for t in ke.tasks()]
    assert owners == [], owners


def _long_system(message: dict[str, Any]) -> dict[str, Any]:
    patient = message["entry"][2]["resource"]
    patient["identifier"].append({"system": "urn:oid:" + "1." * 150 + "1", "value": "x"})
    return message


def test_an_unindexable_system_in_a_message_is_refused_never_a_crash(ke: Receiving) -> None:
    """``POST /Patient`` refuses a system longer than the search index holds (IP-4009); the
    same Patient carried in a message must be refused too, not crash the receiver."""
    answer = ke.post(_long_system(notification()))
    assert answer.status_code in (200, 400), answer.text  # PostgreSQL: 500 IP-4901
    if answer.status_code == 200:  # SQLite: "ok", the Patient stored with it
        assert _response(answer)["code"] == "fatal-error", answer.text
    assert ke.tasks() == []
