from __future__ import annotations

import json
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from pytest_httpserver import HTTPServer

from ipfhir.adapter.auth import tokens
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


# --- the verified-token cache --------------------------------------------------------------


@pytest.fixture
def signature_checks(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every RSA signature check the verifier runs (the tokens here are RS256)."""
    calls: list[str] = []
    real = jwt.algorithms.RSAAlgorithm.verify

    def spy(self: Any, msg: bytes, key: Any, sig: bytes) -> bool:
        calls.append("verify")
        return real(self, msg, key, sig)

    monkeypatch.setattr(jwt.algorithms.RSAAlgorithm, "verify", spy)
    return calls


def _file_verifier(tmp_path: Path, *jwks: dict[str, object], **kw: Any) -> TokenVerifier:
    (tmp_path / "jwks.json").write_text(json.dumps({"keys": list(jwks)}))
    return TokenVerifier(jwks_loader(str(tmp_path / "jwks.json")), ISSUER, min_refresh=0, **kw)


def _later(monkeypatch: pytest.MonkeyPatch, seconds: float) -> None:
    """The clock PyJWT and the verifier read, ``seconds`` on."""

    class Later(datetime):
        @classmethod
        def now(cls, tz: Any = None) -> Any:  # type: ignore[override]
            return datetime.now(tz) + timedelta(seconds=seconds)

    monkeypatch.setattr(jwt.api_jwt, "datetime", Later)
    monkeypatch.setattr(tokens, "datetime", Later)


def test_a_remembered_token_is_not_checked_again(
    tmp_path: Path, signature_checks: list[str]
) -> None:
    key, jwk = _keypair("k1")
    verifier = _file_verifier(tmp_path, jwk)
    token = _token(key, "k1", scope="system/Goal.rs")
    first = verifier.verify(token)
    first["scope"] = "system/*.cruds"  # what a caller does to its copy stays there
    assert verifier.verify(token)["scope"] == "system/Goal.rs"
    assert verifier.verify(token)[CLAIM_ORG] == "974589095"
    assert signature_checks == ["verify"]
    assert TokenVerifier(verifier._load, ISSUER, cache_size=0).verify(token)  # no cache: each time
    assert signature_checks == ["verify", "verify"]


def test_a_remembered_token_that_expired_is_refused_as_without_the_cache(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    key, jwk = _keypair("k1")
    cached = _file_verifier(tmp_path, jwk)
    token = _token(key, "k1", exp=int(time.time()) + 30, nbf=int(time.time()) - 5)
    assert cached.verify(token)[CLAIM_ORG] == "974589095"
    _later(monkeypatch, 31)
    answers = []
    for verifier in (cached, _file_verifier(tmp_path, jwk, cache_size=0)):
        with pytest.raises(Unauthenticated) as err:
            verifier.verify(token)
        answers.append(err.value.outcome())
    assert answers[0] == answers[1]
    assert answers[0]["issue"][0]["details"]["coding"][0]["code"] == "IP-5002"
    assert "expired" in json.dumps(answers[0])
    assert cached.cached_tokens == 0


def test_a_remembered_token_not_yet_valid_on_a_clock_set_back_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    key, jwk = _keypair("k1")
    verifier = _file_verifier(tmp_path, jwk)
    token = _token(key, "k1", nbf=int(time.time()) - 5)
    verifier.verify(token)
    _later(monkeypatch, -60)
    with pytest.raises(Unauthenticated) as err:
        verifier.verify(token)
    assert "not yet valid" in json.dumps(err.value.outcome())


@pytest.mark.parametrize("replaced", [False, True], ids=["key removed", "key replaced"])
def test_a_key_gone_from_the_refreshed_jwks_ends_its_remembered_tokens(
    tmp_path: Path, signature_checks: list[str], replaced: bool
) -> None:
    key1, jwk1 = _keypair("k1")
    key2, jwk2 = _keypair("k2")
    verifier = _file_verifier(tmp_path, jwk1, jwk2)
    token = _token(key1, "k1")
    verifier.verify(token)
    verifier.verify(token)
    assert signature_checks == ["verify"]
    rotated = [jwk2, _keypair("k1")[1]] if replaced else [jwk2]
    (tmp_path / "jwks.json").write_text(json.dumps({"keys": rotated}))
    with pytest.raises(Unauthenticated):
        verifier.verify(_token(key2, "k3"))  # an unknown kid: the keys are read again
    with pytest.raises(Unauthenticated) as err:
        verifier.verify(token)
    assert err.value.issues[0].message_id == "IP-5002"
    assert verifier.verify(_token(key2, "k2"))[CLAIM_ORG] == "974589095"  # the kept key works


@pytest.mark.parametrize("part", [1, 2], ids=["payload", "signature"])
def test_a_tampered_token_is_never_a_hit(
    tmp_path: Path, signature_checks: list[str], part: int
) -> None:
    key, jwk = _keypair("k1")
    verifier = _file_verifier(tmp_path, jwk)
    token = _token(key, "k1", **{CLAIM_HPR: "9100001"})
    verifier.verify(token)
    parts = token.split(".")
    middle = len(parts[part]) // 2  # one character in the middle: other bytes, whatever it was
    swapped = "A" if parts[part][middle] != "A" else "B"
    parts[part] = parts[part][:middle] + swapped + parts[part][middle + 1 :]
    tampered = ".".join(parts)
    with pytest.raises(Unauthenticated):
        verifier.verify(tampered)
    with pytest.raises(Unauthenticated):
        verifier.verify(tampered)  # refused twice: a refusal is not remembered either
    assert len(signature_checks) == 3
    assert verifier.cached_tokens == 1


def test_the_cache_is_bounded_and_drops_the_least_recently_used(
    tmp_path: Path, signature_checks: list[str]
) -> None:
    key, jwk = _keypair("k1")
    verifier = _file_verifier(tmp_path, jwk, cache_size=2)
    one, two, three = (_token(key, "k1", jti=str(n)) for n in range(3))
    verifier.verify(one)
    verifier.verify(two)
    verifier.verify(one)  # a hit: now the most recently used
    verifier.verify(three)  # drops two
    assert verifier.cached_tokens == 2
    assert len(signature_checks) == 3
    verifier.verify(one)
    verifier.verify(three)
    assert len(signature_checks) == 3
    verifier.verify(two)
    assert len(signature_checks) == 4
    assert verifier.cached_tokens == 2


def test_the_cache_holds_under_threads(tmp_path: Path) -> None:
    key, jwk = _keypair("k1")
    verifier = _file_verifier(tmp_path, jwk, cache_size=8)
    made = [_token(key, "k1", jti=str(n)) for n in range(32)]
    with ThreadPoolExecutor(8) as pool:
        found = list(pool.map(verifier.verify, made * 4))
    assert [c["jti"] for c in found] == [str(n) for n in range(32)] * 4
    assert verifier.cached_tokens == 8


def test_a_token_whose_claims_json_cannot_hold_is_verified_uncached(
    tmp_path: Path, signature_checks: list[str]
) -> None:
    """A claim orjson cannot write (an integer past 64 bits) is still a valid token: it is
    answered, only not remembered."""
    key, jwk = _keypair("k1")
    verifier = _file_verifier(tmp_path, jwk)
    token = _token(key, "k1", big=2**70)
    assert verifier.verify(token)["big"] == 2**70
    assert verifier.verify(token)["big"] == 2**70
    assert verifier.cached_tokens == 0 and signature_checks == ["verify", "verify"]
