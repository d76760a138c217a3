"""R4 JSON dicts → FHIR XML text (see :mod:`mappings.fhirxml`)."""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Any

from ipfhir.mappings.errors import FormatError
from ipfhir.mappings.fhir_r4 import r4_elements
from ipfhir.mappings.fhirjson import number_text
from ipfhir.mappings.fhirxml_spec import DIV, FHIR_NS, Spec, fail, safe_root, specs

__all__ = ["to_xml"]

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
        fail("IP-2043", "Resource", f"Got resourceType {resource_type!r}.")
    writer = _Writer(pretty)
    writer.resource(resource, resource_type, 0)
    return "".join(writer.out)


def _attr(value: Any, where: str) -> str:
    if not isinstance(value, str):
        fail("IP-2052", where, f"Expected a string, got {type(value).__name__}.", "value")
    if _NOT_XML.search(value):
        fail("IP-2053", where, code="value")
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
    fail("IP-2052", where, f"Got {value!r} for {spec.type}.", "value")


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
                fail("IP-2044", f"{path}.{base}", f"Key {key!r}.")
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
            fail("IP-2052", where, "Expected an array." if spec.many else "Expected one value.")
        for i, item in enumerate(items):
            here = f"{where}[{i}]" if spec.many else where
            if spec.kind == "xhtml":
                self.out.append(self._newline(depth) + _checked_div(item, here))
            elif not isinstance(item, dict):
                fail("IP-2052", here, f"Expected an object, got {type(item).__name__}.")
            elif spec.kind == "resource":
                self.out.append(f"{self._newline(depth)}<{name}>")
                self.wrapped(item, here, depth + 1)
                self.out.append(f"{self._newline(depth)}</{name}>")
            else:
                self.element(name, spec.type, item, None, here, depth)

    def wrapped(self, item: dict[str, Any], where: str, depth: int) -> None:
        resource_type = item.get("resourceType")
        if not isinstance(resource_type, str) or resource_type not in r4_elements()["resources"]:
            fail("IP-2050", where, f"Got resourceType {resource_type!r}.")
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
                fail("IP-2052", where, "Expected an array.")
            values, exts = values or [], exts or []
            if values and exts and len(values) != len(exts):
                fail("IP-2052", where, f"{name} and _{name} differ in length.")
            size = max(len(values), len(exts))
            pairs = [
                (values[i] if values else None, exts[i] if exts else None) for i in range(size)
            ]
        else:
            pairs = [(values, exts)]
        for i, (value, ext) in enumerate(pairs):
            here = f"{where}[{i}]" if spec.many else where
            if value is None and ext is None:
                fail("IP-2049", here)
            if ext is not None and not isinstance(ext, dict):
                fail("IP-2052", here, "Expected an object for the extension part.")
            text = None if value is None else _lexical(value, spec, here)
            self.element(name, "Element", ext or {}, text, here, depth)


def _checked_div(value: Any, where: str) -> str:
    """The JSON narrative, verbatim, once it is known to be one self-contained xhtml div."""
    if (
        not isinstance(value, str)
        or not value.lstrip().startswith("<")
        or value.lstrip().startswith("<?")
    ):
        fail("IP-2051", where)
    try:
        root = safe_root(value)
    except FormatError:
        fail("IP-2051", where)
    if root.tag != DIV:
        fail("IP-2051", where, f"Got {root.tag!r}.")
    return value
