"""Dev mode only (``ipfhir serve --dev``): a local signing key in the data folder and tokens
signed with it. ``{data-dir}/dev-signing-key.pem`` (private, mode 0600) and ``dev-jwks.json``."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import Any

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from ipfhir.adapter.auth.tokens import CLAIM_HPR, CLAIM_ORG, CLAIM_ROLES

__all__ = ["DEV_ISSUER", "KEY_FILE", "JWKS_FILE", "ensure_dev_key", "mint_token"]

DEV_ISSUER = "urn:ipfhir:dev"
KEY_FILE = "dev-signing-key.pem"
JWKS_FILE = "dev-jwks.json"
_KID = "ipfhir-dev-1"


def ensure_dev_key(data_dir: Path) -> Path:
    """Create the dev key pair once; returns the JWKS file."""
    data_dir.mkdir(parents=True, exist_ok=True)
    key_path, jwks_path = data_dir / KEY_FILE, data_dir / JWKS_FILE
    if not key_path.exists():
        key = ec.generate_private_key(ec.SECP256R1())
        pem = key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        # Written under a temporary name and linked into place: a process starting at the same
        # time sees either no key or the whole key, and exactly one key wins.
        partial = data_dir / f".{KEY_FILE}.{os.getpid()}"
        fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "wb") as handle:
            handle.write(pem)
        try:
            os.link(partial, key_path)
        except FileExistsError:
            pass
        finally:
            partial.unlink()
    if not jwks_path.exists():
        private = serialization.load_pem_private_key(key_path.read_bytes(), password=None)
        public: dict[str, Any] = json.loads(jwt.algorithms.ECAlgorithm.to_jwk(private.public_key()))  # type: ignore[arg-type]
        public.update({"kid": _KID, "use": "sig", "alg": "ES256"})
        partial = data_dir / f".{JWKS_FILE}.{os.getpid()}"
        partial.write_text(json.dumps({"keys": [public]}, indent=2), encoding="utf-8")
        os.replace(partial, jwks_path)
    return jwks_path


def mint_token(
    data_dir: Path,
    organisation: str,
    *,
    hpr: str | None = None,
    scopes: tuple[str, ...] = ("system/*.cruds",),
    purpose: str | None = None,
    roles: tuple[str, ...] = (),
    lifetime: int = 3600,
) -> str:
    """A token signed with the dev key (creating the key if needed); ``roles`` go in the
    roles claim (the plan owner's coordinating unit: ``koordinerende-enhet``)."""
    ensure_dev_key(data_dir)
    now = int(time.time())
    claims: dict[str, Any] = {
        "iss": DEV_ISSUER,
        "sub": hpr or organisation,
        "iat": now,
        "exp": now + lifetime,
        CLAIM_ORG: organisation,
        "scope": " ".join(scopes),
    }
    if hpr:
        claims[CLAIM_HPR] = hpr
    if purpose:
        claims["purpose_of_use"] = purpose
    if roles:
        claims[CLAIM_ROLES] = list(roles)
    key = (data_dir / KEY_FILE).read_bytes()
    return jwt.encode(claims, key, algorithm="ES256", headers={"kid": _KID})
