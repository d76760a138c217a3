"""FHIR R4 XML <-> R4 JSON dicts, per https://hl7.org/fhir/R4/xml.html (not fhir.resources' XML).

Type knowledge (repeating or single, primitive type, choice names, backbone and content-reference
types, XML attributes) comes from ``mappings/data/r4-elements.json``, compiled from the shipped R4
StructureDefinitions by ``tools/gen_r4_elements.py``.

* Primitives: ``value`` attribute; ``id`` attribute and ``extension`` children become ``_name`` in
  JSON (arrays of primitives aligned with ``null``). booleans and integers become JSON booleans and
  ints, decimals :class:`~decimal.Decimal` (lexical precision kept), everything else strings.
* ``Element.id`` and ``Extension.url`` are attributes; a resource's own ``id`` is an element.
* ``contained``, ``Bundle.entry.resource``, ``Parameters.parameter.resource``: resource wrappers.
* Narrative ``div`` (xhtml namespace) is a string in JSON, as FHIR JSON has it: serialised by
  lxml with ``"`` in text written ``&quot;`` (as the FHIR reference serialiser does); :func:`to_xml`
  embeds the JSON string verbatim after checking it is one well-formed xhtml ``div``.

The reader is hardened: UTF-8 only, no DTD, no entities, no network, no huge trees; any DOCTYPE or
ENTITY declaration is refused (XXE, billion laughs). Errors are :class:`FormatError` s with
IP-2040..IP-2053 and the FHIRPath of the offending element.
"""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Any, NamedTuple, NoReturn

from lxml import etree  # type: ignore[import-untyped]  # no stubs installed

from mappings.errors import FormatError, Issue
from mappings.fhir_r4 import MESSAGES, r4_elements
from mappings.fhirjson import number_text

__all__ = ["FHIR_NS", "XHTML_NS", "parse_xml", "to_xml"]

FHIR_NS = "http://hl7.org/fhir"
XHTML_NS = "http://www.w3.org/1999/xhtml"
_F = "{" + FHIR_NS + "}"
_DIV = "{" + XHTML_NS + "}div"
_DECLARATION = re.compile(r"<!\s*(DOCTYPE|ENTITY)", re.IGNORECASE)
_XML_DECL_ENCODING = re.compile(r"^\s*<\?xml[^>]*encoding\s*=\s*[\"']([^\"']+)[\"']")
_INTEGER = re.compile(r"-?(0|[1-9][0-9]*)")
_DECIMAL = re.compile(r"-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?")
_TEXT_QUOTES = re.compile(r">([^<]*)<")


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


def _fail(message_id: str, where: str, detail: str = "", code: str = "structure") -> NoReturn:
    text = MESSAGES[message_id] + (f" {detail}" if detail else "")
    raise FormatError([Issue(message_id, text, (where,) if where else (), code)])


# ----------------------------------------------------------------------------- reading


def _parser() -> etree.XMLParser:
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


def _safe_root(data: bytes | str) -> Any:
    """Parse with every external and expanding feature off; refuse declarations outright."""
    if isinstance(data, bytes):
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError as error:
            _fail("IP-2042", "", f"Invalid byte at {error.start}.")
    else:
        text = data
    text = text.removeprefix("\ufeff")
    if _DECLARATION.search(text):
        _fail("IP-2041", "", code="security")
    declared = _XML_DECL_ENCODING.match(text)
    if declared and declared.group(1).lower().replace("_", "-") not in ("utf-8", "utf8"):
        _fail("IP-2042", "", f"Declared {declared.group(1)!r}.")
    try:
        root = etree.fromstring(text.encode("utf-8"), _parser())
    except UnicodeEncodeError as error:  # lone surrogates in a str
        _fail("IP-2042", "", f"Not encodable at {error.start}.")
    except etree.XMLSyntaxError as error:
        _fail("IP-2040", "", str(error))
    if root.getroottree().docinfo.doctype:
        _fail("IP-2041", "", code="security")
    return root


