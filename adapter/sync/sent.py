"""What this adapter sent, read on an open write transaction (the sender's side of revocation
notices, :mod:`adapter.services.revoke`): a Consent's version before the change being
committed, the organisations the recipients ledger holds for it, the notifications delivered
to each, and the queueing of the notice itself with the outbox's :func:`enqueue` — all on the
transaction that stores the Consent change, so the notice commits with it or not at all.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import orjson
from sqlalchemy import Connection, or_, select

from ipfhir.adapter.store.outbox import enqueue
from ipfhir.adapter.store.schema import (
    consent_recipients,
    idx_reference,
    outbox,
    resource_versions,
    resources,
)
from ipfhir.adapter.sync.inbox import orgnr_in, task_identifier
from ipfhir.adapter.sync.messaging import NOTIFICATION, REVOCATION, TRANSFER, Party

__all__ = [
    "Delivered",
    "consents_of",
    "delivered_to",
    "own_party",
    "previous_version",
    "queue",
    "recipients_of",
    "recipients_on",
]

Resource = dict[str, Any]


def previous_version(conn: Connection, rtype: str, rid: str, version: str) -> Resource | None:
    """The version of ``rtype/rid`` before ``version`` (``None``: none, or a deletion)."""
    try:
        before = int(version) - 1
    except ValueError:
        return None
    v = resource_versions.c
    row = conn.execute(
        select(v.body).where(v.res_type == rtype, v.res_id == rid, v.version == before)
    ).first()
    return dict(orjson.loads(row[0])) if row is not None and row[0] is not None else None


def recipients_on(conn: Connection, consent: str) -> list[str]:
    """The organisations the recipients ledger holds for ``consent`` (``Consent/id``)."""
    c = consent_recipients.c
    rows = conn.execute(
        select(c.organisation).where(c.consent == consent).order_by(c.organisation)
    ).all()
    return [str(r[0]) for r in rows]


def recipients_of(conn: Connection, consents: list[str]) -> list[str]:
    """The organisations the recipients ledger holds for any of ``consents`` (``Consent/id``:
    every Consent of one person, so whoever received data about them under any is found)."""
    if not consents:
        return []
    c = consent_recipients.c
    rows = conn.execute(
        select(c.organisation).where(c.consent.in_(consents)).distinct().order_by(c.organisation)
    ).all()
    return [str(r[0]) for r in rows]


def consents_of(conn: Connection, person: str) -> dict[str, Resource]:
    """Every stored Consent of ``person`` (``Patient/id``) as the open transaction holds it,
    by id (deleted ones left out)."""
    target_type, _, target_id = person.partition("/")
    r, i = resources.c, idx_reference.c
    rows = conn.execute(
        select(r.res_id, r.body)
        .join(idx_reference, (i.res_type == r.res_type) & (i.res_id == r.res_id))
        .where(
            r.res_type == "Consent",
            r.deleted.is_(False),
            i.param == "patient",
            i.target_type == target_type,
            i.target_id == target_id,
        )
        .order_by(r.res_id)
    ).all()
    return {str(rid): dict(orjson.loads(body)) for rid, body in rows}


@dataclass(frozen=True)
class Delivered:
    """The notifications delivered to one organisation about one person: their Task
    identifiers, and this adapter as their MessageHeader named it (the source)."""

    identifiers: list[str]
    source: Party | None


def _header(payload: Resource) -> Resource:
    try:
        header = payload["entry"][0]["resource"]
    except (KeyError, IndexError, TypeError):
        return {}
    return header if isinstance(header, dict) else {}


def _source(payload: Resource) -> Party | None:
    header = _header(payload)
    orgnr = orgnr_in(header.get("sender"))
    found = header.get("source")
    source: Resource = found if isinstance(found, dict) else {}
    endpoint, name = source.get("endpoint"), source.get("name")
    if orgnr is None or not isinstance(endpoint, str) or not endpoint:
        return None
    return Party(orgnr, str(name or orgnr), endpoint.rstrip("/"))


def _addressee(payload: Resource) -> str | None:
    targets = _header(payload).get("destination")
    first = targets[0] if isinstance(targets, list) and targets else None
    return orgnr_in(first.get("receiver")) if isinstance(first, dict) else None


def delivered_to(conn: Connection, orgnr: str, person: str) -> Delivered:
    """The notifications about ``person`` (``Patient/id``) that may have reached ``orgnr``:
    delivered, in flight, or tried at least once (an answer lost on the way: the receiver may
    hold it though it was never settled as delivered). One never tried is judged again by the
    consent gate before it leaves (:mod:`adapter.sync.gate`); if it still may go, it goes before
    the notice (per-person order) and stays with the receiver, as the narrowed consent allows.
    A plan transfer request (``ip-transfer``) disclosed the person too: its Task is named
    alike, and the receiver withdraws it while it still waits there."""
    o = outbox.c
    rows = conn.execute(
        select(o.payload)
        .where(
            o.person == person,
            o.kind.in_((NOTIFICATION, TRANSFER)),
            or_(o.attempts > 0, o.status.in_(("delivered", "in_flight"))),
        )
        .order_by(o.seq)
    ).all()
    identifiers: list[str] = []
    source: Party | None = None
    for (text,) in rows:
        payload = json.loads(text)
        if _addressee(payload) != orgnr:
            continue
        source = _source(payload) or source
        for entry in payload.get("entry", [])[1:]:
            resource = entry.get("resource") if isinstance(entry, dict) else None
            if isinstance(resource, dict) and resource.get("resourceType") == "Task":
                ident = task_identifier(resource)
                if ident is not None:
                    identifiers.append(ident)
    return Delivered(list(dict.fromkeys(identifiers)), source)


def own_party(conn: Connection) -> Party | None:
    """This adapter as the newest message it queued named it (its MessageHeader source)."""
    o = outbox.c
    rows = conn.execute(select(o.payload).order_by(o.seq.desc()).limit(20)).all()
    for (text,) in rows:
        found = _source(json.loads(text))
        if found is not None:
            return found
    return None


def queue(
    conn: Connection, *, destination: str, payload: Resource, person: str, message_id: str
) -> None:
    """The revocation notice, on the open transaction (per-person order: after every message
    about the person queued earlier for the same destination)."""
    enqueue(
        conn,
        destination=destination,
        kind=REVOCATION,
        payload=payload,
        person=person,
        message_id=message_id,
    )
