"""Revocation notices: the message (pure) and what receiving one does, on the receiver's write
transaction (:class:`~adapter.sync.receiver.Receiver`: once per sender and message id, a
duplicate answered as the first).

The message (event ``ip-revocation``, built by :func:`revocation_task` and
:func:`~adapter.sync.messaging.message_bundle`) carries a Task coded ``ip-revocation`` from the
sender to the receiver, naming each notification the sender sent under the consent by its Task
identifier (``Task.input`` of type ``revoked-notification``) and why (withdrawn or narrowed —
never which topic or recipient: what a person refused is itself confidential). No person data.

On receipt (:func:`revoke_received`):

- **Authority** comes from the verified token (``sender``), never from the message: only a
  notification Task this adapter stored from that sender is touched — its ``requester`` the
  system Organization the receiver bound to the token's organisation when the notification
  arrived (:mod:`adapter.sync.binding`). A revocation naming notifications, none of which that
  sender sent here (another organisation's, or none at all: the two are answered alike), is
  refused as a whole with IP-6101 and changes nothing; a Task whose ``requester`` is not the
  token's organisation, IP-6102.
- **What it marks**: each such Task gets the :data:`~mappings.codes.REVOKED_LABEL` security
  label (a waiting one also becomes ``cancelled``: out of the inbox, no longer answerable), and
  so does a plan transfer request (``ip-transfer``) from that sender while it still waits
  (``requested``; one answered here already is left as it is), and so does the Patient a
  revoked notification or transfer request brought (its first version audited as written by
  that sender's message, unchanged since), unless something else here is tied to the person
  (the municipality's own plan, another notification still in force). A Patient this adapter
  held before, or has changed since, is its own and is never sealed by a sender.
- **Effect**: the consent policy answers a labelled resource as missing to everyone, its
  history and earlier versions too (:func:`adapter.consent.policy.decide`); nothing that reads
  through the enforcement (searches, includes, ``$everything``, notifications and transfers
  onward) discloses it again. A later notification about the person files it under a new
  Patient (:func:`adapter.sync.binding.bind_patient` passes labelled ones by).
- **Audit**: one AuditEvent per person, the sender as the agent, the resources marked.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection

from ipfhir.adapter.directory.model import as_dict, dicts
from ipfhir.adapter.fhir.search_params import SEARCH_PARAMS
from ipfhir.adapter.ports import SearchParam, SearchQuery
from ipfhir.adapter.store.repository import SqlRepository
from ipfhir.adapter.sync.binding import is_sealed as is_revoked
from ipfhir.adapter.sync.binding import organisation_id
from ipfhir.adapter.sync.inbox import TASK_IDENTIFIER_SYSTEM, orgnr_in, task_identifier
from ipfhir.adapter.sync.messages import MessageRefused, issue_sync
from ipfhir.adapter.sync.messaging import (
    EXCHANGE_SYSTEM,
    NOTIFICATION,
    REVOCATION,
    TRANSFER,
    Incoming,
    Party,
    code,
)
from ipfhir.adapter.sync.recorded import record_write
from ipfhir.mappings.codes import REVOKED_LABEL

__all__ = ["MAX_ITEMS", "REVOKED_ITEM", "is_revoked", "revocation_task", "revoke_received"]

Resource = dict[str, Any]
REVOKED_ITEM = "revoked-notification"
# what the receiver's audit says of a message that brought a Patient a revocation may seal
_BRINGS = ("received ip-notification", "received ip-transfer ")
MAX_ITEMS = 500  # notifications one revocation may name
# what ties a person's data here to the person (the audit trail records, it is no data)
_TIED_TYPES = tuple(
    t
    for t, params in SEARCH_PARAMS.items()
    if t not in ("Patient", "AuditEvent") and any(p.name == "patient" for p in params)
)


def revocation_task(
    task_id: str, sender: Party, receiver: Party, identifiers: list[str], reason: str, now: str
) -> Resource:
    """The revocation's Task (pure): ``identifiers`` the notifications' Task identifiers."""
    task: Resource = {
        "resourceType": "Task",
        "id": task_id,
        "identifier": [{"system": TASK_IDENTIFIER_SYSTEM, "value": f"urn:uuid:{task_id}"}],
        "status": "requested",
        "intent": "order",
        "code": code(REVOCATION),
        "description": "Samtykket er trukket tilbake eller innskrenket: det mottatte skal "
        "ikke brukes eller utleveres videre",
        "authoredOn": now,
        "requester": sender.reference(),
        "owner": receiver.reference(),
        "reasonCode": {"text": reason},
    }
    inputs = [{"type": code(REVOKED_ITEM), "valueString": i} for i in identifiers]
    if inputs:
        task["input"] = inputs
    return task


def _unusable(detail: str, where: str = "Task") -> MessageRefused:
    return MessageRefused([issue_sync("IP-6102", where, detail=detail)])


def _coded(task: Resource, value: str) -> bool:
    codings = dicts(as_dict(task.get("code")).get("coding"))
    return any(c.get("system") == EXCHANGE_SYSTEM and c.get("code") == value for c in codings)


def _identifiers(task: Resource) -> list[str]:
    """The notifications named (``Task.input``, each of type revoked-notification), checked:
    anything else in ``input`` makes the whole revocation unusable."""
    items = task.get("input", [])
    if not isinstance(items, list):
        raise _unusable("Task.input must be a list", "Task.input")
    if len(items) > MAX_ITEMS:
        raise _unusable(f"at most {MAX_ITEMS} notifications in one revocation", "Task.input")
    named: list[str] = []
    for index, item in enumerate(items):
        where = f"Task.input[{index}]"
        if not isinstance(item, dict) or not _coded({"code": item.get("type")}, REVOKED_ITEM):
            raise _unusable("each input is a revoked-notification", where)
        value = item.get("valueString")
        probe = {"identifier": [{"system": TASK_IDENTIFIER_SYSTEM, "value": value}]}
        if task_identifier(probe) is None:
            raise _unusable("each revoked-notification is a urn:uuid identifier", where)
        named.append(str(value))
    return list(dict.fromkeys(named))


def _received_from(
    repository: SqlRepository, conn: Connection, sender: str, identifier: str
) -> list[Resource]:
    """The notification Tasks (and plan transfer requests) with ``identifier`` this adapter
    stored from ``sender``."""
    query = SearchQuery(
        "Task", (SearchParam("identifier", (f"{TASK_IDENTIFIER_SYSTEM}|{identifier}",)),), count=20
    )
    bound = f"Organization/{organisation_id(sender)}"
    return [
        t
        for t in repository._search(conn, query).matches
        if (_coded(t, NOTIFICATION) or _coded(t, TRANSFER))
        and orgnr_in(t.get("requester")) == sender
        and as_dict(t.get("requester")).get("reference") == bound
    ]


def _labelled(resource: Resource) -> Resource:
    out = {k: v for k, v in resource.items() if k != "meta"}
    security = [s for s in dicts(as_dict(resource.get("meta")).get("security"))]
    out["meta"] = {"security": [*security, dict(REVOKED_LABEL)]}
    return out


def _seal(repository: SqlRepository, conn: Connection, resource: Resource) -> Resource:
    sealed = _labelled(resource)
    if sealed.get("resourceType") == "Task" and sealed.get("status") == "requested":
        sealed["status"] = "cancelled"
    stored, _created = repository.writer.update(
        conn, str(resource["resourceType"]), str(resource["id"]), sealed, None
    )
    return stored


def _brought_by(
    repository: SqlRepository, conn: Connection, sender: str, patient: Resource
) -> bool:
    """Did a notification from ``sender`` bring ``patient`` here, unchanged since? Its
    version 1 is named by an AuditEvent of that sender's message (written by the receiver
    only: no client writes an AuditEvent); a Patient this adapter held before, or changed
    after, is its own and stays."""
    if is_revoked(patient) or as_dict(patient.get("meta")).get("versionId") != "1":
        return False
    first = f"Patient/{patient['id']}/_history/1"
    query = SearchQuery(
        "AuditEvent", (SearchParam("patient", (f"Patient/{patient['id']}",)),), count=200
    )
    return any(
        first in [as_dict(e.get("what")).get("reference") for e in dicts(event.get("entity"))]
        and any(
            as_dict(as_dict(a.get("who")).get("identifier")).get("value") == sender
            for a in dicts(event.get("agent"))
        )
        and any(m in str(event.get("outcomeDesc", "")) for m in _BRINGS)
        for event in repository._search(conn, query).matches
    )


def _only_received(
    repository: SqlRepository, conn: Connection, patient_ref: str, sealed: set[str]
) -> bool:
    """Is nothing here tied to ``patient_ref`` but the sealed Tasks and revoked resources?"""
    for rtype in _TIED_TYPES:
        query = SearchQuery(rtype, (SearchParam("patient", (patient_ref,)),), count=50)
        for match in repository._search(conn, query).matches:
            if f"{rtype}/{match['id']}" not in sealed and not is_revoked(match):
                return False
    return True


def revoke_received(
    repository: SqlRepository, conn: Connection, sender: str, incoming: Incoming
) -> None:
    """Carry out the revocation ``incoming`` from ``sender`` (see the module doc)."""
    task = incoming.focus
    if not _coded(task, REVOCATION):
        raise _unusable("Task.code must be ip-exchange ip-revocation", "Task.code")
    if orgnr_in(task.get("requester")) != sender:
        raise _unusable("Task.requester must be the sending organisation", "Task.requester")
    if task.get("status") != "requested" or task.get("intent") != "order":
        raise _unusable("a revocation is status requested, intent order", "Task.status")
    named = _identifiers(task)
    received = [t for i in named for t in _received_from(repository, conn, sender, i)]
    if named and not received:
        raise MessageRefused([issue_sync("IP-6101", "Task.input", "not-found")])
    by_person: dict[str, list[Resource]] = {}
    for found in received:
        if is_revoked(found):
            continue  # marked by an earlier revocation
        if _coded(found, TRANSFER) and found.get("status") != "requested":
            continue  # a transfer answered here already: B's own from then on
        person = str(as_dict(found.get("for")).get("reference", ""))
        by_person.setdefault(person, []).append(_seal(repository, conn, found))
    for person, stored in by_person.items():
        sealed = {f"Task/{t['id']}" for t in stored}
        patient = _patient(repository, conn, person)
        if (
            patient is not None
            and _brought_by(repository, conn, sender, patient)
            and _only_received(repository, conn, person, sealed)
        ):
            stored.append(_seal(repository, conn, patient))
        record_write(
            conn,
            organisation=sender,
            interaction="update",
            patient=patient,
            patient_ref=person,
            stored=stored,
            detail=f"received ip-revocation {incoming.message_id}: withdrawn by the sender, "
            "answered as missing from now on",
        )
    if not by_person:
        record_write(
            conn,
            organisation=sender,
            interaction="update",
            patient=None,
            patient_ref="",
            stored=[],
            detail=f"received ip-revocation {incoming.message_id}: nothing (more) to withdraw",
        )


def _patient(repository: SqlRepository, conn: Connection, reference: str) -> Resource | None:
    rtype, _, rid = reference.partition("/")
    if rtype != "Patient" or not rid:
        return None
    query = SearchQuery("Patient", (SearchParam("_id", (rid,)),), count=1)
    found = repository._search(conn, query).matches
    return found[0] if found else None
