"""Read one legacy message: hardened parse → root check → schema → model."""

from __future__ import annotations

from lxml import etree  # type: ignore[import-untyped]  # no stubs installed

from ipfhir.mappings.legacy.messages import fail
from ipfhir.mappings.legacy.model import AppRec, Message
from ipfhir.mappings.legacy.read_apprec import read_apprec
from ipfhir.mappings.legacy.read_msghead import read_msghead
from ipfhir.mappings.legacy.safexml import DEFAULT_MAX_BYTES, DEFAULT_MAX_DEPTH, parse_bytes
from ipfhir.mappings.legacy.schemas import NS, validate

__all__ = ["read_message", "validate_message"]

_ROOTS = {
    (NS["mh"], "MsgHead"): "msghead",
    (NS["ar10"], "AppRec"): "apprec",
    (NS["ar11"], "AppRec"): "apprec",
}


def _checked_root(data: bytes, max_bytes: int, max_depth: int) -> tuple[str, object]:
    root = parse_bytes(data, max_bytes=max_bytes, max_depth=max_depth)
    name = etree.QName(root)
    kind = _ROOTS.get((name.namespace, name.localname))
    if kind is None:
        fail("IP-6210", f"/{name.localname}", f"Got {root.tag!r}.")
    validate(root)
    return kind, root


def validate_message(
    data: bytes, *, max_bytes: int = DEFAULT_MAX_BYTES, max_depth: int = DEFAULT_MAX_DEPTH
) -> str:
    """Check ``data`` (hardening and schemas only); return 'msghead' or 'apprec'."""
    kind, _ = _checked_root(data, max_bytes, max_depth)
    return kind


def read_message(
    data: bytes, *, max_bytes: int = DEFAULT_MAX_BYTES, max_depth: int = DEFAULT_MAX_DEPTH
) -> Message | AppRec:
    """A MsgHead 1.2 (with Dialogmelding 1.0/1.1, AppRec or Base64 documents) or an AppRec."""
    kind, root = _checked_root(data, max_bytes, max_depth)
    return read_msghead(root) if kind == "msghead" else read_apprec(root)