def parse_xml(data: bytes | str) -> dict[str, Any]:
    """Read one FHIR XML resource into its R4 JSON form (a dict)."""
    root = _safe_root(data)
    name = etree.QName(root)
    if name.namespace != FHIR_NS or name.localname not in r4_elements()["resources"]:
        _fail("IP-2043", name.localname, f"Got {root.tag!r}.")
    return _read_resource(root, name.localname)


def _read_resource(el: Any, path: str) -> dict[str, Any]:
    resource_type = etree.QName(el).localname
    obj: dict[str, Any] = {"resourceType": resource_type}
    _check_attributes(el, {}, path)
    _read_children(el, resource_type, obj, path)
    return obj


def _check_attributes(el: Any, allowed: dict[str, Spec], path: str) -> dict[str, str]:
    found: dict[str, str] = {}
    for name, value in el.attrib.items():
        if name.startswith("{"):
            continue  # foreign-namespace attributes (xsi:schemaLocation, ...) carry no content
        spec = allowed.get(name)
        if spec is None or not spec.attr:
            _fail("IP-2046", f"{path}.{name}", f"Attribute {name!r}.")
        found[name] = value
    if el.text is not None and el.text.strip():
        _fail("IP-2047", path, f"Got {el.text.strip()[:40]!r}.")
    return found


def _read_children(el: Any, type_name: str, obj: dict[str, Any], path: str) -> None:
    table = specs(type_name)
    counts: dict[str, int] = {}
    for child in el:
        if child.tail is not None and child.tail.strip():
            _fail("IP-2047", path, f"Got {child.tail.strip()[:40]!r}.")
        qname = etree.QName(child)
        name = qname.localname
        spec = table.get(name)
        if (
            spec is None
            or spec.attr
            or qname.namespace != (XHTML_NS if spec.kind == "xhtml" else FHIR_NS)
        ):
            _fail("IP-2044", f"{path}.{name}", f"Element {child.tag!r}.")
        index = counts.get(name, 0)
        counts[name] = index + 1
        if index and not spec.many:
            _fail("IP-2045", f"{path}.{name}")
        where = f"{path}.{name}" + (f"[{index}]" if spec.many else "")
        _read_child(child, name, spec, index, obj, where)
    for name, spec in table.items():
        if spec.kind == "primitive" and spec.many and name in counts:
            _tidy_primitive_lists(obj, name)


def _read_child(
    child: Any, name: str, spec: Spec, index: int, obj: dict[str, Any], where: str
) -> None:
    if spec.kind == "primitive":
        value, ext = _read_primitive(child, spec, where)
        if spec.many:
            obj.setdefault(name, []).append(value)
            obj.setdefault("_" + name, []).append(ext)
        else:
            if value is not None:
                obj[name] = value
            if ext is not None:
                obj["_" + name] = ext
        return
    if spec.kind == "complex":
        value = _read_complex(child, spec.type, where)
    elif spec.kind == "resource":
        value = _read_wrapper(child, where)
    else:
        value = _read_div(child)
    if spec.many:
        obj.setdefault(name, []).append(value)
    else:
        obj[name] = value


def _tidy_primitive_lists(obj: dict[str, Any], name: str) -> None:
    """Drop an all-null side of a primitive array (``given`` / ``_given``)."""
    for key in (name, "_" + name):
        if all(v is None for v in obj[key]):
            del obj[key]


def _read_complex(el: Any, type_name: str, path: str) -> dict[str, Any]:
    table = specs(type_name)
    obj: dict[str, Any] = dict(_check_attributes(el, table, path))
    _read_children(el, type_name, obj, path)
    return obj


_PRIMITIVE_ATTRS = {
    "value": Spec("", False, True, "", ""),
    "id": Spec("string", False, True, "", ""),
}


def _read_primitive(el: Any, spec: Spec, path: str) -> tuple[Any, dict[str, Any] | None]:
    attrs = _check_attributes(el, _PRIMITIVE_ATTRS, path)
    ext: dict[str, Any] = {"id": attrs["id"]} if "id" in attrs else {}
    _read_children(el, "Element", ext, path)  # only extension children are allowed
    raw = attrs.get("value")
    if raw is None and not ext:
        _fail("IP-2049", path)
    value = None if raw is None else _typed_value(raw, spec, path)
    return value, ext or None


