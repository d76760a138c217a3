"""Use case: notify a municipality's coordinating unit (koordinerende enhet, KE) that a person
needs an individual plan or a coordinator (forskrift om individuell plan § 6 / helse- og
omsorgstjenesteloven § 7-2), and answer such a notification.

:func:`notify` (the sender, e.g. a helseforetak):
1. routes by the directory — the KE of the person's municipality (``--to-kommune``, or the home
   address in force), or an organisation (``--to-org``); no route → IP-6001/6002, nothing queued;
2. reads the person's data AS THE RECEIVER WOULD SEE IT: ``secure_factory(wiring)
   .repository_for(Actor(organisation=<receiver>))`` — the same enforcement the server uses, so
   the reads are audited and recorded in the recipients ledger, a refused topic's measures are
   left out, and a refused or expired consent gives nothing (IP-6051, nothing queued); the
   practitioners the person refused outright are named in the Task (HPR numbers,
   :mod:`adapter.sync.refusals`), so the receiver shows it to none of them;
3. writes the sender's Task and the message in ONE write transaction (the message queued with
   ``wiring.outbox``, the :class:`~adapter.ports.OutboxWriter` port): both or neither.

:func:`respond` (the KE): the received Task becomes accepted (coordinator appointed) or
rejected, and the answer is queued to the sender in the same transaction.

Where the unit of work plugs in: both writes below run in ``repository.begin_write()`` with
their AuditEvent (:mod:`adapter.sync.recorded`) and their outbox message on the same
connection; when the store's unit of work (pre-commit hooks, audit in the write transaction)
lands, each ``with repository.begin_write() as conn`` block here becomes that unit and
``record_write`` its audit hook (likewise the receiver's transaction in
:mod:`adapter.sync.receiver`).
"""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass
from typing import Any

from ipfhir.adapter.directory.model import DirectoryEntry, person_kommunenummer
from ipfhir.adapter.directory.store import SqlDirectory
from ipfhir.adapter.errors import NotFound
from ipfhir.adapter.ports import OutboxWriter, SecureRepositoryFactory
from ipfhir.adapter.sync.content import Seen, receiver_actor, seen_by
from ipfhir.adapter.sync.inbox import TASK_IDENTIFIER_SYSTEM, orgnr_in, task_identifier
from ipfhir.adapter.sync.messages import NotifyRefused, issue_sync
from ipfhir.adapter.sync.messaging import (
    NOTIFICATION,
    NOTIFICATION_RESPONSE,
    Party,
    code,
    message_bundle,
)
from ipfhir.adapter.sync.recorded import record_write
from ipfhir.adapter.sync.refusals import refusal_extensions, refused_individuals

__all__ = ["Queued", "notify", "party_of", "respond"]

Resource = dict[str, Any]


@dataclass(frozen=True)
class Queued:
    message_id: str
    task_id: str
    destination: str
    receiver: str


def party_of(entry: DirectoryEntry) -> Party:
    assert entry.endpoint is not None  # a routable entry has one
    return Party(entry.orgnr, entry.name, entry.endpoint.address.rstrip("/"))


def _now() -> str:
    return dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _route(
    wiring: Any, directory: SqlDirectory, pid: str, kommune: str | None, org: str | None
) -> DirectoryEntry:
    if kommune is None and org is None:
        try:
            patient = wiring.repository.read("Patient", pid)
        except NotFound:
            raise NotifyRefused([issue_sync("IP-6050", None, "not-found", pid=pid)]) from None
        kommune = person_kommunenummer(patient, dt.date.today().isoformat())
        if kommune is None:
            raise NotifyRefused([issue_sync("IP-6052", None, "required", pid=pid)])
    return directory.route(kommunenummer=kommune, orgnr=org)


def notify(
    wiring: Any,
    factory: SecureRepositoryFactory,
    directory: SqlDirectory,
    *,
    sender: Party,
    patient_id: str,
    to_kommune: str | None = None,
    to_org: str | None = None,
    reason: str | None = None,
) -> Queued:
    """Queue the notification (see the module doc); ``factory``: ``secure_factory(wiring)``."""
    receiver = party_of(_route(wiring, directory, patient_id, to_kommune, to_org))
    try:
        wiring.repository.read("Patient", patient_id)
    except NotFound:
        raise NotifyRefused([issue_sync("IP-6050", None, "not-found", pid=patient_id)]) from None
    actor = receiver_actor(receiver.orgnr)
    seen = seen_by(factory.repository_for(actor), patient_id, dt.date.today().isoformat())
    if seen is None:
        raise NotifyRefused([issue_sync("IP-6051", None, "forbidden", orgnr=receiver.orgnr)])
    task_id, message_id, now = str(uuid.uuid4()), str(uuid.uuid4()), _now()
    task = _task(task_id, sender, receiver, seen, reason, now)
    refused = refused_individuals(wiring.repository, patient_id, dt.date.today().isoformat())
    if refused:  # the receiver keeps to them too (adapter/sync/refusals.py)
        task["extension"] = refusal_extensions(refused)
    bundle = message_bundle(
        message_id=message_id,
        event=NOTIFICATION,
        source=sender,
        destination=receiver,
        timestamp=now,
        resources=[task, seen.patient],
    )
    local = {**task, "for": {"reference": f"Patient/{patient_id}"}}
    destination = receiver.endpoint + "/$process-message"
    outbox: OutboxWriter = wiring.outbox
    with wiring.repository.begin_write() as conn:
        stored = wiring.repository.writer.create(conn, local, task_id)
        record_write(
            conn,
            organisation=sender.orgnr,
            interaction="create",
            patient=wiring.repository.read("Patient", patient_id),
            patient_ref=f"Patient/{patient_id}",
            stored=[stored],
            detail=f"ip-notification {message_id} to {receiver.orgnr}",
        )
        outbox.enqueue(
            conn,
            destination=destination,
            kind=NOTIFICATION,
            payload=bundle,
            person=f"Patient/{patient_id}",
            message_id=message_id,
        )
    return Queued(message_id, task_id, destination, receiver.orgnr)


