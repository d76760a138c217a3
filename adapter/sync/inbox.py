"""What a received message does to this adapter's store, on the receiver's write transaction.

- ``ip-notification``: the Task goes to the coordinating unit's inbox — status ``requested``,
  ``owner`` the receiving organisation, ``requester`` the sender (its name from this adapter's
  directory, not from the message), ``for`` the Patient carried along (an existing Patient
  with the same fødselsnummer or D-nummer is used and left unchanged; the Patient and the
  Organizations are bound by :mod:`adapter.sync.binding`); what it writes is audited in one
  AuditEvent. ``Task?owner=Organization/<id>&status=requested`` finds it. Its Task carries the
  ``ip-notification`` code and no other of ``ip-exchange`` (IP-6075: the exchange trusts its
  codes — settling takes an open ``ip-transfer`` Task for a transfer requested here) and is
  filed without ``focus`` (a reference into the sender's store).
- ``ip-notification-response``: the notification this adapter sent (found by the Task's
  identifier) becomes ``accepted`` or ``rejected``, with the answer's outputs (the coordinator
  appointed, the reason for declining) — only when the answering organisation is the one the
  notification was sent to (else IP-6076: an organisation cannot answer for another).
"""

from __future__ import annotations

import copy
import uuid
from typing import Any

from sqlalchemy import Connection

from ipfhir.adapter.directory.model import as_dict, dicts
from ipfhir.adapter.directory.store import SqlDirectory
from ipfhir.adapter.errors import NotFound
from ipfhir.adapter.ports import SearchParam, SearchQuery
from ipfhir.adapter.store.repository import SqlRepository
from ipfhir.adapter.sync.binding import bind_organisation, bind_patient
from ipfhir.adapter.sync.messages import MessageRefused, issue_sync
from ipfhir.adapter.sync.messaging import EXCHANGE_SYSTEM, NOTIFICATION, Incoming
from ipfhir.adapter.sync.recorded import record_write
from ipfhir.mappings.identifiers import ORGNR_SYSTEM

__all__ = ["TASK_IDENTIFIER_SYSTEM", "carry_out", "orgnr_in", "task_identifier"]

Resource = dict[str, Any]
TASK_IDENTIFIER_SYSTEM = "urn:ietf:rfc:3986"
_ANSWERS = frozenset({"accepted", "rejected"})
_OUTPUTS = frozenset({"coordinator", "decline-reason"})


def _unusable(detail: str, where: str = "Task") -> MessageRefused:
    return MessageRefused([issue_sync("IP-6075", where, detail=detail)])


def orgnr_in(reference: Any) -> str | None:
    ident = reference.get("identifier") if isinstance(reference, dict) else None
    if isinstance(ident, dict) and ident.get("system") == ORGNR_SYSTEM:
        value = ident.get("value")
        return value if isinstance(value, str) else None
    return None


def task_identifier(task: Resource) -> str | None:
    for ident in dicts(task.get("identifier")):
        if ident.get("system") == TASK_IDENTIFIER_SYSTEM:
            value = ident.get("value")
            if isinstance(value, str) and value.startswith("urn:uuid:") and len(value) <= 80:
                return value
    return None


def _is_notification(task: Resource) -> bool:
    codings = dicts(as_dict(task.get("code")).get("coding"))
    return any(
        c.get("system") == EXCHANGE_SYSTEM and c.get("code") == NOTIFICATION for c in codings
    )


def carry_out(
    repository: SqlRepository,
    conn: Connection,
    sender: str,
    incoming: Incoming,
    directory: SqlDirectory,
) -> None:
    task = incoming.focus
    if not _is_notification(task) or task_identifier(task) is None:
        raise _unusable("Task.code must be ip-exchange ip-notification, with an identifier")
    if incoming.event == NOTIFICATION:
        _store_notification(repository, conn, sender, incoming, directory)
    else:
        _apply_answer(repository, conn, sender, incoming)


def _find(repository: SqlRepository, rtype: str, system: str, value: str) -> Resource | None:
    query = SearchQuery(rtype, (SearchParam("identifier", (f"{system}|{value}",)),), count=1)
    found = repository.search(query).matches
    return found[0] if found else None


def _patient_of(incoming: Incoming) -> Resource:
    task = incoming.focus
    patient = incoming.resources.get(str(as_dict(task.get("for")).get("reference")))
    if patient is None or patient.get("resourceType") != "Patient":
        raise _unusable("Task.for must name a Patient in the Bundle", "Task.for")
    return patient


