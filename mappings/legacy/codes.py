"""KITH coded values (CS, CV), shared by MsgHead, Dialogmelding and AppRec models."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["Code"]


@dataclass(frozen=True)
class Code:
    """A coded value (KITH CS/CV): V code, S code system OID, DN display name, OT original text."""

    v: str | None = None
    s: str | None = None
    dn: str | None = None
    ot: str | None = None
