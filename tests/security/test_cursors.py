"""Page tokens are opaque, unforgeable and bound to one search and one caller (issue 9).

Before: a token was readable base64 of ``[direction, sort value, id, fingerprint]``, made from
the last row of the store's page even when the caller was not shown that row: an outsider who
sees no Goal learnt every Goal id of the person by following ``next`` links.
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
from tests.security.conftest import NON_PRIVILEGED, PT, SecureWorld, message_ids

GOAL_IDS = ("ip1-g1", "ip1-g2", "ip1-g3")


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


@pytest.mark.parametrize("actor", NON_PRIVILEGED)
def test_following_next_never_names_a_hidden_row(world: SecureWorld, actor: str) -> None:
    url: str | None = f"/Goal?patient={PT}&_count=1"
    shown: list[str] = []
    tokens: list[str] = []
    while url is not None:
        page = _get(world, actor, url)
        assert page.status_code == 200, page.text
        body = page.json()
        shown += [e["resource"]["id"] for e in body.get("entry", [])]
        url = _link(body, "next")
        if url is not None:
            tokens.append(_token(url))
            assert body.get("entry"), "a next link after a page with nothing on it"
    for token in tokens:
        raw = _raw(token)
        for goal in GOAL_IDS:
            assert goal.encode() not in raw and goal not in token
        # not the old readable JSON (a first byte of "[" alone happens by chance once in 256)
        with pytest.raises(orjson.JSONDecodeError):
            orjson.loads(raw)
    assert len(tokens) == max(len(shown) - 1, 0)
    assert "ip1-g2" not in shown  # «rus» is refused for everyone here


def test_a_token_opens_only_for_its_caller_and_its_search(world: SecureWorld) -> None:
    first = _get(world, "owner", f"/Goal?patient={PT}&_count=1").json()
    nxt = _link(first, "next")
    assert nxt is not None
    token = _token(nxt)
    assert _get(world, "owner", nxt).status_code == 200
    answers = [
        _get(world, "recipient", nxt),  # another caller, same search
        _get(world, "coordinator", nxt),  # same organisation, another caller
        _get(
            world,
            "owner",
            f"/Goal?patient={PT}&_count=1&lifecycle-status=active&_page_token={token}",
        ),  # another search
        _get(world, "owner", f"/CarePlan?_count=1&_page_token={token}"),  # another type
    ]
    _all_the_same_refusal(answers)


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
