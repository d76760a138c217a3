"""The delivery policy: every kind of answer a receiver can give ends delivered, retried (with a
back-off that honours Retry-After) or dead, and retries end after the policy's attempts."""

from __future__ import annotations

import json
import random

import pytest

from ipfhir.adapter.sync.policy import Attempt, RetryPolicy, judge, retry_after_seconds

MID = "6f1f0c2e-7d5b-4c11-9a3e-2b8f7d0e1a55"
POLICY = RetryPolicy(max_attempts=5, base=1.0, cap=60.0)


def _answer(code: str, mid: str = MID) -> str:
    header = {"resourceType": "MessageHeader", "response": {"identifier": mid, "code": code}}
    bundle = {"resourceType": "Bundle", "type": "message", "entry": [{"resource": header}]}
    return json.dumps(bundle)


@pytest.mark.parametrize(
    ("attempt", "verdict"),
    [
        (Attempt(200, _answer("ok")), "delivered"),
        (Attempt(201, _answer("ok")), "delivered"),
        (Attempt(200, _answer("transient-error")), "retry"),
        (Attempt(200, _answer("fatal-error")), "dead"),
        (Attempt(200, _answer("ok", mid="another-message")), "retry"),
        (Attempt(200, "<html>ikke FHIR</html>"), "retry"),
        (Attempt(200, ""), "retry"),
        (Attempt(200, '{"resourceType": "Bundle", "type": "message", "entry": 5}'), "retry"),
        (Attempt(500, "feil"), "retry"),
        (Attempt(503, "", retry_after="7"), "retry"),
        (Attempt(429, ""), "retry"),
        (Attempt(408, ""), "retry"),
        (Attempt(400, "{}"), "dead"),
        (Attempt(401, "{}"), "dead"),
        (Attempt(404, "{}"), "dead"),
        (Attempt(302, ""), "dead"),
        (Attempt(307, ""), "dead"),
        (Attempt(error="ConnectTimeout: timed out"), "retry"),
    ],
)
def test_each_answer_has_one_verdict(attempt: Attempt, verdict: str) -> None:
    assert judge(attempt, MID, 1, POLICY, random.Random(1), 0.0).verdict == verdict


def test_retries_end_dead_after_the_last_attempt() -> None:
    rng = random.Random(2)
    assert judge(Attempt(500), MID, 4, POLICY, rng, 0.0).verdict == "retry"
    last = judge(Attempt(500), MID, 5, POLICY, rng, 0.0)
    assert last.verdict == "dead" and last.reason.startswith("gave up after 5 attempts")


def test_backoff_grows_is_capped_and_honours_retry_after() -> None:
    rng = random.Random(3)
    firsts = [POLICY.delay(1, rng) for _ in range(200)]
    laters = [POLICY.delay(9, rng) for _ in range(200)]
    assert max(firsts) <= 1.0 and max(laters) <= 60.0 and max(laters) > 30.0
    waited = judge(Attempt(503, retry_after="45"), MID, 1, POLICY, rng, 0.0)
    assert waited.verdict == "retry" and waited.delay >= 45.0


@pytest.mark.parametrize(
    ("value", "seconds"),
    [
        ("120", 120.0),
        ("Wed, 21 Oct 2015 07:28:10 GMT", 10.0),
        ("snart", 0.0),
        ("²", 0.0),
        (None, 0.0),
        ("99999999999", 86400.0),
    ],
)
def test_retry_after_forms(value: str | None, seconds: float) -> None:
    now = 1445412480.0  # Wed, 21 Oct 2015 07:28:00 GMT
    assert retry_after_seconds(value, now) == pytest.approx(seconds)
