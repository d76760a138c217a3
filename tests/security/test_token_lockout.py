"""The token endpoint against someone guessing: after ten failed client authentications from one
address within a minute, that address is answered 429 IP-6121 with ``Retry-After`` — its
assertions, even a good one, are not looked at (the good one's ``jti`` is still unspent when
the lockout ends). Malformed requests do not count; another address is not held up; the count
is per address, and the memory of addresses is bounded."""

from __future__ import annotations

import warnings
from typing import Any

from ipfhir.adapter.auth.lockout import FailureLockout
from ipfhir.adapter.bootstrap import build_app
from tests.api.test_token_endpoint import FORM, World, ask, claims, form, new_key
from tests.api.test_token_endpoint import world as world  # noqa: F401  (the fixture)

with warnings.catch_warnings():
    warnings.filterwarnings("ignore", message="Using `httpx` with")
    from fastapi.testclient import TestClient


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def _clocked(world: World) -> Clock:
    clock = Clock()
    world.client.app.state.token_service.lockout = FailureLockout(clock=clock)  # type: ignore[attr-defined]
    return clock


def test_guessing_is_locked_out_with_retry_after(world: World) -> None:  # noqa: F811
    clock = _clocked(world)
    for _ in range(5):  # malformed requests are refused, and do not count
        assert ask(world.client, {"grant_type": "client_credentials"}).status_code == 400
    for _ in range(10):
        guess = ask(world.client, form(new_key().sign(claims())))
        assert guess.status_code == 401
    good = form(world.key.sign(claims()))
    locked = ask(world.client, good)
    assert locked.status_code == 429, locked.text
    assert locked.headers["Retry-After"] == "60"
    assert locked.headers["Cache-Control"] == "no-store"
    body: dict[str, Any] = locked.json()
    assert body["error"] == "temporarily_unavailable"
    assert body["error_description"].startswith("IP-6121: ")
    clock.now += 45
    assert ask(world.client, good).headers["Retry-After"] == "15"
    clock.now += 15
    granted = ask(world.client, good)  # not read while locked: its jti is unspent
    assert granted.status_code == 200, granted.text
    assert ask(world.client, good).status_code == 401  # and now spent (replay)


def test_another_address_is_not_held_up(world: World) -> None:  # noqa: F811
    _clocked(world)
    for _ in range(10):
        ask(world.client, form(new_key().sign(claims())))
    assert ask(world.client, form(world.key.sign(claims()))).status_code == 429
    app = build_app(world.settings, world.wiring)
    app.state.token_service = world.client.app.state.token_service  # type: ignore[attr-defined]
    with TestClient(app, client=("192.0.2.7", 50000)) as elsewhere:
        answer = elsewhere.post("/auth/token", data=form(world.key.sign(claims())), headers=FORM)
    assert answer.status_code == 200, answer.text


def test_failures_spread_beyond_the_window_do_not_lock() -> None:
    clock = Clock()
    lockout = FailureLockout(max_failures=3, window=60, lockout=30, clock=clock)
    for _ in range(6):
        lockout.failed("198.51.100.1")
        clock.now += 31  # never three within a minute
    assert lockout.retry_after("198.51.100.1") is None
    lockout.failed("198.51.100.1")
    lockout.failed("198.51.100.1")
    assert lockout.retry_after("198.51.100.1") == 30
    assert lockout.retry_after("198.51.100.2") is None


def test_the_memory_of_addresses_is_bounded() -> None:
    lockout = FailureLockout(max_failures=2, clock=Clock(), max_keys=100)
    for n in range(1000):
        lockout.failed(f"10.0.{n // 256}.{n % 256}")
    assert len(lockout._records) == 100
