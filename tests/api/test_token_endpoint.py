"""``POST [base]/auth/token``: private_key_jwt client assertions checked against the directory,
played as an attacker. Every failed client authentication — unknown organisation, wrong key,
``alg`` none or HMAC, wrong audience (also through a forged Host header), expired, too long,
replayed, no jti — is the same 401 ``invalid_client`` answer, byte for byte, so a stranger
learns nothing about who is in the directory. A good assertion gives a short-lived token the
API accepts for reading and refuses for writing."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import random
import stat
import time
import uuid
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from sqlalchemy import Engine

from ipfhir.adapter.auth.assertion import ASSERTION_TYPE
from ipfhir.adapter.auth.devkey import mint_token
from ipfhir.adapter.auth.lockout import FailureLockout
from ipfhir.adapter.auth.orgkey import KEY_FILE, SigningKey, jwk_thumbprint
from ipfhir.adapter.auth.tokens import CLAIM_ORG
from ipfhir.adapter.bootstrap import Wiring, build_app, build_wiring
from ipfhir.adapter.directory import SqlDirectory, parse_directory
from ipfhir.adapter.directory.build import directory_bundle, organisation_entry
from ipfhir.adapter.settings import Settings
from ipfhir.mappings.identifiers import synthetic_orgnr

with warnings.catch_warnings():
    warnings.filterwarnings("ignore", message="Using `httpx` with")
    from fastapi.testclient import TestClient

BASE = "http://127.0.0.1:8080"  # dev mode: http://host:port of the settings
TOKEN_URL = f"{BASE}/auth/token"
SENDER = synthetic_orgnr(random.Random(5636))  # Unjárgga gielda, in the directory
SUSPENDED = synthetic_orgnr(random.Random(5612))  # in the directory, endpoint suspended
STRANGER = synthetic_orgnr(random.Random(666))  # a valid orgnr nobody loaded
FORM = {"Content-Type": "application/x-www-form-urlencoded"}


def _accept_all(resource: dict[str, Any], profile: str | None = None) -> dict[str, Any]:
    return {"resourceType": "OperationOutcome", "issue": []}


def new_key() -> SigningKey:
    private = ec.generate_private_key(ec.SECP256R1())
    return SigningKey(private, jwk_thumbprint(private.public_key()))


@dataclass
class World:
    client: TestClient
    wiring: Wiring
    settings: Settings
    key: SigningKey  # the sender's organisation key, in the directory


def load_directory(engine: Engine, key: SigningKey) -> None:
    sender = organisation_entry(
        SENDER, "Unjárgga gielda", "https://ip.unjarga.example.no/fhir", jwks=key.jwks()
    )
    suspended = organisation_entry(
        SUSPENDED,
        "Guovdageainnu suohkan",
        "https://ip.guovdageaidnu.example.no/fhir",
        jwks=key.jwks(),
    )
    suspended[1]["status"] = "suspended"
    SqlDirectory(engine).load(parse_directory(directory_bundle(*sender, *suspended)))


@pytest.fixture
def world(tmp_path: Path, engine: Engine) -> Iterator[World]:
    """The server on SQLite and on PostgreSQL (``engine``, tests/conftest.py)."""
    settings = Settings(data_dir=tmp_path, dev_mode=True)
    wiring = build_wiring(settings, engine=engine, run_migrations=False, validate=_accept_all)
    key = new_key()
    load_directory(wiring.engine, key)
    with TestClient(build_app(settings, wiring)) as client:
        yield World(client, wiring, settings, key)


def claims(iss: str = SENDER, **changes: Any) -> dict[str, Any]:
    now = int(time.time())
    made = {"iss": iss, "sub": iss, "aud": TOKEN_URL, "jti": uuid.uuid4().hex}
    made.update({"iat": now, "exp": now + 60})
    made.update(changes)
    return {k: v for k, v in made.items() if v is not None}


def form(assertion: str, **changes: str) -> dict[str, str]:
    made = {
        "grant_type": "client_credentials",
        "client_assertion_type": ASSERTION_TYPE,
        "client_assertion": assertion,
    }
    made.update(changes)
    return made


def ask(client: TestClient, data: dict[str, str], **headers: str) -> Any:
    return client.post("/auth/token", data=data, headers={**FORM, **headers})


def _part(value: bytes) -> str:
    return base64.urlsafe_b64encode(value).decode().rstrip("=")


def _unsigned(payload: dict[str, Any]) -> str:
    head = _part(json.dumps({"alg": "none", "typ": "JWT"}).encode())
    return f"{head}.{_part(json.dumps(payload).encode())}."


def _hmac_signed(payload: dict[str, Any], secret: bytes, kid: str) -> str:
    """HS256 by hand (PyJWT refuses a key that looks like a public key, as it should)."""
    head = _part(json.dumps({"alg": "HS256", "typ": "JWT", "kid": kid}).encode())
    signing_input = f"{head}.{_part(json.dumps(payload).encode())}"
    mac = hmac.new(secret, signing_input.encode(), hashlib.sha256).digest()
    return f"{signing_input}.{_part(mac)}"


def test_a_good_assertion_gives_a_token_the_api_accepts_for_reading(world: World) -> None:
    answer = ask(world.client, form(world.key.sign(claims())))
    assert answer.status_code == 200, answer.text
    assert answer.headers["cache-control"] == "no-store"
    body = answer.json()
    assert (body["token_type"], body["expires_in"], body["scope"]) == ("Bearer", 300, "system/*.rs")
    token = jwt.decode(body["access_token"], options={"verify_signature": False})
    assert (token[CLAIM_ORG], token["iss"], token["aud"]) == (SENDER, BASE, BASE)
    assert token["exp"] - token["iat"] == 300
    auth = {"Authorization": f"Bearer {body['access_token']}"}
    search = world.client.get("/Patient", headers=auth)
    assert search.status_code == 200 and search.json()["resourceType"] == "Bundle"
    write = world.client.post(
        "/Patient",
        json={"resourceType": "Patient"},
        headers={**auth, "Content-Type": "application/fhir+json"},
    )
    assert write.status_code == 403  # read and search only: writes come with the exchanges
    assert world.client.get("/Patient").status_code == 401


def _refusals(world: World) -> dict[str, Any]:
    """Every way an assertion can be wrong → the answer to it. (More refusals than the
    lockout allows one address, tests/security/test_token_lockout.py: raised here, so that
    every answer is the one to the assertion.)"""
    world.client.app.state.token_service.lockout = FailureLockout(max_failures=1000)  # type: ignore[attr-defined]
    key, stranger_key = world.key, new_key()
    forged = SigningKey(stranger_key.private, key.kid)  # the right kid, another key
    old = int(time.time()) - 600
    public_pem = key.private.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    replayed = key.sign(claims())
    assert ask(world.client, form(replayed)).status_code == 200
    cases = {
        "unknown organisation": stranger_key.sign(claims(STRANGER)),
        "unknown, signed with a directory key": key.sign(claims(STRANGER)),
        "not an organisasjonsnummer": key.sign(claims("unjarga")),
        "endpoint suspended": key.sign(claims(SUSPENDED)),
        "wrong key, right kid": forged.sign(claims()),
        "wrong key, no kid": jwt.encode(claims(), stranger_key.private, algorithm="ES256"),
        "alg none": _unsigned(claims()),
        "alg HS256 with the public key": _hmac_signed(claims(), public_pem, key.kid),
        "alg HS256 with the JWK": _hmac_signed(claims(), json.dumps(key.jwks()).encode(), key.kid),
        "alg HS256": _hmac_signed(claims(), b"hemmelig-og-lang-nok-for-hs256-!", key.kid),
        "audience of another server": key.sign(claims(aud="https://annen.example.no/auth/token")),
        "audience the base, not the token endpoint": key.sign(claims(aud=BASE)),
        "no audience": key.sign(claims(aud=None)),
        "expired": key.sign(claims(iat=old, exp=old + 60)),
        "valid for ten minutes": key.sign(claims(exp=int(time.time()) + 600)),
        "issued in the future": key.sign(claims(iat=int(time.time()) + 120)),
        "no jti": key.sign(claims(jti=None)),
        "no exp": key.sign(claims(exp=None)),
        "sub differs from iss": key.sign(claims(sub=STRANGER)),
        "replayed": replayed,
        "garbage": "ikke.en.jwt",
    }
    answers = {name: ask(world.client, form(a)) for name, a in cases.items()}
    answers["client_id differs"] = ask(world.client, form(key.sign(claims()), client_id=STRANGER))
    answers["other assertion type"] = ask(
        world.client, form(key.sign(claims()), client_assertion_type="urn:x-saml2-bearer")
    )
    evil = "annen.example.no"
    answers["Host header of the audience"] = ask(
        world.client, form(key.sign(claims(aud=f"http://{evil}/auth/token"))), host=evil
    )
    return answers


def test_every_failed_client_authentication_is_one_answer(world: World) -> None:
    answers = _refusals(world)
    expected = {
        "error": "invalid_client",
        "error_description": "IP-6030: Client authentication failed.",
    }
    for name, answer in answers.items():
        assert answer.status_code == 401, name
        assert answer.json() == expected, name
        assert answer.headers["cache-control"] == "no-store", name
    assert len({a.content for a in answers.values()}) == 1
    assert len({tuple(sorted(a.headers.items())) for a in answers.values()}) == 1


def test_a_replay_is_refused_by_another_process_on_the_same_database(world: World) -> None:
    assertion = world.key.sign(claims())
    with TestClient(build_app(world.settings, world.wiring)) as other:
        assert ask(other, form(assertion)).status_code == 200
    assert ask(world.client, form(assertion)).json()["error"] == "invalid_client"


@pytest.mark.parametrize(
    ("data", "headers", "status", "error", "message_id"),
    [
        ({"grant_type": "password"}, FORM, 400, "unsupported_grant_type", "IP-6031"),
        ({"client_assertion": "x"}, FORM, 400, "invalid_request", "IP-6032"),
        ({"grant_type": "client_credentials"}, FORM, 400, "invalid_request", "IP-6032"),
        (
            "grant_type=client_credentials&grant_type=client_credentials",
            FORM,
            400,
            "invalid_request",
            "IP-6032",
        ),
        ("a=" + "x" * 20000, FORM, 400, "invalid_request", "IP-6032"),
        (
            "grant_type=client_credentials",
            {"Content-Type": "application/json"},
            400,
            "invalid_request",
            "IP-6032",
        ),
    ],
)
def test_malformed_requests(
    world: World, data: Any, headers: dict[str, str], status: int, error: str, message_id: str
) -> None:
    answer = world.client.post(
        "/auth/token",
        content=data if isinstance(data, str) else None,
        data=data if isinstance(data, dict) else None,
        headers=headers,
    )
    assert answer.status_code == status
    assert answer.json()["error"] == error
    assert answer.json()["error_description"].startswith(f"{message_id}: ")


@pytest.mark.parametrize(
    "scope",
    ["system/*.cruds", "system/Patient.write", "user/*.rs", "x", "system/*.", "system/.rs"]
    + ["system/Patient.rs?category=x", "system/*.sr", "system/*.rs\x00"],
)
def test_scopes_beyond_reading_are_refused_after_authentication(world: World, scope: str) -> None:
    answer = ask(world.client, form(world.key.sign(claims()), scope=scope))
    assert (answer.status_code, answer.json()["error"]) == (400, "invalid_scope")
    stranger = ask(world.client, form(new_key().sign(claims(STRANGER)), scope=scope))
    assert stranger.json()["error"] == "invalid_client"  # no hint before authentication


def test_a_narrower_scope_is_granted(world: World) -> None:
    answer = ask(world.client, form(world.key.sign(claims()), scope="system/CarePlan.rs"))
    assert answer.json()["scope"] == "system/CarePlan.rs"


def test_the_organisation_key_is_private_and_its_jwks_public(world: World) -> None:
    answer = world.client.get("/.well-known/jwks.json")
    assert answer.status_code == 200
    [key] = answer.json()["keys"]
    assert key["kty"] == "EC" and "d" not in key
    path = world.settings.data_dir / KEY_FILE
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600


def test_a_token_of_another_server_with_the_same_base_is_refused(
    world: World, tmp_path: Path
) -> None:
    other_settings = Settings(data_dir=tmp_path / "annen", dev_mode=True)
    other = build_wiring(other_settings, validate=_accept_all)
    load_directory(other.engine, world.key)
    with TestClient(build_app(other_settings, other)) as elsewhere:
        token = ask(elsewhere, form(world.key.sign(claims()))).json()["access_token"]
    answer = world.client.get("/Patient", headers={"Authorization": f"Bearer {token}"})
    assert answer.status_code == 401  # same issuer name, another key: not ours


def test_no_token_endpoint_without_a_base_url_outside_dev_mode(tmp_path: Path) -> None:
    jwks = tmp_path / "idp-jwks.json"
    jwks.write_text(json.dumps(new_key().jwks()), encoding="utf-8")
    settings = Settings(
        data_dir=tmp_path, auth_issuer="https://helseid.example.no", auth_jwks=str(jwks)
    )
    wiring = build_wiring(settings, validate=_accept_all)
    with TestClient(build_app(settings, wiring)) as client:
        answer = client.post("/auth/token", data={"grant_type": "x"}, headers=FORM)
        assert answer.status_code == 405  # /{type}/{id} is a FHIR path; no token endpoint
        assert answer.json()["resourceType"] == "OperationOutcome"
        assert client.get("/.well-known/jwks.json").status_code == 401  # a FHIR read
    with_base = settings.model_copy(update={"base_url": "https://ip.unjarga.example.no/fhir"})
    load_directory(wiring.engine, key := new_key())
    with TestClient(build_app(with_base, wiring)) as client:
        good = claims(aud="https://ip.unjarga.example.no/fhir/auth/token")
        assert ask(client, form(key.sign(good))).status_code == 200


def test_smart_configuration_names_the_token_endpoint(world: World) -> None:
    found = world.client.get("/.well-known/smart-configuration").json()
    assert found["token_endpoint"] == TOKEN_URL
    assert found["token_endpoint_auth_methods_supported"] == ["private_key_jwt"]
    assert "HS256" not in found["token_endpoint_auth_signing_alg_values_supported"]
    assert "none" not in found["token_endpoint_auth_signing_alg_values_supported"]


@pytest.mark.parametrize("victim", [STRANGER, SENDER])
def test_directory_entries_written_through_the_fhir_api_grant_no_login(
    world: World, victim: str
) -> None:
    """An API caller may create Organization and Endpoint resources in the FHIR store; they
    are not the directory: an Endpoint carrying the attacker's JWKS under any organisation's
    number (one in the directory or not) lets nobody log in."""
    attacker = new_key()
    dev = mint_token(world.settings.data_dir, STRANGER, scopes=("system/*.cruds",))
    headers = {"Authorization": f"Bearer {dev}", "Content-Type": "application/fhir+json"}
    resources = organisation_entry(
        victim, "Falsk kommune", "https://angriper.example.no/fhir", jwks=attacker.jwks()
    )
    bundle = {
        "resourceType": "Bundle",
        "type": "transaction",
        "entry": [
            {"resource": r, "request": {"method": "PUT", "url": f"{r['resourceType']}/{r['id']}"}}
            for r in resources
        ],
    }
    stored = world.client.post("/", json=bundle, headers=headers)
    assert stored.status_code == 200, stored.text
    answer = ask(world.client, form(attacker.sign(claims(victim))))
    assert (answer.status_code, answer.json()["error"]) == (401, "invalid_client")
