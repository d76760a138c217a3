"""A stranger makes the token endpoint fetch a directory organisation's JWKS on every request.

``TokenVerifier`` refreshes keys at most once per ``min_refresh`` seconds — but only once a
load has succeeded: while the organisation's JWKS URL does not answer (``_keys is None``),
every assertion naming that organisation fetches it again, holding the verifier's lock for up
to the five-second timeout (``adapter/auth/tokens.py: TokenVerifier._key``). Anyone on the
network, with no key at all, can so (a) make the server send a request per assertion to an
address the directory names, tying up a worker thread each time, and (b) tell directory
members from strangers by the answer's delay (an unknown organisation costs one local decoy
check, ``adapter/auth/assertion.py: _spend_like_a_check``). Measured here by counting the
fetches (tests never assert times)."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from pytest_httpserver import HTTPServer
from sqlalchemy import Engine

from ipfhir.adapter.bootstrap import build_app, build_wiring
from ipfhir.adapter.directory import SqlDirectory, parse_directory
from ipfhir.adapter.directory.build import directory_bundle, organisation_entry
from ipfhir.adapter.settings import Settings
from tests.api.test_token_endpoint import (
    SENDER,
    TOKEN_URL,
    TestClient,
    _accept_all,
    ask,
    form,
    new_key,
)


@pytest.fixture
def client(tmp_path: Path, engine: Engine, httpserver: HTTPServer) -> Iterator[TestClient]:
    settings = Settings(data_dir=tmp_path, dev_mode=True)
    wiring = build_wiring(settings, engine=engine, run_migrations=False, validate=_accept_all)
    httpserver.expect_request("/jwks.json").respond_with_data("down for maintenance", 503)
    entry = organisation_entry(
        SENDER,
        "Unjárgga gielda",
        "https://ip.unjarga.example.no/fhir",
        jwks_url=httpserver.url_for("/jwks.json"),
    )
    SqlDirectory(engine).load(parse_directory(directory_bundle(*entry)))
    with TestClient(build_app(settings, wiring)) as test_client:
        yield test_client


def test_a_stranger_cannot_make_the_server_fetch_a_jwks_per_request(
    client: TestClient, httpserver: HTTPServer
) -> None:
    stranger = new_key()  # no key the directory knows
    for _ in range(5):
        now = int(time.time())
        claims = {"iss": SENDER, "sub": SENDER, "aud": TOKEN_URL, "jti": uuid.uuid4().hex}
        answer = ask(client, form(stranger.sign({**claims, "iat": now, "exp": now + 60})))
        assert answer.status_code == 401
    fetches = [r for r, _ in httpserver.log if r.path == "/jwks.json"]
    assert len(fetches) <= 1, f"{len(fetches)} JWKS fetches for 5 assertions of a stranger"
