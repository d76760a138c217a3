from __future__ import annotations

import json
import time
from pathlib import Path

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from pytest_httpserver import HTTPServer

from ipfhir.adapter.auth.devkey import DEV_ISSUER, JWKS_FILE, ensure_dev_key
from ipfhir.adapter.auth.scopes import scope_allows
from ipfhir.adapter.auth.tokens import (
    CLAIM_HPR,
    CLAIM_ORG,
    TokenVerifier,
    actor_from_claims,
    jwks_loader,
)
from ipfhir.adapter.cli.main import main
from ipfhir.adapter.security_errors import Unauthenticated

ISSUER = "https://helseid-sts.test.nhn.no"


def _keypair(kid: str) -> tuple[rsa.RSAPrivateKey, dict[str, object]]:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    jwk = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(key.public_key()))
    jwk["kid"] = kid
    return key, jwk


def _token(key: rsa.RSAPrivateKey, kid: str, **claims: object) -> str:
    body = {"iss": ISSUER, "exp": int(time.time()) + 60, CLAIM_ORG: "974589095", **claims}
    return jwt.encode(body, key, algorithm="RS256", headers={"kid": kid})


def test_jwks_from_url_verifies_and_refreshes_on_new_kid(httpserver: HTTPServer) -> None:
    key1, jwk1 = _keypair("k1")
    key2, jwk2 = _keypair("k2")
    httpserver.expect_request("/jwks").respond_with_json({"keys": [jwk1]})
    verifier = TokenVerifier(jwks_loader(httpserver.url_for("/jwks")), ISSUER, min_refresh=0)
    claims = verifier.verify(
        _token(key1, "k1", **{CLAIM_HPR: "9100001", "scope": "system/CarePlan.rs"})
    )
    actor = actor_from_claims(claims)
    assert (actor.organisation, actor.practitioner, actor.scopes) == (
        "974589095",
        "9100001",
        ("system/CarePlan.rs",),
    )
    httpserver.clear()
    httpserver.expect_request("/jwks").respond_with_json({"keys": [jwk1, jwk2]})  # key rotation
    assert verifier.verify(_token(key2, "k2"))[CLAIM_ORG] == "974589095"


@pytest.mark.parametrize(
    ("claims", "why"),
    [({"iss": "https://evil.example"}, "issuer"), ({"exp": int(time.time()) - 10}, "expired")],
)
def test_wrong_issuer_or_expired_is_refused(
    tmp_path: Path, claims: dict[str, object], why: str
) -> None:
    key, jwk = _keypair("k1")
    (tmp_path / "jwks.json").write_text(json.dumps({"keys": [jwk]}))
    verifier = TokenVerifier(jwks_loader(str(tmp_path / "jwks.json")), ISSUER)
    with pytest.raises(Unauthenticated) as err:
        verifier.verify(_token(key, "k1", **claims))
    assert err.value.issues[0].message_id == "IP-5002", why


def test_token_signed_by_another_key_is_refused(tmp_path: Path) -> None:
    _key, jwk = _keypair("k1")
    other, _ = _keypair("k1")
    (tmp_path / "jwks.json").write_text(json.dumps({"keys": [jwk]}))
    verifier = TokenVerifier(jwks_loader(str(tmp_path / "jwks.json")), ISSUER)
    with pytest.raises(Unauthenticated):
        verifier.verify(_token(other, "k1"))


def test_token_without_organisation_is_refused() -> None:
    with pytest.raises(Unauthenticated) as err:
        actor_from_claims({"iss": ISSUER})
    assert err.value.issues[0].message_id == "IP-5004"