def _task(
    task_id: str, sender: Party, receiver: Party, seen: Seen, reason: str | None, now: str
) -> Resource:
    task: Resource = {
        "resourceType": "Task",
        "id": task_id,
        "identifier": [{"system": TASK_IDENTIFIER_SYSTEM, "value": f"urn:uuid:{task_id}"}],
        "status": "requested",
        "intent": "proposal",
        "priority": "asap",
        "code": code(NOTIFICATION),
        "description": "Behov for individuell plan og koordinator",
        "for": {"reference": f"urn:uuid:{seen.patient['id']}"},
        "authoredOn": now,
        "requester": sender.reference(),
        "owner": receiver.reference(),
    }
    if reason:
        task["reasonCode"] = {"text": reason[:1000]}
    inputs = [{"type": code("service-involved"), "valueString": s} for s in seen.services]
    inputs += [{"type": code("temporary-coordinator"), "valueString": c} for c in seen.contacts]
    if inputs:
        task["input"] = inputs
    return task


def _received(wiring: Any, responder: Party, task_id: str) -> Resource:
    """The notification ``task_id`` another organisation sent to ``responder``, unanswered;
    IP-6054 otherwise."""
    try:
        task: Resource = wiring.repository.read("Task", task_id)
    except NotFound:
        task = {}
    requester = orgnr_in(task.get("requester"))
    received = orgnr_in(task.get("owner")) == responder.orgnr and requester != responder.orgnr
    if task.get("status") != "requested" or not received or task_identifier(task) is None:
        detail = str(task.get("status", "not found"))
        raise NotifyRefused([issue_sync("IP-6054", None, "not-found", tid=task_id, status=detail)])
    return task


_ANSWERED = ("resourceType", "identifier", "status", "intent", "code", "output", "lastModified")


def _answer(answered: Resource, sender: Party, responder: Party) -> Resource:
    """The Task as the answer carries it: status and outputs, no person data."""
    answer = {k: v for k, v in answered.items() if k in _ANSWERED}
    answer.update(id=str(uuid.uuid4()), requester=sender.reference(), owner=responder.reference())
    return answer


def respond(
    wiring: Any,
    directory: SqlDirectory,
    *,
    responder: Party,
    task_id: str,
    accept: bool,
    text: str | None = None,
) -> Queued:
    """The received notification ``task_id`` accepted (``text``: the coordinator appointed)
    or declined (``text``: why); the answer queued to its sender in the same transaction."""
    task = _received(wiring, responder, task_id)
    sender = party_of(directory.route(orgnr=str(orgnr_in(task.get("requester")))))
    status, now = ("accepted" if accept else "rejected"), _now()
    answered = {k: v for k, v in task.items() if k != "meta"}
    answered.update(status=status, lastModified=now)
    if text:
        kind = "coordinator" if accept else "decline-reason"
        answered["output"] = [{"type": code(kind), "valueString": text[:500]}]
    message_id = str(uuid.uuid4())
    bundle = message_bundle(
        message_id=message_id,
        event=NOTIFICATION_RESPONSE,
        source=responder,
        destination=sender,
        timestamp=now,
        resources=[_answer(answered, sender, responder)],
    )
    destination = sender.endpoint + "/$process-message"
    person = str(task.get("for", {}).get("reference"))
    outbox: OutboxWriter = wiring.outbox
    with wiring.repository.begin_write() as conn:
        stored, _created = wiring.repository.writer.update(conn, "Task", task_id, answered, None)
        record_write(
            conn,
            organisation=responder.orgnr,
            interaction="update",
            patient=None,
            patient_ref=person,
            stored=[stored],
            detail=f"ip-notification-response {message_id} ({status}) to {sender.orgnr}",
        )
        outbox.enqueue(
            conn,
            destination=destination,
            kind=NOTIFICATION_RESPONSE,
            payload=bundle,
            person=person,
            message_id=message_id,
        )
    return Queued(message_id, task_id, destination, sender.orgnr)
