"""Narrative XHTML checks (FHIR R4 §2.4.0 Narrative): well-formed, the XHTML namespace, a ``div``
root, and none of the active content the spec forbids (scripts, forms, event attributes)."""

from __future__ import annotations

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
