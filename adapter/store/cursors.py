"""Page tokens: opaque, authenticated and bound to one search and one caller.

A token is ``base64url(nonce ‖ AES-256-GCM(payload))``. The payload (the keyset position:
direction, sort value and id of the row a page ends at) is padded to a multiple of
:data:`_BLOCK` bytes, so a token's length says nothing about the id or sort value inside it;
the associated data is the search's fingerprint (type, criteria, sort and the caller's binding),
so a token decrypts only for the search and the caller it was made for. Anything else — garbage,
a token of another search or another caller, a forged or truncated one — is the one IP-4105
answer, whatever was wrong with it.

The key (256 bits) lives in the database (``server_keys``, migration 0005): the first process
that needs it inserts a random one (``ON CONFLICT DO NOTHING``) and every process then reads the
same row, so several server processes on one PostgreSQL (or one SQLite file) accept each other's
tokens, and tokens survive restarts. Deleting the row invalidates every outstanding token (a new
key is made on the next use, after the processes restart).
"""

from __future__ import annotations

import base64
import binascii
import os
import threading
from collections.abc import Sequence
from typing import overload

import orjson
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from sqlalchemy import Engine, select

from ipfhir.adapter.errors import BadRequest, issue
from ipfhir.adapter.store.driver_sql import insert_rows
from ipfhir.adapter.store.engine import WRITE_OPTION
from ipfhir.adapter.store.schema import server_keys

__all__ = ["KEY_NAME", "PageTokens", "RowTokens", "invalid_token"]

KEY_NAME = "page-token"
_NONCE = 12
_BLOCK = 128  # holds any keyset position (id ≤ 64, sort value 26 characters)


def invalid_token() -> BadRequest:
    """The one answer to every token that cannot be used."""
    return BadRequest([issue("IP-4105", "_page_token", "invalid")])


class PageTokens:
    """Seals and opens page tokens with the database's key (read once per instance)."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self._aead: AESGCM | None = None
        self._lock = threading.Lock()

    def _cipher(self) -> AESGCM:
        if self._aead is None:
            with self._lock:
                if self._aead is None:
                    self._aead = AESGCM(bytes.fromhex(self._load_key()))
        return self._aead

    def _load_key(self) -> str:
        query = select(server_keys.c.secret).where(server_keys.c.name == KEY_NAME)
        with self._engine.connect() as conn:
            found = conn.execute(query).scalar_one_or_none()
        if found is not None:
            return str(found)
        writer = self._engine.execution_options(**{WRITE_OPTION: True})
        with writer.begin() as conn:
            row = {"name": KEY_NAME, "secret": os.urandom(32).hex()}
            insert_rows(conn, server_keys, row, ignore_conflict=True)
            return str(conn.execute(query).scalar_one())  # ours, or the one another made first

    def seal(self, payload: list[str], binding: str) -> str:
        raw = orjson.dumps(payload)
        raw += b" " * (-len(raw) % _BLOCK)  # JSON ignores trailing blanks
        nonce = os.urandom(_NONCE)
        sealed = self._cipher().encrypt(nonce, raw, binding.encode())
        return base64.urlsafe_b64encode(nonce + sealed).decode().rstrip("=")

    def open(self, token: str, binding: str) -> list[str]:
        """The payload sealed for ``binding``; :func:`invalid_token` for anything else."""
        try:
            raw = base64.urlsafe_b64decode(token.encode("ascii") + b"=" * (-len(token) % 4))
            if len(raw) <= _NONCE:
                raise ValueError("too short")
            plain = self._cipher().decrypt(raw[:_NONCE], raw[_NONCE:], binding.encode())
            payload = orjson.loads(plain)
        except (binascii.Error, ValueError, UnicodeEncodeError, InvalidTag) as err:
            raise invalid_token() from err
        if not isinstance(payload, list) or not all(isinstance(p, str) for p in payload):
            raise invalid_token()
        return payload


class RowTokens(Sequence[tuple[str, str]]):
    """The tokens of the page before and of the page after each row of a bound search
    (``SearchResult.row_cursors``), sealed when one is asked for: the enforcement point cuts
    its page after any row but uses the tokens of its first and last shown rows only (sealing
    every row's two tokens was 22 AES-GCM seals per 10-row page)."""

    def __init__(self, tokens: PageTokens, keys: list[tuple[str, str]], binding: str) -> None:
        self._tokens = tokens
        self._keys = keys  # (sort value, id) of each row
        self._binding = binding

    def __len__(self) -> int:
        return len(self._keys)

    @overload
    def __getitem__(self, index: int) -> tuple[str, str]: ...

    @overload
    def __getitem__(self, index: slice) -> Sequence[tuple[str, str]]: ...

    def __getitem__(self, index: int | slice) -> tuple[str, str] | Sequence[tuple[str, str]]:
        if isinstance(index, slice):
            return [self[i] for i in range(len(self._keys))[index]]
        value, rid = self._keys[index]
        seal = self._tokens.seal
        return seal(["p", value, rid], self._binding), seal(["n", value, rid], self._binding)