def test_ipfhir_token_prints_a_verifiable_token_last(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(
        [
            "token",
            "--data-dir",
            str(tmp_path),
            "--org",
            "974589095",
            "--hpr",
            "9100001",
            "--scope",
            "system/Goal.rs",
        ]
    )
    assert code == 0
    token = capsys.readouterr().out.strip().splitlines()[-1]
    assert (tmp_path / JWKS_FILE) == ensure_dev_key(tmp_path)
    claims = TokenVerifier(jwks_loader(str(tmp_path / JWKS_FILE)), DEV_ISSUER).verify(token)
    actor = actor_from_claims(claims)
    assert (actor.organisation, actor.practitioner, actor.scopes) == (
        "974589095",
        "9100001",
        ("system/Goal.rs",),
    )
    assert oct((tmp_path / "dev-signing-key.pem").stat().st_mode & 0o777) == "0o600"
    assert main(["token", "--data-dir", str(tmp_path), "--org", "12"]) == 2


@pytest.mark.parametrize(
    ("scopes", "rtype", "interaction", "allowed"),
    [
        (("system/CarePlan.rs",), "CarePlan", "read", True),
        (("system/CarePlan.rs",), "CarePlan", "search", True),
        (("system/CarePlan.rs",), "CarePlan", "update", False),
        (("system/CarePlan.rs",), "Goal", "read", False),
        (("user/*.cruds",), "Goal", "delete", True),
        (("system/*.read",), "Goal", "search", True),
        (("system/*.read",), "Goal", "create", False),
        (("system/Goal.rs?category=x",), "Goal", "read", False),
        (("openid", "CarePlan.rs"), "CarePlan", "read", False),
    ],
)
def test_smart_scopes(scopes: tuple[str, ...], rtype: str, interaction: str, allowed: bool) -> None:
    assert scope_allows(scopes, rtype, interaction) is allowed


def test_keys_that_vanish_after_start_are_refused_without_naming_their_source(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    key1, jwk1 = _keypair("k1")
    key2, _ = _keypair("k2")
    source = tmp_path / "secret-folder" / "jwks.json"
    source.parent.mkdir()
    source.write_text(json.dumps({"keys": [jwk1]}))
    verifier = TokenVerifier(jwks_loader(str(source)), ISSUER, source=str(source), min_refresh=0)
    verifier.preload()
    source.unlink()
    assert verifier.verify(_token(key1, "k1"))[CLAIM_ORG] == "974589095"  # kept keys still work
    with caplog.at_level("WARNING"), pytest.raises(Unauthenticated) as err:
        verifier.verify(_token(key2, "k2"))  # unknown kid: refresh, which fails
    assert [i.message_id for i in err.value.issues] == ["IP-5006"]
    answer = json.dumps(err.value.outcome())
    assert "secret-folder" not in answer and str(tmp_path) not in answer
    assert "secret-folder" in caplog.text  # the operator's log says where


@pytest.mark.parametrize(
    ("content", "detail"),
    [
        (None, "No such file or directory"),
        ("not json", "Expecting value"),
        ('["a list"]', "not a JSON Web Key Set"),
        ('{"keys": [{"kty": "none"}]}', "no usable key"),
    ],
)
def test_unusable_jwks_stops_the_start(tmp_path: Path, content: str | None, detail: str) -> None:
    from ipfhir.adapter.auth.http import AuthNotConfigured, resolver_from_settings
    from ipfhir.adapter.settings import Settings

    source = tmp_path / "jwks.json"
    if content is not None:
        source.write_text(content)
    settings = Settings(auth_issuer=ISSUER, auth_jwks=str(source), data_dir=tmp_path)
    with pytest.raises(AuthNotConfigured) as err:
        resolver_from_settings(settings)
    (found,) = err.value.issues
    assert found.message_id == "IP-5007"
    assert str(source) in found.text and detail in found.text


def test_made_up_key_ids_do_not_make_the_server_fetch_the_keys_each_time(
    httpserver: HTTPServer,
) -> None:
    key, jwk = _keypair("k1")
    httpserver.expect_request("/jwks").respond_with_json({"keys": [jwk]})
    verifier = TokenVerifier(jwks_loader(httpserver.url_for("/jwks")), ISSUER)
    verifier.preload()
    for n in range(50):
        with pytest.raises(Unauthenticated):
            verifier.verify(_token(key, f"oppdiktet-{n}"))
    assert len(httpserver.log) == 1  # the preload; refreshes wait min_refresh (10 s)
    assert verifier.verify(_token(key, "k1"))[CLAIM_ORG] == "974589095"
