"""The delivery engine's thin shell: claim due messages from the outbox, POST each to its
destination, settle it as :mod:`adapter.sync.policy` judges the answer.

Every request has connect and read timeouts; a message that keeps failing ends ``dead`` (visible
and replayable), never dropped; several workers on one PostgreSQL never hold the same message
(the outbox's ``SKIP LOCKED`` claims). The body and headers carry the message id, which the
receiver de-duplicates on, so a redelivery after a lost answer does no harm.

Between deliveries :meth:`Worker.run` calls its ``housekeeping`` (if given) once every
``housekeeping_every`` seconds of its clock — the CLI gives it
:func:`~adapter.sync.transfer_state.settle_transfers`, so a transfer whose message died or whose
answer is overdue fails, and its plan becomes writable again, without an operator. A
housekeeping that breaks is logged and tried again at its next turn; it never stops delivery.
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
from ipfhir.mappings.errors import IpError

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
        """One attempt; a 401 to a kept token is sent once more with a new one (the receiver
        may no longer know the old: its key changed, it forgot it)."""
        body = json.dumps(message.payload, ensure_ascii=False).encode("utf-8")
        attempt, token = self._post(message, body)
        forget = getattr(self._token_for, "forget", None)
        if attempt.status == 401 and token and callable(forget):
            forget(message.destination)
            attempt, _token = self._post(message, body)
        return attempt

    def _post(self, message: Message, body: bytes) -> tuple[Attempt, str | None]:
        headers = {
            "Content-Type": FHIR_JSON,
            "Accept": FHIR_JSON,
            "X-Request-Id": message.message_id,
        }
        try:
            token = self._token_for(message.destination) if self._token_for else None
        except IpError as err:  # no token now: a failed attempt, never a send without it
            return Attempt(error=f"no access token: {' '.join(str(err).split())[:300]}"), None
        if token:
            headers["Authorization"] = f"Bearer {token}"
        return self._send(message, body, headers), token

    def _send(self, message: Message, body: bytes, headers: dict[str, str]) -> Attempt:
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
    # Called between deliveries once every ``housekeeping_every`` seconds (by ``clock``).
    housekeeping: Callable[[], object] | None = None
    housekeeping_every: float = 60.0
    _housekeeping_due: float | None = field(default=None, init=False, repr=False)

    def housekeep(self) -> bool:
        """Run the housekeeping if its turn has come (the first call always); did it run? A
        database that is away is raised (:meth:`run` waits for it), anything else logged."""
        if self.housekeeping is None:
            return False
        now = self.clock()
        if self._housekeeping_due is not None and now < self._housekeeping_due:
            return False
        self._housekeeping_due = now + self.housekeeping_every
        try:
            self.housekeeping()
        except (SQLAlchemyError, OSError):
            raise
        except Exception:
            _log.exception("the worker's housekeeping failed; tried again at its next turn")
        return True

    def run_once(self, stop: threading.Event | None = None) -> int:
        """Deliver what is due now; the number of messages attempted. Once ``stop`` is set the
        messages claimed but not yet sent go back to the queue unspent (a shutdown does not
        hold them for a lease). A delivery that fails in an unforeseen way (a bug, a token
        source that breaks) is a failed attempt of that message alone: it is retried and in
        the end dead, never a crash that holds the others."""
        claimed = self.outbox.claim(self.batch, self.lease)
        for n, message in enumerate(claimed):
            if stop is not None and stop.is_set():
                for unsent in claimed[n:]:
                    self.outbox.release(unsent)
                return n
            try:
                self._deliver(message)
            except (SQLAlchemyError, OSError):
                raise  # the database is away: run() waits for it; the lease returns the rest
            except Exception as err:
                _log.exception("delivery of %s failed unexpectedly", message.message_id)
                self._settle(message, Attempt(error=f"internal error: {type(err).__name__}"))
        return len(claimed)

    def _deliver(self, message: Message) -> None:
        refusal = self.before_send(message) if self.before_send is not None else None
        if refusal is not None:
            self.outbox.dead(message, refusal)
            return
        self._settle(message, self.send(message))

    def send(self, message: Message) -> Attempt:
        """The one delivery call: where another transport (a folder, a queue) plugs in."""
        return self.transport.post(message)

    def _settle(self, message: Message, attempt: Attempt) -> None:
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
                self.housekeep()
                attempted = self.run_once(stop)
            except (SQLAlchemyError, OSError) as err:
                _log.warning("outbox unavailable, retrying in %.0f s: %s", pause, one_line(err))
                stop.wait(pause)
                pause = min(pause * 2, 60.0)
                continue
            pause = idle
            if attempted == 0:
                stop.wait(idle)
