"""The verified-token cache hands out claims that share their nested lists with the cache.

Attack: ``TokenVerifier.verify`` remembers a verified token's claims and answers a later
request with the same token from memory (``dict(hit.claims)``). The copy is shallow: a claim
that is a list — ``scope`` as a JSON array, the roles claim, ``purpose_of_use`` — is the very
list object the cache holds, and the first answer (``claims`` as PyJWT decoded them) shares it
too. Code that adds to a caller's roles or scopes in its own copy (a request-local
adjustment, a helper normalising a claim in place) thereby grants it to every later request
that presents the same token — e.g. the coordinating unit's role ``koordinerende-enhet``,
which makes a token of the owning organisation the plan's owner.

What happens now: after one caller appends to the ``scope`` list or the roles list of the
claims it got, the next ``verify`` of the same token returns the appended value, although no
signature was checked for it. No caller in the adapter mutates claims today
(``actor_from_claims`` copies into tuples), so this is a latent hole in the cache's contract,
which its own test states for top-level keys ("what a caller does to its copy stays there").

What should happen: each ``verify`` returns claims the caller owns entirely (a deep copy, or
immutable nested values): a remembered token answers exactly what its signed payload says.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import jwt
from cryptography.hazmat.primitives.asymmetric import rsa

from ipfhir.adapter.auth.tokens import CLAIM_ORG, CLAIM_ROLES, TokenVerifier, jwks_loader

ISSUER = "https://helseid-sts.test.nhn.no"


def _verifier(tmp_path: Path) -> tuple[TokenVerifier, rsa.RSAPrivateKey]:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    jwk = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(key.public_key()))
    jwk["kid"] = "k1"
    (tmp_path / "jwks.json").write_text(json.dumps({"keys": [jwk]}))
    return TokenVerifier(jwks_loader(str(tmp_path / "jwks.json")), ISSUER, min_refresh=0), key


def _token(key: rsa.RSAPrivateKey, **claims: object) -> str:
    body = {"iss": ISSUER, "exp": int(time.time()) + 60, CLAIM_ORG: "974589095", **claims}
    return jwt.encode(body, key, algorithm="RS256", headers={"kid": "k1"})


def test_a_change_to_the_first_answers_nested_claims_does_not_reach_the_next(
    tmp_path: Path,
) -> None:
    verifier, key = _verifier(tmp_path)
    token = _token(key, scope=["system/Goal.rs"], **{CLAIM_ROLES: ["saksbehandler"]})
    first = verifier.verify(token)  # the miss: verified, then remembered
    first["scope"].append("system/*.cruds")
    first[CLAIM_ROLES].append("koordinerende-enhet")
    again = verifier.verify(token)  # a hit
    assert again["scope"] == ["system/Goal.rs"]
    assert again[CLAIM_ROLES] == ["saksbehandler"]


def test_a_change_to_a_remembered_answers_nested_claims_does_not_reach_the_next(
    tmp_path: Path,
) -> None:
    verifier, key = _verifier(tmp_path)
    token = _token(key, scope=["system/Goal.rs"], **{CLAIM_ROLES: ["saksbehandler"]})
    verifier.verify(token)
    hit = verifier.verify(token)
    hit["scope"].append("system/*.cruds")
    hit[CLAIM_ROLES].append("koordinerende-enhet")
    later = verifier.verify(token)
    assert later["scope"] == ["system/Goal.rs"]
    assert later[CLAIM_ROLES] == ["saksbehandler"]
