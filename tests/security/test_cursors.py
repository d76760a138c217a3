"""Page tokens are opaque and unforgeable (issue 9).

Before: a token was readable base64 of ``[direction, sort value, id, fingerprint]``.
"""

from __future__ import annotations

import base64
import binascii
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import orjson
import pytest
from sqlalchemy import Engine

from ipfhir.adapter.bootstrap import build_wiring
from ipfhir.adapter.settings import Settings
from ipfhir.adapter.store.cursors import PageTokens
from ipfhir.adapter.store.schema import server_keys
from tests.security.conftest import PT, SecureWorld, message_ids


def _link(bundle: dict[str, Any], relation: str) -> str | None:
    return next((lk["url"] for lk in bundle.get("link", []) if lk["relation"] == relation), None)


def _token(url: str) -> str:
    return parse_qs(urlsplit(url).query)["_page_token"][0]


def _raw(token: str) -> bytes:
    try:
        return base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
    except binascii.Error:
        return b""


def _get(world: SecureWorld, actor: str, path: str) -> Any:
    return world.client.get(path.replace("http://testserver", ""), headers=world.as_(actor))


def _garbage(token: str) -> list[str]:
    raw = _raw(token)
    flipped = bytearray(raw)
    flipped[len(flipped) // 2] ^= 0x01
    old_style = base64.urlsafe_b64encode(
        orjson.dumps(["n", "", "ip1-g1", "0123456789abcdef"])
    ).decode()
    return [
        "bm90LWEtdG9rZW4",
        "x",
        "%%%%",
        "æøå",
        token[:-4],
        token + "AAAA",
        base64.urlsafe_b64encode(bytes(flipped)).decode().rstrip("="),
        old_style.rstrip("="),
        "A" * len(token),
    ]


def _all_the_same_refusal(answers: list[Any]) -> None:
    for answer in answers:
        assert answer.status_code == 400, answer.text
        assert message_ids(answer.json()) == ["IP-4105"]
    assert len({orjson.dumps(a.json()) for a in answers}) == 1


@pytest.mark.parametrize("fmt", ["json", "xml"])
def test_every_bad_token_gets_the_one_answer(world: SecureWorld, fmt: str) -> None:
    first = _get(world, "owner", f"/Goal?patient={PT}&_count=1").json()
    token = _token(str(_link(first, "next")))
    answers = [
        world.client.get(
            "/Goal",
            params={"patient": PT, "_count": "1", "_page_token": bad, "_format": fmt},
            headers=world.as_("owner"),
        )
        for bad in _garbage(token)
    ]
    for answer in answers:
        assert answer.status_code == 400
        if fmt == "json":
            assert message_ids(answer.json()) == ["IP-4105"]
        else:
            assert "IP-4105" in answer.text
    assert len({a.content for a in answers}) == 1


def test_token_length_says_nothing_about_the_row(engine: Engine) -> None:
    tokens = PageTokens(engine)
    short = tokens.seal(["n", "", "a"], "fp")
    long = tokens.seal(["n", "2026-01-01T00:00:00.000000", "a" * 40], "fp")
    assert len(short) == len(long)
    assert tokens.seal(["n", "", "a"], "fp") != short  # a fresh nonce every time
    assert tokens.open(short, "fp") == ["n", "", "a"]


def test_processes_share_the_key_and_it_survives_a_restart(engine: Engine, tmp_path: Path) -> None:
    one, two = PageTokens(engine), PageTokens(engine)  # two processes, nothing made yet
    token = one.seal(["n", "x", "ip1-g1"], "fp")
    assert two.open(token, "fp") == ["n", "x", "ip1-g1"]
    with engine.connect() as conn:
        assert len(conn.execute(server_keys.select()).all()) == 1
    restarted = build_wiring(Settings(data_dir=tmp_path), engine=engine, run_migrations=False)
    assert restarted.repository.tokens.open(token, "fp") == ["n", "x", "ip1-g1"]
    with pytest.raises(Exception) as err:
        restarted.repository.tokens.open(token, "another search")
    assert [i.message_id for i in err.value.issues] == ["IP-4105"]  # type: ignore[attr-defined]
