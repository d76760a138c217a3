"""The transfer Task and its messages, shared by the commands (:mod:`adapter.services.transfer`)
and the receiving side (:mod:`adapter.sync.transfer_inbox`).

A transfer is one Task on each side, coded ``ip-exchange#ip-transfer`` and identified by the
same ``urn:uuid`` (the requesting side's Task id): at A (the municipality the person leaves;
``requester`` A, ``owner`` B, ``focus`` A's plan) and at B (filed in B's inbox when the request
arrives). Statuses, FHIR's Task state machine:

``requested`` → ``accepted`` (B took it on) → ``in-progress`` (A sent the plan) →
``completed`` (B stored it; A's plan is the completed predecessor) — or ``rejected`` (B
declined) / ``failed`` (a message could not be delivered, B did not answer in time, or the
consent no longer lets B receive the plan); ``statusReason`` says why, A's plan stays active.

Message ids are derived from the Task id (:func:`message_id`), so each step has one id the
receiver de-duplicates on and the status check finds its outbox row.

Every change of a transfer Task's state starts from the Task as :func:`locked_task` reads it
inside the change's own write transaction — its row locked there (PostgreSQL ``SELECT ... FOR
UPDATE``; SQLite's writers queue) — and is made only when the state it was decided from still
holds: B's answer, the operator's abandon, a revocation and the settling run at once, and none
may write over what another has just written (a failed Task revived, a completed one failed).
"""

from __future__ import annotations

import uuid
from typing import Any

import orjson
from sqlalchemy import Connection

from ipfhir.adapter.directory.model import as_dict, dicts
from ipfhir.adapter.directory.store import SqlDirectory
from ipfhir.adapter.ports import SearchParam, SearchQuery
from ipfhir.adapter.store.driver_sql import read_current
from ipfhir.adapter.store.outbox import enqueue, enqueue_if_absent
from ipfhir.adapter.store.repository import SqlRepository
from ipfhir.adapter.store.writes import Writer
from ipfhir.adapter.sync.inbox import TASK_IDENTIFIER_SYSTEM, task_identifier
from ipfhir.adapter.sync.messaging import EXCHANGE_SYSTEM, TRANSFER, Party, message_bundle
from ipfhir.adapter.sync.recorded import record_write

__all__ = [
    "ANSWERED",
    "OPEN",
    "find_task",
    "is_transfer",
    "locked_task",
    "message_id",
    "party",
    "queue",
    "reason",
    "save_task",
    "task_message",
]

Resource = dict[str, Any]
OPEN = frozenset({"requested", "accepted", "in-progress"})  # a transfer under way
ANSWERED = ("resourceType", "id", "identifier", "status", "intent", "code", "lastModified")
_NAMESPACE = uuid.UUID("0c7f4f0e-6a55-4b8e-9d3a-3a1f2f0b6e11")


def is_transfer(task: Resource) -> bool:
    codes = dicts(as_dict(task.get("code")).get("coding"))
    return task.get("resourceType") == "Task" and any(
        c.get("system") == EXCHANGE_SYSTEM and c.get("code") == TRANSFER for c in codes
    )


def message_id(task_id: str, step: str) -> str:
    """The id of the message ``step`` (request, answer, plan, stored) of transfer ``task_id``."""
    return str(uuid.uuid5(_NAMESPACE, f"{task_id}|{step}"))


def reason(text: str) -> Resource:
    return {"text": text[:1000]}


def find_task(repository: SqlRepository, ident: str, conn: Connection | None = None) -> Resource:
    """The transfer Task identified by ``ident`` (``urn:uuid:...``), or ``{}``."""
    query = SearchQuery(
        "Task", (SearchParam("identifier", (f"{TASK_IDENTIFIER_SYSTEM}|{ident}",)),), count=5
    )
    found = (repository._search(conn, query) if conn else repository.search(query)).matches
    mine = [t for t in found if is_transfer(t) and task_identifier(t) == ident]
    return mine[0] if len(mine) == 1 else {}


def locked_task(conn: Connection, tid: str) -> Resource:
    """The Task ``tid`` as stored now (``{}``: none, or deleted), its row locked until
    ``conn``'s transaction ends — the state a change of the transfer starts from."""
    Writer.lock(conn, {("Task", tid)})
    row = read_current(conn, "Task", tid)
    return {} if row is None or row[0] else dict(orjson.loads(row[1]))


def party(directory: SqlDirectory, orgnr: str) -> Party | None:
    """The directory's routable entry of ``orgnr`` as a message party, or ``None``."""
    entry = directory.get(orgnr)
    if entry is None or not entry.routable or entry.endpoint is None:
        return None
    return Party(entry.orgnr, entry.name, entry.endpoint.address.rstrip("/"))


def task_message(task: Resource, **extra: Any) -> Resource:
    """The Task as a message carries it: state and outputs, a fresh id, no local references."""
    keep = (*ANSWERED, "requester", "owner", "output", "statusReason", "input", "authoredOn")
    out = {k: v for k, v in task.items() if k in keep}
    for party_field in ("requester", "owner"):  # by organisasjonsnummer: local ids stay home
        if isinstance(out.get(party_field), dict):
            out[party_field] = {
                k: v for k, v in out[party_field].items() if k in ("identifier", "display")
            }
    out.update(id=str(uuid.uuid4()), **extra)
    return out


def save_task(
    repository: SqlRepository,
    conn: Connection,
    task: Resource,
    *,
    organisation: str,
    patient: Resource | None,
    detail: str,
    create: bool = False,
) -> Resource:
    """Write ``task`` (create or update) and its AuditEvent on ``conn``."""
    body = {k: v for k, v in task.items() if k != "meta"}
    if create:
        stored = repository.writer.create(conn, body, str(task["id"]))
    else:
        stored, _ = repository.writer.update(conn, "Task", str(task["id"]), body, None)
    record_write(
        conn,
        organisation=organisation,
        interaction="create" if create else "update",
        patient=patient,
        patient_ref=str(as_dict(task.get("for")).get("reference", "")),
        stored=[stored],
        detail=detail,
    )
    return stored


def queue(
    conn: Connection,
    *,
    event: str,
    mid: str,
    source: Party,
    destination: Party,
    timestamp: str,
    resources: list[Resource],
    person: str,
    if_absent: bool = False,
) -> bool:
    """The message ``mid`` queued on ``conn`` (written with the state change it announces);
    ``if_absent``: nothing queued (``False``) when a message ``mid`` is in the outbox already."""
    bundle = message_bundle(
        message_id=mid,
        event=event,
        source=source,
        destination=destination,
        timestamp=timestamp,
        resources=resources,
    )
    where = destination.endpoint + "/$process-message"
    if if_absent:
        return enqueue_if_absent(
            conn, destination=where, kind=event, payload=bundle, person=person, message_id=mid
        )
    enqueue(conn, destination=where, kind=event, payload=bundle, person=person, message_id=mid)
    return True
