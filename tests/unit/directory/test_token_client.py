"""TokenClient against a stand-in token endpoint (pytest-httpserver): the assertion it signs,
the token kept until shortly before expiry, and refusals as IP-6040/6041 errors."""

from __future__ import annotations

import json
import random
import socket
from typing import Any
from urllib.parse import parse_qsl

import jwt
import pytest
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from ipfhir.adapter.auth.assertion import ASSERTION_TYPE, MAX_LIFETIME
from ipfhir.adapter.auth.orgkey import organisation_key
from ipfhir.adapter.auth.token_client import TokenClient
from ipfhir.adapter.directory import TokenRequestFailed
from ipfhir.mappings.errors import IpError
from ipfhir.mappings.identifiers import synthetic_orgnr

SENDER = synthetic_orgnr(random.Random(5501))


def _ids(err: Any) -> list[str]:
    return [i.message_id for i in err.issues]


def test_the_assertion_and_the_kept_token(httpserver: HTTPServer, tmp_path: Any) -> None:
    key = organisation_key(tmp_path)
    url = httpserver.url_for("/auth/token")
    seen: list[dict[str, str]] = []

    def answer(request: Request) -> Response:
        seen.append(dict(parse_qsl(request.get_data(as_text=True))))
        body = {"access_token": f"tilgang-{len(seen)}", "token_type": "Bearer", "expires_in": 300}
        return Response(json.dumps(body), 200, content_type="application/json")

    httpserver.expect_request("/auth/token", method="POST").respond_with_handler(answer)
    client = TokenClient(key, SENDER, url)
    assert client.token() == "tilgang-1"
    assert client.headers() == {"Authorization": "Bearer tilgang-1"}  # kept, not fetched again
    assert len(seen) == 1
    form = seen[0]
    assert (form["grant_type"], form["client_assertion_type"]) == (
        "client_credentials",
        ASSERTION_TYPE,
    )
    claims = jwt.decode(
        form["client_assertion"], key.private.public_key(), algorithms=["ES256"], audience=url
    )
    assert claims["iss"] == claims["sub"] == SENDER
    assert 0 < claims["exp"] - claims["iat"] <= MAX_LIFETIME
    assert jwt.get_unverified_header(form["client_assertion"])["kid"] == key.kid
    client.forget()
    assert client.token() == "tilgang-2"
    second = jwt.decode(seen[1]["client_assertion"], options={"verify_signature": False})
    assert second["jti"] != claims["jti"]


def test_a_token_near_expiry_is_fetched_again(httpserver: HTTPServer, tmp_path: Any) -> None:
    body = {"access_token": "kort", "token_type": "Bearer", "expires_in": 30}
    httpserver.expect_request("/auth/token").respond_with_json(body)
    client = TokenClient(organisation_key(tmp_path), SENDER, httpserver.url_for("/auth/token"))
    client.token()
    client.token()  # 30 s left is within the 30 s margin: renewed
    assert len(httpserver.log) == 2


@pytest.mark.parametrize(
    ("status", "body", "message_id"),
    [
        (401, {"error": "invalid_client"}, "IP-6040"),
        (400, {"error": "invalid_scope"}, "IP-6040"),
        (200, {"token_type": "Bearer"}, "IP-6041"),
        (200, {"access_token": "x", "expires_in": -5}, "IP-6041"),
        (502, "<html>Bad gateway</html>", "IP-6041"),
        (200, ["ikke", "et", "objekt"], "IP-6041"),
    ],
)
def test_refusals_and_broken_answers(
    httpserver: HTTPServer, tmp_path: Any, status: int, body: Any, message_id: str
) -> None:
    text = body if isinstance(body, str) else json.dumps(body)
    httpserver.expect_request("/auth/token").respond_with_data(text, status)
    client = TokenClient(organisation_key(tmp_path), SENDER, httpserver.url_for("/auth/token"))
    with pytest.raises(TokenRequestFailed) as caught:
        client.token()
    assert _ids(caught.value) == [message_id]


def test_no_answer_at_all(tmp_path: Any) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    client = TokenClient(organisation_key(tmp_path), SENDER, f"http://127.0.0.1:{port}/auth/token")
    with pytest.raises(TokenRequestFailed) as caught:
        client.token()
    assert _ids(caught.value) == ["IP-6041"]


def test_an_unusable_organisation_key_is_one_line(tmp_path: Any, capsys: Any) -> None:
    from ipfhir.adapter.auth.orgkey import KEY_FILE
    from ipfhir.adapter.cli.main import main

    (tmp_path / KEY_FILE).write_text("-----BEGIN PRIVATE KEY-----\nødelagt\n", encoding="utf-8")
    code = main(["directory", "token", "--as", SENDER, "--to", SENDER, "--data-dir", str(tmp_path)])
    assert code == 1  # not in the directory: the route is refused before the key is read
    assert capsys.readouterr().err.startswith("ipfhir: IP-6002: ")
    with pytest.raises(IpError) as caught:
        organisation_key(tmp_path)
    assert _ids(caught.value) == ["IP-6042"]
