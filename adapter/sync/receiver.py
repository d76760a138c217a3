"""``$process-message``: the receiving side of an exchange.

:meth:`Receiver.process` takes the authenticated organisation (from the verified token, never
from the message) and the body, and returns the HTTP status and the answer:

0. the token must carry the message scope (``system/MessageHeader.c``, or a wider scope
   that includes creating a MessageHeader): a reading token sends nothing (403, IP-6120,
   audited like every refusal) — ``$process-message`` writes into this adapter's store;
1. the organisation must be routable in this adapter's directory, and the MessageHeader's
   ``source.endpoint`` its directory endpoint (else 403, IP-6070/6072: nobody else reaches the
   store, and nothing is recorded for them); the addressed organisation
   (``MessageHeader.destination.receiver``, which the inbox compares with ``Task.owner``) one
   this adapter serves (else IP-6077): never the sender itself, never one the directory routes
   to another endpoint — and, once the directory names organisations at this adapter's own
   base, one of those (an answer needs no such check: it can only change a notification this
   adapter sent to the answering organisation, IP-6076);
2. a message id this sender used before gets the answer given then, unchanged (de-duplication
   per sender: another sender's id names another message, and never sees that answer);
3. the message is checked and carried out (:mod:`adapter.sync.inbox`) in ONE write
   transaction together with the row that records its answer (``received_messages``): a
   concurrent duplicate loses the insert, rolls back all it wrote and answers with the row
   the winner stored;
   An ``ip-revocation`` marks what the sender sent here under the consent it names
   (:mod:`adapter.sync.revocation`; IP-6101/6102 refuse it);
4. a message that cannot be carried out now (:class:`~adapter.sync.messages.TryAgain`, e.g. the
   plan changed while a transfer read it) is answered ``transient-error`` and recorded nowhere:
   the sender's worker retries it;
5. a message refused as it stands (IP-6071–6076, or a Task the profile validator refuses) is
   answered ``fatal-error`` with an
   OperationOutcome (recorded too: resending it changes nothing), a body with no message id
   400 with an OperationOutcome.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from sqlalchemy import Connection, insert, select
from sqlalchemy.exc import IntegrityError

from ipfhir.adapter.auth.scopes import scope_allows
from ipfhir.adapter.directory.guard_messages import issue_guard
from ipfhir.adapter.directory.store import SqlDirectory
from ipfhir.adapter.store.repository import SqlRepository
from ipfhir.adapter.store.schema import received_messages as table
from ipfhir.adapter.sync.inbox import carry_out
from ipfhir.adapter.sync.messages import MessageRefused, SenderRefused, TryAgain, issue_sync
from ipfhir.adapter.sync.messaging import (
    REQUESTS,
    REVOCATION,
    Incoming,
    message_id_of,
    read_message,
    response_bundle,
)
from ipfhir.adapter.sync.recorded import record_refusal
from ipfhir.adapter.sync.revocation import revoke_received
from ipfhir.mappings.errors import InvalidInput

__all__ = ["Handler", "Receiver"]

Resource = dict[str, Any]
# An event carried out elsewhere (the plan transfer, adapter/sync/transfer_inbox.py): given the
# sender and the checked message, it reads what it needs and returns what to do on the
# receiver's write transaction (or raises MessageRefused: answered fatal-error).
Handler = Callable[[str, Incoming], Callable[[Connection], None]]


def _why(err: InvalidInput | SenderRefused, what: str) -> str:
    """``what``, with the refusal's message ids (e.g. ``refused: IP-6070``)."""
    return f"$process-message {what}: " + ", ".join(i.message_id for i in err.issues)


def _check_scope(scopes: tuple[str, ...]) -> None:
    if not scope_allows(scopes, "MessageHeader", "create"):
        shown = " ".join(scopes)[:120] or "(none)"
        raise SenderRefused([issue_guard("IP-6120", None, "forbidden", scopes=shown)])


def _iso(at: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(at))


def _no_check(_body: Resource) -> None:
    return None


