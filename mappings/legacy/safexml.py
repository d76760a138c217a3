"""Hardened XML parsing of legacy messages: no DTD, no entities, no network, bounded size/depth.

Order of checks (each refusal is an IP-62xx :class:`~ipfhir.mappings.errors.FormatError`, never a
crash): size (IP-6201) → encoding (IP-6205) → declarations, before the parser sees them (IP-6202)
→ well-formedness with every expanding or external feature off (IP-6204) → depth (IP-6203).
Billion laughs and XXE never reach an entity expander: a ``<!DOCTYPE`` or ``<!ENTITY`` is refused
on the raw bytes, and the parser would not load or resolve them anyway.
"""

from __future__ import annotations

import re
from typing import Any

from lxml import etree  # type: ignore[import-untyped]  # no stubs installed

from ipfhir.mappings.fhirxml_spec import xml_parser
from ipfhir.mappings.legacy.messages import fail
from ipfhir.mappings.legacy.read_common import where

__all__ = ["DEFAULT_MAX_BYTES", "DEFAULT_MAX_DEPTH", "parse_bytes", "xml_parser"]

DEFAULT_MAX_BYTES = 10 * 1024 * 1024
DEFAULT_MAX_DEPTH = 64  # the deepest real Dialogmelding is ~14 levels

# xml_parser: the project's one hardened parser (every external and expanding feature off; one
# per call, lxml parsers are not thread-safe), shared with the FHIR XML reader.
_DECLARATION = re.compile(rb"<!\s*(DOCTYPE|ENTITY)", re.IGNORECASE)
_XML_DECL_ENCODING = re.compile(rb"^\s*<\?xml[^>]*encoding\s*=\s*[\"']([^\"']+)[\"']")
_ENCODINGS = ("utf-8", "utf8", "iso-8859-1", "latin-1", "latin1")


def parse_bytes(
    data: bytes, *, max_bytes: int = DEFAULT_MAX_BYTES, max_depth: int = DEFAULT_MAX_DEPTH
) -> Any:
    """The root element of ``data``, or an IP-62xx refusal."""
    if len(data) > max_bytes:
        fail("IP-6201", "", f"{len(data)} bytes; the limit is {max_bytes}.", "too-costly")
    if data[:2] in (b"\xff\xfe", b"\xfe\xff") or (len(data) > 1 and b"\x00" in data[:4]):
        fail("IP-6205", "", "UTF-16/32 input.")
    body = data.removeprefix(b"\xef\xbb\xbf")
    declared = _XML_DECL_ENCODING.match(body)
    if declared and declared.group(1).decode("ascii", "replace").lower() not in _ENCODINGS:
        fail("IP-6205", "", f"Declared {declared.group(1).decode('ascii', 'replace')!r}.")
    if _DECLARATION.search(body):
        fail("IP-6202", "", code="security")
    try:
        root = etree.fromstring(data, xml_parser())
    except etree.XMLSyntaxError as error:
        fail("IP-6204", "", str(error))
    if root.getroottree().docinfo.doctype:  # pragma: no cover - refused on the bytes above
        fail("IP-6202", "", code="security")
    _check_depth(root, max_depth)
    return root


def _check_depth(root: Any, max_depth: int) -> None:
    stack: list[tuple[Any, int]] = [(root, 1)]
    while stack:
        element, depth = stack.pop()
        if depth > max_depth:
            fail("IP-6203", where(element), f"More than {max_depth} levels.", "too-costly")
        stack.extend((child, depth + 1) for child in element)