def _typed_value(raw: str, spec: Spec, path: str) -> Any:
    kind = spec.json
    if kind == "boolean" and raw in ("true", "false"):
        return raw == "true"
    if kind == "integer" and _INTEGER.fullmatch(raw):
        return int(raw)
    if kind == "decimal" and _DECIMAL.fullmatch(raw):
        return Decimal(raw)
    if kind == "string" and raw:
        return raw
    _fail("IP-2048", path, f"Got {raw!r} for {spec.type}.", "value")


def _read_wrapper(el: Any, path: str) -> dict[str, Any]:
    _check_attributes(el, {}, path)
    children = list(el)
    if len(children) != 1:
        _fail("IP-2050", path, f"Found {len(children)}.")
    (inner,) = children
    qname = etree.QName(inner)
    if qname.namespace != FHIR_NS or qname.localname not in r4_elements()["resources"]:
        _fail("IP-2050", path, f"Got {inner.tag!r}.")
    if inner.tail is not None and inner.tail.strip():
        _fail("IP-2047", path)
    return _read_resource(inner, path)


def _read_div(el: Any) -> str:
    text: str = etree.tostring(el, encoding="unicode", with_tail=False)
    return _TEXT_QUOTES.sub(lambda m: ">" + m.group(1).replace('"', "&quot;") + "<", text)


# ----------------------------------------------------------------------------- writing

_ATTR_ESCAPES = str.maketrans(
    {
        "&": "&amp;",
        "<": "&lt;",
        ">": "&gt;",
        '"': "&quot;",
        "\n": "&#10;",
        "\r": "&#13;",
        "\t": "&#9;",
    }
)
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff\ud800-\udfff]")


def to_xml(resource: dict[str, Any], pretty: bool = False) -> str:
    """Write an R4 JSON resource (dict) as FHIR XML text (no XML declaration; encode as UTF-8)."""
    resource_type = resource.get("resourceType") if isinstance(resource, dict) else None
    if not isinstance(resource_type, str) or resource_type not in r4_elements()["resources"]:
        _fail("IP-2043", "Resource", f"Got resourceType {resource_type!r}.")
    writer = _Writer(pretty)
    writer.resource(resource, resource_type, 0)
    return "".join(writer.out)


def _attr(value: Any, where: str) -> str:
    if not isinstance(value, str):
        _fail("IP-2052", where, f"Expected a string, got {type(value).__name__}.", "value")
    if _NOT_XML.search(value):
        _fail("IP-2053", where, code="value")
    return value.translate(_ATTR_ESCAPES)


def _lexical(value: Any, spec: Spec, where: str) -> str:
    kind = spec.json
    if isinstance(value, bool):
        if kind == "boolean":
            return "true" if value else "false"
    elif kind == "integer" and isinstance(value, int):
        return str(value)
    elif kind == "decimal" and isinstance(value, int | float | Decimal):
        return number_text(value)
    elif kind == "string" and isinstance(value, str) and value:
        return _attr(value, where)
    _fail("IP-2052", where, f"Got {value!r} for {spec.type}.", "value")