class Receiver:
    """``base``: this adapter's FHIR base (the endpoint messages must be addressed to);
    ``check``: the API's input checks of a body (what the store cannot hold, e.g. a system
    longer than its search index), raising an :class:`InvalidInput` — applied to an admitted
    sender's message before anything in it is carried out; ``handlers``: events carried out
    by a :data:`Handler` instead of :mod:`adapter.sync.inbox`."""

    def __init__(
        self,
        repository: SqlRepository,
        directory: SqlDirectory,
        base: str,
        clock: Callable[[], float] = time.time,
        check: Callable[[Resource], None] = _no_check,
        handlers: Mapping[str, Handler] | None = None,
    ) -> None:
        self.repository = repository
        self.directory = directory
        self.address = base.rstrip("/") + "/$process-message"
        self.clock = clock
        self.check = check
        self.handlers = dict(handlers or {})

    def process(
        self, sender: str | None, body: Any, scopes: Iterable[str] | None = None
    ) -> tuple[int, Resource]:
        """``scopes``: the verified token's (the HTTP route always gives them); ``None`` only
        for a caller that authorised the sender itself."""
        try:
            if scopes is not None:
                _check_scope(tuple(scopes))
            return self._process(sender, body)
        except (SenderRefused, MessageRefused) as err:  # answered 403 / 400, recorded nowhere else
            with self.repository.begin_write() as conn:
                record_refusal(conn, organisation=sender, detail=_why(err, "refused"))
            raise

    def _process(self, sender: str | None, body: Any) -> tuple[int, Resource]:
        directory = self.directory.snapshot()  # one read of the directory per message
        entry = directory.get(sender) if sender else None
        if entry is None or not entry.routable or entry.endpoint is None:
            raise SenderRefused([issue_sync("IP-6070", None, "forbidden")])
        assert sender is not None
        message_id = message_id_of(body)
        if message_id is None:
            raise MessageRefused(
                [
                    issue_sync(
                        "IP-6071", "Bundle.entry[0]", "structure", detail="no MessageHeader id"
                    )
                ]
            )
        earlier = self._answer(sender, message_id)
        if earlier is not None:
            return 200, earlier
        try:
            incoming = read_message(body)
            if incoming.source_endpoint.rstrip("/") != entry.endpoint.address.rstrip("/"):
                raise SenderRefused([issue_sync("IP-6072", "MessageHeader.source", "forbidden")])
            if incoming.destination_endpoint != self.address:
                shown = incoming.destination_endpoint[:200]
                raise MessageRefused(
                    [issue_sync("IP-6073", "MessageHeader.destination", value=shown)]
                )
            serves = incoming.event not in REQUESTS or self._serves(
                directory, incoming.receiver_orgnr, sender
            )
            if not serves:
                shown = str(incoming.receiver_orgnr)[:20]
                raise MessageRefused(
                    [issue_sync("IP-6077", "MessageHeader.destination.receiver", orgnr=shown)]
                )
            self.check(body)
            return 200, self._carry_out(sender, incoming, directory)
        except InvalidInput as err:  # IP-6071..6076, and the profile validator's IP-3xxx
            answer = self._answer_of(message_id, err)
            detail = _why(err, f"message {message_id[:80]} refused")

            def audit(conn: Connection) -> None:
                record_refusal(conn, organisation=sender, detail=detail)

            return 200, self._record(sender, message_id, "refused", answer, audit)

    def _serves(self, directory: SqlDirectory, orgnr: str | None, sender: str) -> bool:
        """Is ``orgnr`` an organisation this adapter serves (see the module doc)?"""
        if orgnr is None or orgnr == sender:
            return False
        here = self.address.removesuffix("/$process-message")
        at = {
            e.orgnr
            for e in directory.entries()
            if e.endpoint is not None and e.endpoint.address.rstrip("/") == here
        }
        if at:
            return orgnr in at
        entry = directory.get(orgnr)
        return entry is None or entry.endpoint is None or entry.endpoint.address.rstrip("/") == here

    def _answer_of(self, message_id: str, err: InvalidInput | None) -> Resource:
        return response_bundle(
            answer_id=str(uuid.uuid4()),
            request_id=message_id,
            code_="ok" if err is None else "fatal-error",
            timestamp=_iso(self.clock()),
            err=err,
        )

    def _carry_out(self, sender: str, incoming: Incoming, directory: SqlDirectory) -> Resource:
        answer = self._answer_of(incoming.message_id, None)
        handler = self.handlers.get(incoming.event)
        if handler is not None:
            return self._record(
                sender, incoming.message_id, incoming.event, answer, handler(sender, incoming)
            )

        def act(conn: Connection) -> None:
            if incoming.event == REVOCATION:
                revoke_received(self.repository, conn, sender, incoming)
            else:
                carry_out(self.repository, conn, sender, incoming, directory)

        return self._record(sender, incoming.message_id, incoming.event, answer, act)

    def _record(
        self,
        sender: str,
        message_id: str,
        event: str,
        answer: Resource,
        act: Callable[[Connection], None],
    ) -> Resource:
        """``act`` and the answer's row in one transaction; a duplicate that committed first
        wins (its answer is returned, this one's writes are rolled back)."""
        row = {
            "sender": sender,
            "message_id": message_id,
            "event": event,
            "received_at": self.clock(),
            "response": json.dumps(answer, ensure_ascii=False),
        }
        try:
            with self.repository.begin_write() as conn:
                act(conn)
                conn.execute(insert(table).values(**row))
        except TryAgain:  # nothing recorded: the sender's retry is carried out afresh
            return response_bundle(
                answer_id=str(uuid.uuid4()),
                request_id=message_id,
                code_="transient-error",
                timestamp=_iso(self.clock()),
                err=None,
            )
        except IntegrityError:
            earlier = self._answer(sender, message_id)
            if earlier is None:
                raise
            return earlier
        return answer

    def _answer(self, sender: str, message_id: str) -> Resource | None:
        query = select(table.c.response).where(
            table.c.sender == sender, table.c.message_id == message_id
        )
        with self.repository.engine.connect() as conn:
            found = conn.execute(query).scalar_one_or_none()
        return None if found is None else dict(json.loads(found))
