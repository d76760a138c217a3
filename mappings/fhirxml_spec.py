"""FHIR XML: child specs from the element table, the hardened parser, errors."""

from __future__ import annotations

import re
from typing import Any, NamedTuple, NoReturn

from lxml import etree  # type: ignore[import-untyped]  # no stubs installed

from ipfhir.mappings.errors import FormatError, Issue
from ipfhir.mappings.fhir_r4 import MESSAGES, r4_elements

__all__ = ["DIV", "FHIR_NS", "F", "XHTML_NS", "Spec", "fail", "safe_root", "specs"]

FHIR_NS = "http://hl7.org/fhir"
XHTML_NS = "http://www.w3.org/1999/xhtml"
F = "{" + FHIR_NS + "}"
DIV = "{" + XHTML_NS + "}div"
_DECLARATION = re.compile(r"<!\s*(DOCTYPE|ENTITY)", re.IGNORECASE)
_XML_DECL_ENCODING = re.compile(r"^\s*<\?xml[^>]*encoding\s*=\s*[\"']([^\"']+)[\"']")


class Spec(NamedTuple):
    """What the element table says about one child element."""

    type: str  # primitive, complex type, backbone path, or "Resource"
    many: bool
    attr: bool
    kind: str  # "primitive", "complex", "resource", "xhtml"
    json: str  # JSON kind of a primitive: string, boolean, integer, decimal, xhtml


_SPECS: dict[str, dict[str, Spec]] = {}


def specs(type_name: str) -> dict[str, Spec]:
    """Children of ``type_name`` (a type or backbone path) in definition order, cached."""
    found = _SPECS.get(type_name)
    if found is None:
        table = r4_elements()
        primitives: dict[str, str] = table["primitives"]
        found = {}
        for name, raw in table["types"][type_name].items():
            code = raw.lstrip("@").rstrip("*")
            if code == "Resource":
                kind = "resource"
            elif code == "xhtml":
                kind = "xhtml"
            else:
                kind = "primitive" if code in primitives else "complex"
            many, attr = raw.endswith("*"), raw.startswith("@")
            found[name] = Spec(code, many, attr, kind, primitives.get(code, ""))
        _SPECS[type_name] = found
    return found


def fail(message_id: str, where: str, detail: str = "", code: str = "structure") -> NoReturn:
    text = MESSAGES[message_id] + (f" {detail}" if detail else "")
    raise FormatError([Issue(message_id, text, (where,) if where else (), code)])


def xml_parser() -> etree.XMLParser:
    return etree.XMLParser(
        resolve_entities=False,
        no_network=True,
        load_dtd=False,
        dtd_validation=False,
        remove_comments=True,
        remove_pis=True,
        huge_tree=False,
        strip_cdata=True,
    )


def safe_root(data: bytes | str) -> Any:
    """Parse with every external and expanding feature off; refuse declarations outright."""
    if isinstance(data, bytes):
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError as error:
            fail("IP-2042", "", f"Invalid byte at {error.start}.")
    else:
        text = data
    text = text.removeprefix("\ufeff")
    if _DECLARATION.search(text):
        fail("IP-2041", "", code="security")
    declared = _XML_DECL_ENCODING.match(text)
    if declared and declared.group(1).lower().replace("_", "-") not in ("utf-8", "utf8"):
        fail("IP-2042", "", f"Declared {declared.group(1)!r}.")
    try:
        root = etree.fromstring(text.encode("utf-8"), xml_parser())
    except UnicodeEncodeError as error:  # lone surrogates in a str
        fail("IP-2042", "", f"Not encodable at {error.start}.")
    except etree.XMLSyntaxError as error:
        fail("IP-2040", "", str(error))
    if root.getroottree().docinfo.doctype:
        fail("IP-2041", "", code="security")
    return root