class _Writer:
    """Builds the XML text in element-definition order."""

    def __init__(self, pretty: bool) -> None:
        self.out: list[str] = []
        self.pretty = pretty

    def _newline(self, depth: int) -> str:
        return "\n" + "  " * depth if self.pretty and (depth or self.out) else ""

    def resource(self, obj: dict[str, Any], path: str, depth: int) -> None:
        resource_type = obj["resourceType"]
        namespace = f' xmlns="{FHIR_NS}"' if depth == 0 else ""
        self.out.append(f"{self._newline(depth)}<{resource_type}{namespace}>")
        self.children(obj, resource_type, path, depth + 1, is_resource=True)
        self.out.append(f"{self._newline(depth)}</{resource_type}>")

    def children(
        self, obj: dict[str, Any], type_name: str, path: str, depth: int, is_resource: bool = False
    ) -> None:
        table = specs(type_name)
        for key in obj:
            base = key[1:] if key.startswith("_") else key
            spec = table.get(base)
            if is_resource and key == "resourceType":
                continue
            if spec is None or (key != base and spec.kind != "primitive"):
                _fail("IP-2044", f"{path}.{base}", f"Key {key!r}.")
        for name, spec in table.items():
            if spec.attr:
                continue
            if spec.kind == "primitive":
                if name in obj or "_" + name in obj:
                    self.primitive(obj.get(name), obj.get("_" + name), name, spec, path, depth)
            elif name in obj:
                self.complex(obj[name], name, spec, f"{path}.{name}", depth)

    def complex(self, value: Any, name: str, spec: Spec, where: str, depth: int) -> None:
        items = value if spec.many and isinstance(value, list) else [value]
        if spec.many != isinstance(value, list):
            _fail("IP-2052", where, "Expected an array." if spec.many else "Expected one value.")
        for i, item in enumerate(items):
            here = f"{where}[{i}]" if spec.many else where
            if spec.kind == "xhtml":
                self.out.append(self._newline(depth) + _checked_div(item, here))
            elif not isinstance(item, dict):
                _fail("IP-2052", here, f"Expected an object, got {type(item).__name__}.")
            elif spec.kind == "resource":
                self.out.append(f"{self._newline(depth)}<{name}>")
                self.wrapped(item, here, depth + 1)
                self.out.append(f"{self._newline(depth)}</{name}>")
            else:
                self.element(name, spec.type, item, None, here, depth)

    def wrapped(self, item: dict[str, Any], where: str, depth: int) -> None:
        resource_type = item.get("resourceType")
        if not isinstance(resource_type, str) or resource_type not in r4_elements()["resources"]:
            _fail("IP-2050", where, f"Got resourceType {resource_type!r}.")
        self.resource(item, where, depth)

    def element(
        self,
        name: str,
        type_name: str,
        obj: dict[str, Any],
        value: str | None,
        where: str,
        depth: int,
    ) -> None:
        attrs = [
            f' {key}="{_attr(obj[key], f"{where}.{key}")}"'
            for key, spec in specs(type_name).items()
            if spec.attr and key in obj
        ]
        if value is not None:
            attrs.append(f' value="{value}"')
        start = len(self.out)
        self.out.append(f"{self._newline(depth)}<{name}{''.join(attrs)}")
        self.children(obj, type_name, where, depth + 1)
        if len(self.out) == start + 1:
            self.out[start] += "/>"
        else:
            self.out[start] += ">"
            self.out.append(f"{self._newline(depth)}</{name}>")

    def primitive(
        self, values: Any, exts: Any, name: str, spec: Spec, path: str, depth: int
    ) -> None:
        where = f"{path}.{name}"
        if spec.many:
            if not isinstance(values, list | None) or not isinstance(exts, list | None):
                _fail("IP-2052", where, "Expected an array.")
            values, exts = values or [], exts or []
            if values and exts and len(values) != len(exts):
                _fail("IP-2052", where, f"{name} and _{name} differ in length.")
            size = max(len(values), len(exts))
            pairs = [
                (values[i] if values else None, exts[i] if exts else None) for i in range(size)
            ]
        else:
            pairs = [(values, exts)]
        for i, (value, ext) in enumerate(pairs):
            here = f"{where}[{i}]" if spec.many else where
            if value is None and ext is None:
                _fail("IP-2049", here)
            if ext is not None and not isinstance(ext, dict):
                _fail("IP-2052", here, "Expected an object for the extension part.")
            text = None if value is None else _lexical(value, spec, here)
            self.element(name, "Element", ext or {}, text, here, depth)


def _checked_div(value: Any, where: str) -> str:
    """The JSON narrative, verbatim, once it is known to be one self-contained xhtml div."""
    if (
        not isinstance(value, str)
        or not value.lstrip().startswith("<")
        or value.lstrip().startswith("<?")
    ):
        _fail("IP-2051", where)
    try:
        root = _safe_root(value)
    except FormatError:
        _fail("IP-2051", where)
    if root.tag != _DIV:
        _fail("IP-2051", where, f"Got {root.tag!r}.")
    return value
