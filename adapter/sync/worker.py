"""The delivery engine's thin shell: claim due messages from the outbox, POST each to its
destination, settle it as :mod:`adapter.sync.policy` judges the answer.

Every request has connect and read timeouts; a message that keeps failing ends ``dead`` (visible
and replayable), never dropped; several workers on one PostgreSQL never hold the same message
(the outbox's ``SKIP LOCKED`` claims). The body and headers carry the message id, which the
receiver de-duplicates on, so a redelivery after a lost answer does no harm.
"""

from __future__ import annotations

import json
import logging
import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import requests
from sqlalchemy.exc import SQLAlchemyError

from ipfhir.adapter.ports import Outbox, Transport
from ipfhir.adapter.startup import one_line
from ipfhir.adapter.store.outbox import Message
from ipfhir.adapter.sync.policy import Attempt, RetryPolicy, judge

__all__ = ["HttpTransport", "Transport", "Worker"]

FHIR_JSON = "application/fhir+json"
_log = logging.getLogger(__name__)


class _AnswerRefused(Exception):
    """The receiver's answer broke a limit (size, overall time): no usable answer."""


class HttpTransport:
    """``requests`` with one session (connection reuse), timeouts on connect and on each read,
    an overall deadline for the whole answer (a receiver trickling its body cannot hold the
    worker), a cap on the answer's size, no redirects (the message goes to its destination and
    nowhere else: a 3xx is an answer, judged like any other), and the headers a receiver needs:
    the content type, the message id and — when a token source is given — ``Authorization``."""

    def __init__(
        self,
        connect_timeout: float = 5.0,
        read_timeout: float = 30.0,
        token_for: Callable[[str], str | None] | None = None,
        deadline: float = 60.0,
        max_answer: int = 1_000_000,
    ) -> None:
        self._session = requests.Session()
        self._timeouts = (connect_timeout, read_timeout)
        self._token_for = token_for
        self._deadline = deadline
        self._max_answer = max_answer

    def post(self, message: Message) -> Attempt:
        headers = {
            "Content-Type": FHIR_JSON,
            "Accept": FHIR_JSON,
            "X-Request-Id": message.message_id,
        }
        token = self._token_for(message.destination) if self._token_for else None
        if token:
            headers["Authorization"] = f"Bearer {token}"
        body = json.dumps(message.payload, ensure_ascii=False).encode("utf-8")
        until = time.monotonic() + self._deadline
        try:
            with self._session.post(
                message.destination,
                data=body,
                headers=headers,
                timeout=self._timeouts,
                allow_redirects=False,
                stream=True,
            ) as answer:
                text = self._read(answer, until)
        except requests.RequestException as err:
            return Attempt(error=f"{type(err).__name__}: {' '.join(str(err).split())[:300]}")
        except _AnswerRefused as err:
            return Attempt(error=str(err))
        return Attempt(answer.status_code, text, answer.headers.get("Retry-After"))

    def _read(self, answer: requests.Response, until: float) -> str:
        chunks: list[bytes] = []
        size = 0
        raw = answer.raw  # read1: whatever has arrived, so the deadline is checked as it comes
        while chunk := raw.read1(8192, decode_content=True):
            size += len(chunk)
            if size > self._max_answer:
                raise _AnswerRefused(f"answer larger than {self._max_answer} bytes")
            if time.monotonic() > until:
                raise _AnswerRefused(f"answer not complete within {self._deadline:g} s")
            chunks.append(chunk)
        return b"".join(chunks).decode(answer.encoding or "utf-8", errors="replace")

    def close(self) -> None:
        self._session.close()


@dataclass
class Worker:
    outbox: Outbox[Message]
    transport: Transport[Message, Attempt]
    policy: RetryPolicy = field(default_factory=RetryPolicy)
    batch: int = 20
    lease: float = 120.0  # longer than one attempt can take (connect + read timeouts)
    rng: random.Random = field(default_factory=random.Random)
    clock: Callable[[], float] = time.time
    # Checked just before each send: a reason means the message may no longer go (it ends
    # dead with that reason, unsent), e.g. adapter/sync/gate.py: the consent was withdrawn.
    before_send: Callable[[Message], str | None] | None = None

    def run_once(self) -> int:
        """Deliver what is due now; the number of messages attempted."""
        claimed = self.outbox.claim(self.batch, self.lease)
        for message in claimed:
            self._deliver(message)
        return len(claimed)

    def _deliver(self, message: Message) -> None:
        refusal = self.before_send(message) if self.before_send is not None else None
        if refusal is not None:
            self.outbox.dead(message, refusal)
            return
        attempt = self.transport.post(message)
        outcome = judge(
            attempt, message.message_id, message.attempts, self.policy, self.rng, self.clock()
        )
        if outcome.verdict == "delivered":
            self.outbox.delivered(message, attempt.body[:20000])
        elif outcome.verdict == "retry":
            self.outbox.retry(message, outcome.reason, outcome.delay)
        else:
            self.outbox.dead(message, outcome.reason)

    def run(self, stop: threading.Event, idle: float = 1.0) -> None:
        """Until ``stop`` is set: deliver, and sleep ``idle`` seconds when nothing was due. A
        database that is away (locked, restarting) is waited for, one log line a time, with a
        growing pause; the messages it holds are not lost (an unsettled claim's lease ends)."""
        pause = idle
        while not stop.is_set():
            try:
                attempted = self.run_once()
            except (SQLAlchemyError, OSError) as err:
                _log.warning("outbox unavailable, retrying in %.0f s: %s", pause, one_line(err))
                stop.wait(pause)
                pause = min(pause * 2, 60.0)
                continue
            pause = idle
            if attempted == 0:
                stop.wait(idle)
