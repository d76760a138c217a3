"""The organisation's own signing key: it signs the client assertions this adapter sends to
other organisations' token endpoints (private_key_jwt), and its public half is published at
``[base]/.well-known/jwks.json`` for the directories of those organisations.

``{data-dir}/org-signing-key.pem``: EC P-256, PKCS#8, made on first use with file mode 0600
(written under a temporary name and linked into place, so processes starting together agree on
one key). No secret is shared with anyone: the receiver holds only the public key.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from ipfhir.adapter.directory.messages import issue6
from ipfhir.adapter.errors import StartupError

__all__ = ["KEY_FILE", "SigningKey", "jwk_thumbprint", "organisation_key", "public_jwk"]

KEY_FILE = "org-signing-key.pem"


@dataclass(frozen=True)
class SigningKey:
    """A private EC P-256 key with its key id (the RFC 7638 thumbprint of its public JWK)."""

    private: ec.EllipticCurvePrivateKey
    kid: str
    alg: str = "ES256"

    def jwks(self) -> dict[str, Any]:
        return {"keys": [public_jwk(self.private.public_key(), self.kid, self.alg)]}

    def sign(self, claims: dict[str, Any], typ: str = "JWT") -> str:
        headers = {"kid": self.kid, "typ": typ}
        return jwt.encode(claims, self.private, algorithm=self.alg, headers=headers)


def public_jwk(public: ec.EllipticCurvePublicKey, kid: str, alg: str = "ES256") -> dict[str, Any]:
    jwk: dict[str, Any] = json.loads(jwt.algorithms.ECAlgorithm.to_jwk(public))
    jwk.update({"kid": kid, "use": "sig", "alg": alg})
    return jwk


def jwk_thumbprint(public: ec.EllipticCurvePublicKey) -> str:
    """RFC 7638: SHA-256 over the required members in lexicographic order, base64url."""
    jwk = json.loads(jwt.algorithms.ECAlgorithm.to_jwk(public))
    required = {k: jwk[k] for k in ("crv", "kty", "x", "y")}
    digest = hashlib.sha256(json.dumps(required, separators=(",", ":")).encode()).digest()
    return base64.urlsafe_b64encode(digest).decode().rstrip("=")


def organisation_key(data_dir: Path) -> SigningKey:
    """The organisation key of ``data_dir``, made now if there is none."""
    data_dir.mkdir(parents=True, exist_ok=True)
    path = data_dir / KEY_FILE
    if not path.exists():
        _create(data_dir, path)
    try:
        private = serialization.load_pem_private_key(path.read_bytes(), password=None)
    except (ValueError, TypeError) as err:
        raise _unusable(path, " ".join(str(err).split())[:120] or type(err).__name__) from None
    if not isinstance(private, ec.EllipticCurvePrivateKey):
        raise _unusable(path, "not an EC private key")
    return SigningKey(private, jwk_thumbprint(private.public_key()))


def _unusable(path: Path, detail: str) -> StartupError:
    return StartupError([issue6("IP-6042", None, "security", path=path, detail=detail)])


def _create(data_dir: Path, path: Path) -> None:
    pem = ec.generate_private_key(ec.SECP256R1()).private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    partial = data_dir / f".{KEY_FILE}.{os.getpid()}"
    fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(pem)
    try:
        os.link(partial, path)
    except FileExistsError:
        pass  # another process made it first: use that one
    finally:
        partial.unlink()
