"""Where the worker logs in is what the receiver says: ``token_endpoint`` of its SMART
configuration, not ``[base]/auth/token`` assumed. A receiver (pytest-httpserver) whose token
endpoint lives elsewhere gets the assertion there, with that URL as its audience; a SMART
configuration that is missing, not JSON, names a token endpoint over plain http to another
machine or does not offer private_key_jwt sends nothing — the message stays queued (IP-6123 in
its last error), never goes out without its token; a 401 to a kept token is answered once with
a new token."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jwt
import pytest
from pytest_httpserver import HTTPServer
from sqlalchemy import Engine
from werkzeug import Request, Response

from ipfhir.adapter.auth.orgkey import organisation_key
from ipfhir.adapter.directory import SqlDirectory
from ipfhir.adapter.directory.guard_messages import MESSAGE_SCOPE
from ipfhir.adapter.fhir.validation import minimal_structural_check
from ipfhir.adapter.startup import prepare_database
from ipfhir.adapter.store import SqlRepository, make_engine
from ipfhir.adapter.store.outbox import Outbox, enqueue
from ipfhir.adapter.sync.policy import RetryPolicy
from ipfhir.adapter.sync.tokens import DirectoryTokens
from ipfhir.adapter.sync.worker import HttpTransport, Worker
from tests.api.notify_world import HOSPITAL, KE, load_directory

pytestmark = pytest.mark.slow


@pytest.fixture
def sqlite(tmp_path: Path) -> Iterator[Engine]:
    engine = make_engine(f"sqlite:///{tmp_path / 'h.sqlite3'}")
    prepare_database(engine)
    yield engine
    engine.dispose()


def _ok(request: Request) -> Response:
    mid = json.loads(request.get_data())["id"]
    header = {"resourceType": "MessageHeader", "response": {"identifier": mid, "code": "ok"}}
    body = {"resourceType": "Bundle", "type": "message", "entry": [{"resource": header}]}
    return Response(json.dumps(body), 200, content_type="application/fhir+json")


def _queue(engine: Engine, destination: str) -> str:
    payload = {"resourceType": "Bundle", "type": "message", "id": "m1", "note": "Melding æøå"}
    with SqlRepository(engine, minimal_structural_check).begin_write() as conn:
        return enqueue(
            conn, destination=destination, kind="ip-notification", payload=payload, message_id="m1"
        )


def _worker(engine: Engine, tmp_path: Path) -> Worker:
    tokens = DirectoryTokens(SqlDirectory(engine), organisation_key(tmp_path), HOSPITAL)
    transport = HttpTransport(connect_timeout=2, read_timeout=5, token_for=tokens)
    return Worker(Outbox(engine), transport, RetryPolicy(max_attempts=5, base=0.0, cap=0.0))


def _posted(httpserver: HTTPServer, path: str) -> list[Request]:
    return [r for r, _ in httpserver.log if r.path == path and r.method == "POST"]


def test_the_token_endpoint_named_in_the_smart_configuration_is_used(
    sqlite: Engine, tmp_path: Path, httpserver: HTTPServer
) -> None:
    base = httpserver.url_for("/fhir").rstrip("/")
    elsewhere = httpserver.url_for("/innlogging/oauth2/token")
    load_directory(SqlDirectory(sqlite), {KE: base})
    httpserver.expect_request("/fhir/.well-known/smart-configuration").respond_with_json(
        {"token_endpoint": elsewhere, "token_endpoint_auth_methods_supported": ["private_key_jwt"]}
    )
    httpserver.expect_request("/innlogging/oauth2/token", method="POST").respond_with_json(
        {"access_token": "adgang-ø", "token_type": "Bearer", "expires_in": 300}
    )
    httpserver.expect_request("/fhir/$process-message", method="POST").respond_with_handler(_ok)
    _queue(sqlite, f"{base}/$process-message")
    assert _worker(sqlite, tmp_path).run_once() == 1
    assert Outbox(sqlite).get("m1").status == "delivered"  # type: ignore[union-attr]
    [login] = _posted(httpserver, "/innlogging/oauth2/token")
    form = dict(login.form)
    assert form["scope"] == MESSAGE_SCOPE
    claims = jwt.decode(form["client_assertion"], options={"verify_signature": False})
    assert claims["aud"] == elsewhere and claims["iss"] == HOSPITAL
    [sent] = _posted(httpserver, "/fhir/$process-message")
    assert sent.headers["Authorization"] == "Bearer adgang-ø"
    assert _posted(httpserver, "/fhir/auth/token") == []


@pytest.mark.parametrize(
    "configuration",
    [
        None,  # 404
        "ikke json",
        {"token_endpoint": "http://innlogging.example.no/token"},  # plain http, another machine
        {"token_endpoint": "https://innlogging.example.no/token?x=1"},
        {
            "token_endpoint": "%TOKEN%",
            "token_endpoint_auth_methods_supported": ["client_secret_basic"],
        },
        {"issuer": "uten token_endpoint"},
    ],
)
def test_an_unusable_smart_configuration_sends_nothing(
    sqlite: Engine, tmp_path: Path, httpserver: HTTPServer, configuration: Any
) -> None:
    base = httpserver.url_for("/fhir").rstrip("/")
    load_directory(SqlDirectory(sqlite), {KE: base})
    token_url = httpserver.url_for("/fhir/auth/token")
    if isinstance(configuration, dict):
        shown = json.dumps(configuration).replace("%TOKEN%", token_url)
        httpserver.expect_request("/fhir/.well-known/smart-configuration").respond_with_data(
            shown, content_type="application/json"
        )
    elif isinstance(configuration, str):
        httpserver.expect_request("/fhir/.well-known/smart-configuration").respond_with_data(
            configuration, content_type="application/json"
        )
    httpserver.expect_request("/fhir/auth/token", method="POST").respond_with_json(
        {"access_token": "adgang", "token_type": "Bearer", "expires_in": 300}
    )
    httpserver.expect_request("/fhir/$process-message", method="POST").respond_with_handler(_ok)
    _queue(sqlite, f"{base}/$process-message")
    _worker(sqlite, tmp_path).run_once()
    message = Outbox(sqlite).get("m1")
    assert message is not None and message.status == "queued"  # retried later, not dead
    assert message.last_error is not None and "IP-6123" in message.last_error
    assert _posted(httpserver, "/fhir/$process-message") == []
    assert _posted(httpserver, "/fhir/auth/token") == []


def test_a_401_to_a_kept_token_is_sent_once_more_with_a_new_one(
    sqlite: Engine, tmp_path: Path, httpserver: HTTPServer
) -> None:
    base = httpserver.url_for("/fhir").rstrip("/")
    load_directory(SqlDirectory(sqlite), {KE: base})
    httpserver.expect_request("/fhir/.well-known/smart-configuration").respond_with_json(
        {"token_endpoint": httpserver.url_for("/fhir/auth/token")}
    )
    issued = iter(["gammel", "ny"])
    httpserver.expect_request("/fhir/auth/token", method="POST").respond_with_handler(
        lambda _r: Response(
            json.dumps({"access_token": next(issued), "token_type": "Bearer", "expires_in": 300}),
            200,
            content_type="application/json",
        )
    )

    def receive(request: Request) -> Response:
        if request.headers.get("Authorization") != "Bearer ny":
            return Response("{}", 401, content_type="application/fhir+json")
        return _ok(request)

    httpserver.expect_request("/fhir/$process-message", method="POST").respond_with_handler(receive)
    _queue(sqlite, f"{base}/$process-message")
    _worker(sqlite, tmp_path).run_once()
    assert Outbox(sqlite).get("m1").status == "delivered"  # type: ignore[union-attr]
    sent = [r.headers["Authorization"] for r in _posted(httpserver, "/fhir/$process-message")]
    assert sent == ["Bearer gammel", "Bearer ny"]
