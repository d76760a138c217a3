"""The delivery engine's thin shell: claim due messages from the outbox, POST each to its
destination, settle it as :mod:`adapter.sync.policy` judges the answer.

Every request has connect and read timeouts; a message that keeps failing ends ``dead`` (visible
and replayable), never dropped; several workers on one PostgreSQL never hold the same message
(the outbox's ``SKIP LOCKED`` claims). The body and headers carry the message id, which the
receiver de-duplicates on, so a redelivery after a lost answer does no harm.
"""

from __future__ import annotations

import json
import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol

import requests

from ipfhir.adapter.store.outbox import Message, Outbox
from ipfhir.adapter.sync.policy import Attempt, RetryPolicy, judge

__all__ = ["HttpTransport", "Transport", "Worker"]

FHIR_JSON = "application/fhir+json"


class Transport(Protocol):
    def post(self, message: Message) -> Attempt: ...


class HttpTransport:
    """``requests`` with one session (connection reuse), timeouts on connect and read, and the
    headers a receiver needs: the content type, the message id, and — when a token source is
    given — ``Authorization: Bearer`` for the destination."""

    def __init__(
        self,
        connect_timeout: float = 5.0,
        read_timeout: float = 30.0,
        token_for: Callable[[str], str | None] | None = None,
    ) -> None:
        self._session = requests.Session()
        self._timeouts = (connect_timeout, read_timeout)
        self._token_for = token_for

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
        try:
            answer = self._session.post(
                message.destination, data=body, headers=headers, timeout=self._timeouts
            )
        except requests.RequestException as err:
            return Attempt(error=f"{type(err).__name__}: {' '.join(str(err).split())[:300]}")
        return Attempt(answer.status_code, answer.text, answer.headers.get("Retry-After"))

    def close(self) -> None:
        self._session.close()


@dataclass
class Worker:
    outbox: Outbox
    transport: Transport
    policy: RetryPolicy = field(default_factory=RetryPolicy)
    batch: int = 20
    lease: float = 120.0  # longer than one attempt can take (connect + read timeouts)
    rng: random.Random = field(default_factory=random.Random)
    clock: Callable[[], float] = time.time

    def run_once(self) -> int:
        """Deliver what is due now; the number of messages attempted."""
        claimed = self.outbox.claim(self.batch, self.lease)
        for message in claimed:
            self._deliver(message)
        return len(claimed)

    def _deliver(self, message: Message) -> None:
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
        """Until ``stop`` is set: deliver, and sleep ``idle`` seconds when nothing was due."""
        while not stop.is_set():
            if self.run_once() == 0:
                stop.wait(idle)
