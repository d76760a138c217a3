"""How a delivery attempt ends, decided from what the receiver answered — pure, no I/O, no clock.

A FHIR messaging receiver answers ``$process-message`` with a message Bundle whose MessageHeader
``response`` names our message id and a code (ok / transient-error / fatal-error). Outcomes:
- ``delivered``: 2xx and ``response.code`` ok for our id;
- ``retry``: no answer (connection refused, timeout), 408, 425, 429, 5xx, a 2xx whose body is not
  such an answer (malformed, missing, for another message) or says ``transient-error``;
- ``dead``: any other 4xx (the receiver refuses the message itself: retrying cannot help), a
  3xx (a message goes to its destination only, never where a redirect points) or
  ``fatal-error``; and every ``retry`` once :attr:`RetryPolicy.max_attempts` attempts are spent.
Back-off: exponential with full jitter, capped, never sooner than the receiver's Retry-After.
"""

from __future__ import annotations

import json
import random
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from typing import Any, Literal

__all__ = ["Attempt", "Outcome", "RetryPolicy", "judge", "retry_after_seconds"]

Verdict = Literal["delivered", "retry", "dead"]
_RETRY_STATUS = frozenset({408, 425, 429})


@dataclass(frozen=True)
class Attempt:
    """What one delivery attempt got back: an HTTP answer, or ``error`` when none came."""

    status: int | None = None
    body: str = ""
    retry_after: str | None = None  # the Retry-After header, as sent
    error: str | None = None


@dataclass(frozen=True)
class Outcome:
    verdict: Verdict
    reason: str
    delay: float = 0.0  # seconds until the next attempt (``retry``)


@dataclass(frozen=True)
class RetryPolicy:
    max_attempts: int = 8
    base: float = 1.0  # seconds before the second attempt, doubling each time
    cap: float = 600.0

    def delay(self, attempts: int, rng: random.Random, at_least: float = 0.0) -> float:
        ceiling = min(self.cap, self.base * 2 ** max(0, attempts - 1))
        return max(at_least, rng.uniform(0, ceiling))


def retry_after_seconds(value: str | None, now: float) -> float:
    """Retry-After as seconds from ``now`` (delta-seconds or an HTTP date); 0 when absent or bad."""
    if not value:
        return 0.0
    text = value.strip()
    if text.isascii() and text.isdigit():
        return float(min(int(text), 86400))
    try:
        return max(0.0, min(86400.0, parsedate_to_datetime(text).timestamp() - now))
    except (TypeError, ValueError, IndexError, OverflowError):
        return 0.0


def _response_code(body: str, message_id: str) -> str | None:
    """``MessageHeader.response.code`` of a message-Bundle answer to ``message_id``, or None."""
    try:
        bundle: Any = json.loads(body)
        header = bundle["entry"][0]["resource"]
        response = header["response"]
        if (
            bundle.get("resourceType") == "Bundle"
            and bundle.get("type") == "message"
            and header.get("resourceType") == "MessageHeader"
            and response.get("identifier") == message_id
        ):
            code = response.get("code")
            return code if isinstance(code, str) else None
    except (ValueError, KeyError, IndexError, TypeError, AttributeError):
        return None
    return None


def judge(
    attempt: Attempt,
    message_id: str,
    attempts: int,
    policy: RetryPolicy,
    rng: random.Random,
    now: float,
) -> Outcome:
    """The outcome of attempt number ``attempts`` (1 = the first) of ``message_id``."""
    verdict, reason = _classify(attempt, message_id)
    if verdict != "retry":
        return Outcome(verdict, reason)
    if attempts >= policy.max_attempts:
        return Outcome("dead", f"gave up after {attempts} attempts: {reason}")
    wait = retry_after_seconds(attempt.retry_after, now)
    return Outcome("retry", reason, policy.delay(attempts, rng, at_least=wait))


def _classify(attempt: Attempt, message_id: str) -> tuple[Verdict, str]:
    if attempt.status is None:
        return "retry", f"no answer: {attempt.error or 'unknown error'}"
    status = attempt.status
    if status in _RETRY_STATUS or status >= 500:
        return "retry", f"HTTP {status}"
    if 400 <= status < 500:
        return "dead", f"HTTP {status}: the receiver refused the message"
    if 300 <= status < 400:
        return "dead", f"HTTP {status}: the receiver redirects; messages are not redirected"
    if not 200 <= status < 300:
        return "retry", f"HTTP {status}: unexpected answer"
    code = _response_code(attempt.body, message_id)
    if code == "ok":
        return "delivered", "ok"
    if code == "fatal-error":
        return "dead", "the receiver answered fatal-error"
    if code == "transient-error":
        return "retry", "the receiver answered transient-error"
    return "retry", f"HTTP {status} without a message response for {message_id}"
