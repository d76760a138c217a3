"""The transactional outbox: messages to other organisations, stored with the change they announce.

:func:`enqueue` writes a message on the caller's open write transaction (``SqlRepository
.begin_write()``): the state change and its message commit together or not at all. ``ipfhir
worker`` then takes messages with :meth:`Outbox.claim` and settles each with
:meth:`Outbox.delivered`, :meth:`Outbox.retry` or :meth:`Outbox.dead`.

States: ``queued`` (waiting until ``due_at``) → ``in_flight`` (claimed; the claim is a lease
that ends at ``due_at``, so a worker killed mid-delivery does not hold a message forever) →
``delivered`` or, after the retry policy gives up, ``dead`` (visible, replayable: ``ipfhir outbox
list|replay``). A message is claimed only when no earlier message for the same person and
destination is still queued or in flight (per-person order); a dead one blocks nothing, so one
poison message never stops the others. Claims take row locks with ``SKIP LOCKED`` on
PostgreSQL, so several workers never hold the same message; SQLite's writers queue.

The receiver de-duplicates by ``message_id``: a redelivery after a lost answer is harmless.

``maybe_reached`` counts the attempts that may have reached the receiver over the message's
whole life: each settled as delivered or retried, and each whose lease ran out unsettled (a
worker that died mid-send). An attempt that ends the message dead is not counted — its
``last_error`` says how it ended (refused by the receiver, held back unsent, or retries spent)
and only the caller can read that; a replay restarts ``attempts`` but keeps the count, so "was
this message ever possibly received?" survives it (the plan transfer asks it,
:mod:`adapter.sync.transfer_state`). :func:`enqueue_if_absent` queues nothing for a message id
already in the outbox (two writers deriving the same id).
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

from sqlalchemy import Connection, Engine, case, func, insert, select, update

from ipfhir.adapter.store.driver_sql import insert_rows
from ipfhir.adapter.store.engine import WRITE_OPTION
from ipfhir.adapter.store.schema import outbox

__all__ = ["Message", "Outbox", "Status", "enqueue", "enqueue_if_absent"]

Status = Literal["queued", "in_flight", "delivered", "dead"]
STATUSES: tuple[Status, ...] = ("queued", "in_flight", "delivered", "dead")
_UNSETTLED = ("queued", "in_flight")
_WINDOW = 10  # due messages looked at per claimed one, per window
_WINDOWS = 20  # windows at most per claim (a backlog of one person's messages)


@dataclass(frozen=True)
class Message:
    seq: int
    message_id: str
    destination: str
    kind: str
    person: str | None
    payload: dict[str, Any]
    status: Status
    attempts: int
    created_at: float
    due_at: float
    finished_at: float | None
    last_error: str | None
    response: str | None
    maybe_reached: int = 0  # attempts that may have reached the receiver, replays included


def _row(
    *,
    destination: str,
    kind: str,
    payload: dict[str, Any],
    person: str | None,
    message_id: str,
    now: float | None,
) -> dict[str, Any]:
    at = time.time() if now is None else now
    return {
        "message_id": message_id,
        "destination": destination,
        "kind": kind,
        "person": person,
        "payload": json.dumps(payload, ensure_ascii=False, separators=(",", ":")),
        "status": "queued",
        "attempts": 0,
        "maybe_reached": 0,
        "created_at": at,
        "due_at": at,
    }


def enqueue(
    conn: Connection,
    *,
    destination: str,
    kind: str,
    payload: dict[str, Any],
    person: str | None = None,
    message_id: str | None = None,
    now: float | None = None,
) -> str:
    """Queue a message on ``conn``'s open transaction; returns its id (the receiver's
    de-duplication key)."""
    message_id = message_id or str(uuid.uuid4())
    conn.execute(
        insert(outbox).values(
            **_row(
                destination=destination,
                kind=kind,
                payload=payload,
                person=person,
                message_id=message_id,
                now=now,
            )
        )
    )
    return message_id


def enqueue_if_absent(
    conn: Connection,
    *,
    destination: str,
    kind: str,
    payload: dict[str, Any],
    person: str | None,
    message_id: str,
    now: float | None = None,
) -> bool:
    """:func:`enqueue` unless a message ``message_id`` is in the outbox already (queued by a
    concurrent writer deriving the same id): then nothing is queued and the answer is
    ``False`` — no unique-key error (on PostgreSQL the insert waits for that writer's commit)."""
    row = _row(
        destination=destination,
        kind=kind,
        payload=payload,
        person=person,
        message_id=message_id,
        now=now,
    )
    return bool(insert_rows(conn, outbox, row, ignore_conflict=True))


def _message(row: Any) -> Message:
    m = row._mapping
    return Message(
        seq=int(m["seq"]),
        message_id=m["message_id"],
        destination=m["destination"],
        kind=m["kind"],
        person=m["person"],
        payload=json.loads(m["payload"]),
        status=m["status"],
        attempts=int(m["attempts"]),
        created_at=float(m["created_at"]),
        due_at=float(m["due_at"]),
        finished_at=None if m["finished_at"] is None else float(m["finished_at"]),
        last_error=m["last_error"],
        response=m["response"],
        maybe_reached=int(m["maybe_reached"]),
    )


class Outbox:
    """The outbox table: queued on a write's transaction (:meth:`enqueue`, the
    :class:`~adapter.ports.OutboxWriter` port), and the worker's and the operator's view."""

    def __init__(self, engine: Engine, clock: Callable[[], float] = time.time) -> None:
        self.engine = engine
        self._write = engine.execution_options(**{WRITE_OPTION: True})
        self._clock = clock

    def enqueue(
        self,
        transaction: Connection,
        *,
        destination: str,
        kind: str,
        payload: dict[str, Any],
        person: str | None = None,
        message_id: str | None = None,
    ) -> str:
        """:func:`enqueue` on ``transaction`` (an open write transaction of this store)."""
        return enqueue(
            transaction,
            destination=destination,
            kind=kind,
            payload=payload,
            person=person,
            message_id=message_id,
        )

    def claim(self, limit: int = 20, lease: float = 60.0) -> list[Message]:
        """Up to ``limit`` messages due now, oldest first, each leased for ``lease`` seconds.

        Found in windows of due messages (``seq`` order, ``_WINDOW`` × ``limit`` at a time):
        a message is claimable when it is the first unsettled one of its person and
        destination (one grouped query over the window's persons) — not one correlated
        subquery per due message, which made a claim's time grow with the backlog while it
        held SQLite's one writer. The chosen rows are read again under the claim's lock (on
        PostgreSQL ``FOR UPDATE SKIP LOCKED``): one another worker took meanwhile is not
        due any more and is left out."""
        now = self._clock()
        due = outbox.c.status.in_(_UNSETTLED) & (outbox.c.due_at <= now)
        with self._write.begin() as conn:
            chosen = self._claimable(conn, due, limit)
            query = select(outbox).where(due, outbox.c.seq.in_(chosen)).order_by(outbox.c.seq)
            if conn.dialect.name == "postgresql":
                query = query.with_for_update(skip_locked=True, of=outbox)
            rows = [_message(r) for r in conn.execute(query)] if chosen else []
            if rows:
                conn.execute(
                    update(outbox)
                    .where(outbox.c.seq.in_([m.seq for m in rows]))
                    .values(
                        status="in_flight",
                        due_at=now + lease,
                        attempts=outbox.c.attempts + 1,
                        maybe_reached=outbox.c.maybe_reached  # a lease that ran out unsettled
                        + case((outbox.c.status == "in_flight", 1), else_=0),
                    )
                )
        return [
            Message(
                **{
                    **m.__dict__,
                    "status": "in_flight",
                    "attempts": m.attempts + 1,
                    "maybe_reached": m.maybe_reached + (m.status == "in_flight"),
                }
            )
            for m in rows
        ]

    @staticmethod
    def _claimable(conn: Connection, due: Any, limit: int) -> list[int]:
        chosen: list[int] = []
        after = -1
        for _window in range(_WINDOWS):
            window = conn.execute(
                select(outbox.c.seq, outbox.c.person, outbox.c.destination)
                .where(due, outbox.c.seq > after)
                .order_by(outbox.c.seq)
                .limit(limit * _WINDOW)
            ).all()
            persons = {person for _seq, person, _dest in window if person is not None}
            first = (
                {
                    (person, dest): seq
                    for person, dest, seq in conn.execute(
                        select(outbox.c.person, outbox.c.destination, func.min(outbox.c.seq))
                        .where(outbox.c.status.in_(_UNSETTLED), outbox.c.person.in_(persons))
                        .group_by(outbox.c.person, outbox.c.destination)
                    )
                }
                if persons
                else {}
            )
            for seq, person, dest in window:
                if person is None or first.get((person, dest)) == seq:
                    chosen.append(seq)
            if len(chosen) >= limit or len(window) < limit * _WINDOW:
                break
            after = window[-1][0]
        return chosen[:limit]

    def _settle(self, message: Message, **values: Any) -> bool:
        """Settle a claimed message; ``False`` when the claim was lost (lease expired and another
        worker took it), in which case that worker's answer counts."""
        with self._write.begin() as conn:
            done = conn.execute(
                update(outbox)
                .where(
                    outbox.c.seq == message.seq,
                    outbox.c.status == "in_flight",
                    outbox.c.attempts == message.attempts,
                )
                .values(**values)
            )
            return bool(done.rowcount)

    def delivered(self, message: Message, response: str | None = None) -> bool:
        return self._settle(
            message,
            status="delivered",
            finished_at=self._clock(),
            response=response,
            maybe_reached=outbox.c.maybe_reached + 1,
        )

    def retry(self, message: Message, error: str, delay: float) -> bool:
        """Another attempt later: this one got no usable answer, so it may have reached."""
        return self._settle(
            message,
            status="queued",
            due_at=self._clock() + delay,
            last_error=error[:2000],
            maybe_reached=outbox.c.maybe_reached + 1,
        )

    def dead(self, message: Message, error: str) -> bool:
        return self._settle(
            message, status="dead", finished_at=self._clock(), last_error=error[:2000]
        )

    def release(self, message: Message) -> bool:
        """A claimed message not sent after all (the worker stops) back in the queue, due now,
        its attempt unspent."""
        return self._settle(
            message, status="queued", due_at=self._clock(), attempts=message.attempts - 1
        )

    def receipt(
        self, message_id: str, destination: str, *, response: str, error: str | None
    ) -> bool:
        """A receiver's own receipt for a message delivered to ``destination`` (a legacy
        partner's AppRec): ``error`` makes it dead (replayable), else it stays delivered with
        ``response``. ``False`` when no message of that id was delivered there."""
        values: dict[str, Any] = {"response": response[:2000]}
        if error is not None:
            values.update(status="dead", last_error=error[:2000], finished_at=self._clock())
        with self._write.begin() as conn:
            done = conn.execute(
                update(outbox)
                .where(
                    outbox.c.message_id == message_id,
                    outbox.c.destination == destination,
                    outbox.c.status == "delivered",
                )
                .values(**values)
            )
            return bool(done.rowcount)

    def replay(self, message_id: str) -> bool:
        """A dead message queued again (attempts from zero, ``maybe_reached`` kept); ``False``
        if it is not dead."""
        with self._write.begin() as conn:
            done = conn.execute(
                update(outbox)
                .where(outbox.c.message_id == message_id, outbox.c.status == "dead")
                .values(status="queued", attempts=0, due_at=self._clock(), finished_at=None)
            )
            return bool(done.rowcount)

    def list(self, status: Status | None = None, limit: int = 100) -> list[Message]:
        query = select(outbox).order_by(outbox.c.seq).limit(limit)
        if status is not None:
            query = query.where(outbox.c.status == status)
        with self.engine.connect() as conn:
            return [_message(r) for r in conn.execute(query)]

    def get(self, message_id: str) -> Message | None:
        with self.engine.connect() as conn:
            row = conn.execute(select(outbox).where(outbox.c.message_id == message_id)).first()
        return None if row is None else _message(row)

    def metrics(self) -> dict[str, float]:
        """Counts per state and the age in seconds of the oldest message not yet settled."""
        with self.engine.connect() as conn:
            counts: dict[str, float] = dict.fromkeys(STATUSES, 0.0)
            for status, count in conn.execute(
                select(outbox.c.status, func.count()).group_by(outbox.c.status)
            ):
                counts[status] = float(count)
            oldest = conn.execute(
                select(func.min(outbox.c.created_at)).where(outbox.c.status.in_(_UNSETTLED))
            ).scalar()
        age = 0.0 if oldest is None else max(0.0, self._clock() - float(oldest))
        return {**counts, "oldest_age_s": age}
