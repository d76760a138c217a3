"""Narrative XHTML checks (FHIR R4 §2.4.0 Narrative): well-formed, the XHTML namespace, a ``div``
root, and none of the active content the spec forbids (scripts, forms, event attributes)."""

from __future__ import annotations

import re
import threading

from lxml import etree  # type: ignore[import-untyped]

__all__ = ["xhtml_problem"]

_XHTML = "http://www.w3.org/1999/xhtml"
_FORBIDDEN = frozenset(
    {
        "script",
        "form",
        "base",
        "link",
        "xlink",
        "style",
        "head",
        "html",
        "frame",
        "frameset",
        "iframe",
        "object",
        "applet",
        "embed",
        "input",
        "button",
    }
)
# Every forbidden start tag in the text (``<script``, ``<x:script``) matches this, and more
_MAYBE_FORBIDDEN = re.compile("<(?:[^\\s<>/:]*:)?(?:" + "|".join(sorted(_FORBIDDEN)) + ")")
# Event attributes (``onclick``, ``x:ONload``): an ASCII lower-casing, as str.lower() gives no
# other character an "o" or an "n"
_EVENTS = "descendant-or-self::*/@*[starts-with(translate(local-name(), 'ON', 'on'), 'on')]"
_LOCAL = threading.local()  # a compiled XPath per thread
_PARSER = etree.XMLParser(
    resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False, remove_comments=False
)


def xhtml_problem(div: str) -> str | None:
    """``None`` when ``div`` is acceptable narrative, else what is wrong with it."""
    if not isinstance(div, str) or not div.strip():
        return "the narrative div is empty"
    try:
        root = etree.fromstring(div.encode("utf-8"), _PARSER)
    except etree.XMLSyntaxError as err:
        return f"not well-formed XML ({err.msg})"
    if root.tag != f"{{{_XHTML}}}div":
        return "the root must be a <div> in the XHTML namespace"
    if _MAYBE_FORBIDDEN.search(div) is None and not _event_attributes(root):
        return None  # (most narratives: their elements need no look one by one)
    for element in root.iter():
        if not isinstance(element.tag, str):
            continue
        local = element.tag.rpartition("}")[2]
        if local in _FORBIDDEN:
            return f"element <{local}> is not allowed in narrative"
        for name in element.attrib:
            if name.rpartition("}")[2].lower().startswith("on"):
                return f"event attribute '{name}' is not allowed in narrative"
    return None


def _event_attributes(root: etree._Element) -> list[str]:
    events = getattr(_LOCAL, "events", None)
    if events is None:
        events = _LOCAL.events = etree.XPath(_EVENTS)
    found: list[str] = events(root)
    return found
