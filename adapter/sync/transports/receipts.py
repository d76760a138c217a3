"""The AppRec the legacy inbox gave each message (``legacy_receipts``), so that a message sent
again is answered with the very same bytes and a MsgId reused for another message is refused.

What names a message (``key``): from a known partner, its organisasjonsnummer and MsgId (the
partner's MsgIds are its own); anything else — unreadable bytes, an unknown sender — only its
bytes (no one owns a MsgId there, so an identical resend is the only duplicate).

What "the same message" means (``digest``): the content the inbox acts on — the message as read
into the model (:func:`ipfhir.mappings.legacy.jsonform.model_to_json`) without its envelope
metadata: ``MsgInfo/GenDate`` (a communication program stamps a new one on a resend) and the
``ds:Signature`` (made anew with it). Whitespace, attribute order and anything the model does not
read do not count either: they change nothing the inbox does. Another person, another text,
another receiver — anything else — is another message, and under a used MsgId it is refused.

The row is claimed (``apprec`` empty) before the message is carried out, so two pollers taking
two different messages under one MsgId at once cannot both be answered for it: the second sees
the first's claim. A message whose handling failed for a reason of ours leaves the claim: the
retry (same content) carries it out, and the receiver's de-duplication keeps that once.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any

from sqlalchemy import insert, select, update
from sqlalchemy.exc import IntegrityError

from ipfhir.adapter.store.repository import SqlRepository
from ipfhir.adapter.store.schema import legacy_receipts as table
from ipfhir.mappings.legacy import Message
from ipfhir.mappings.legacy.jsonform import model_to_json

__all__ = ["Kept", "Receipts", "content_digest", "conflict_key", "key_of_bytes", "key_of_message"]

_ENVELOPE = ("gen_date", "signature")


def _sha(*parts: str) -> str:
    return hashlib.sha256("\x1f".join(parts).encode()).hexdigest()


def key_of_message(partner: str, msg_id: str) -> str:
    return _sha("msg", partner, msg_id)


def key_of_bytes(data: bytes) -> str:
    return _sha("bytes", hashlib.sha256(data).hexdigest())


def conflict_key(key: str, digest: str) -> str:
    """Where the refusal of another content under ``key`` is kept."""
    return _sha("conflict", key, digest)


def content_digest(model: Message) -> str:
    body: dict[str, Any] = {k: v for k, v in model_to_json(model).items() if k not in _ENVELOPE}
    return _sha("content", json.dumps(body, sort_keys=True, ensure_ascii=False, default=str))


@dataclass(frozen=True)
class Kept:
    digest: str
    name: str | None
    outcome: str | None
    apprec: bytes | None


class Receipts:
    def __init__(self, repository: SqlRepository) -> None:
        self.repository = repository

    def get(self, key: str) -> Kept | None:
        query = select(table.c.digest, table.c.name, table.c.outcome, table.c.apprec).where(
            table.c.key == key
        )
        with self.repository.engine.connect() as conn:
            row = conn.execute(query).first()
        if row is None:
            return None
        return Kept(row[0], row[1], row[2], None if row[3] is None else bytes(row[3]))

    def claim(self, key: str, digest: str, now: float) -> Kept:
        """The row for ``key``: this content's new claim, or what another took first."""
        try:
            with self.repository.begin_write() as conn:
                conn.execute(insert(table).values(key=key, digest=digest, received_at=now))
        except IntegrityError:
            pass
        kept = self.get(key)
        assert kept is not None
        return kept

    def keep(self, key: str, digest: str, now: float, name: str, outcome: str, data: bytes) -> Kept:
        """Store the AppRec under ``key`` unless one is stored already; the one that stays."""
        values = {"name": name, "outcome": outcome, "apprec": data}
        try:
            with self.repository.begin_write() as conn:
                done = conn.execute(
                    update(table)
                    .where(table.c.key == key, table.c.digest == digest, table.c.apprec.is_(None))
                    .values(**values)
                ).rowcount
                if not done and self._absent(conn, key):
                    conn.execute(
                        insert(table).values(key=key, digest=digest, received_at=now, **values)
                    )
        except IntegrityError:
            pass  # another took it first: theirs stays
        kept = self.get(key)
        assert kept is not None
        return kept

    @staticmethod
    def _absent(conn: Any, key: str) -> bool:
        return conn.execute(select(table.c.key).where(table.c.key == key)).first() is None