def _store_notification(
    repository: SqlRepository,
    conn: Connection,
    sender: str,
    incoming: Incoming,
    directory: SqlDirectory,
) -> None:
    task = copy.deepcopy(incoming.focus)
    owner = orgnr_in(task.get("owner"))
    if owner is None or owner != incoming.receiver_orgnr:
        raise _unusable("Task.owner must be the organisation the message is addressed to")
    if orgnr_in(task.get("requester")) != sender:
        raise _unusable("Task.requester must be the sending organisation", "Task.requester")
    if task.get("status") != "requested" or task.get("intent") != "proposal":
        raise _unusable("a notification is status requested, intent proposal", "Task.status")
    codings = dicts(as_dict(task.get("code")).get("coding"))
    if any(c.get("system") == EXCHANGE_SYSTEM and c.get("code") != NOTIFICATION for c in codings):
        # the exchange trusts its codes (settling: every open ip-transfer Task with a focus)
        raise _unusable("a notification's Task carries no other ip-exchange code", "Task.code")
    task.pop("focus", None)  # the sender's store, never this one: a notification points nowhere
    sender_name = _name(directory, sender)
    owner_name = _name(directory, owner)
    task.pop("meta", None)
    patient_ref, patient, written = bind_patient(repository, conn, _patient_of(incoming))
    owner_ref, owner_written = bind_organisation(repository, conn, owner, owner_name)
    sender_ref, sender_written = bind_organisation(repository, conn, sender, sender_name)
    task["for"] = {"reference": patient_ref}
    task["owner"] = {
        "reference": owner_ref,
        "identifier": {"system": ORGNR_SYSTEM, "value": owner},
        "display": owner_name,
    }
    task["requester"] = {
        "reference": sender_ref,
        "identifier": {"system": ORGNR_SYSTEM, "value": sender},
        "display": sender_name,
    }
    stored = repository.writer.create(conn, task, str(uuid.uuid4()))
    record_write(
        conn,
        organisation=sender,
        interaction="create",
        patient=patient,
        patient_ref=patient_ref,
        stored=[stored, *written, *owner_written, *sender_written],
        detail=f"received ip-notification {incoming.message_id}",
    )


def _name(directory: SqlDirectory, orgnr: str) -> str:
    """The organisation's name in this adapter's directory (its number where it has none)."""
    entry = directory.get(orgnr)
    return entry.name[:200] if entry is not None else orgnr


def _apply_answer(
    repository: SqlRepository, conn: Connection, sender: str, incoming: Incoming
) -> None:
    answer = incoming.focus
    ident = task_identifier(answer)
    assert ident is not None
    mine = _find(repository, "Task", TASK_IDENTIFIER_SYSTEM, ident)
    if mine is None or orgnr_in(mine.get("owner")) != sender or not _is_notification(mine):
        raise MessageRefused([issue_sync("IP-6076", "Task.identifier", "not-found")])
    status = answer.get("status")
    if status not in _ANSWERS:
        raise _unusable("an answer is status accepted or rejected", "Task.status")
    if mine.get("status") == status:
        return  # the same answer again: nothing changes
    if mine.get("status") != "requested":
        raise _unusable(f"the notification is {mine.get('status')} already", "Task.status")
    updated = {k: v for k, v in mine.items() if k != "meta"}
    updated["status"] = status
    outputs = [o for o in dicts(answer.get("output")) if _output_type(o) in _OUTPUTS]
    if outputs:
        updated["output"] = [
            {"type": o["type"], "valueString": str(o.get("valueString", ""))[:500]} for o in outputs
        ]
    if isinstance(answer.get("lastModified"), str):
        updated["lastModified"] = answer["lastModified"]
    stored, _created = repository.writer.update(conn, "Task", mine["id"], updated, None)
    patient_ref = str(as_dict(mine.get("for")).get("reference", ""))
    record_write(
        conn,
        organisation=sender,
        interaction="update",
        patient=_read_patient(repository, patient_ref),
        patient_ref=patient_ref,
        stored=[stored],
        detail=f"received ip-notification-response {incoming.message_id}: {status}",
    )


def _read_patient(repository: SqlRepository, reference: str) -> Resource | None:
    rtype, _, rid = reference.partition("/")
    if rtype != "Patient" or not rid:
        return None
    try:
        return repository.read("Patient", rid)
    except NotFound:
        return None


def _output_type(output: Any) -> str | None:
    if not isinstance(output, dict):
        return None
    for c in dicts(as_dict(output.get("type")).get("coding")):
        if c.get("system") == EXCHANGE_SYSTEM:
            value = c.get("code")
            return value if isinstance(value, str) else None
    return None
