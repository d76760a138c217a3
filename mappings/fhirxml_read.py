"""FHIR XML → R4 JSON dicts (see :mod:`mappings.fhirxml`)."""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Any

from lxml import etree  # type: ignore[import-untyped]  # no stubs installed

from ipfhir.mappings.fhir_r4 import r4_elements
from ipfhir.mappings.fhirxml_spec import FHIR_NS, XHTML_NS, Spec, fail, safe_root, specs

__all__ = ["parse_xml"]

_DECIMAL = re.compile(r"-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?")
_TEXT_QUOTES = re.compile(r">([^<]*)<")
_INTEGER = re.compile(r"-?(0|[1-9][0-9]*)")


def parse_xml(data: bytes | str) -> dict[str, Any]:
    """Read one FHIR XML resource into its R4 JSON form (a dict)."""
    root = safe_root(data)
    name = etree.QName(root)
    if name.namespace != FHIR_NS or name.localname not in r4_elements()["resources"]:
        fail("IP-2043", name.localname, f"Got {root.tag!r}.")
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
            fail("IP-2046", f"{path}.{name}", f"Attribute {name!r}.")
        found[name] = value
    if el.text is not None and el.text.strip():
        fail("IP-2047", path, f"Got {el.text.strip()[:40]!r}.")
    return found


def _read_children(el: Any, type_name: str, obj: dict[str, Any], path: str) -> None:
    table = specs(type_name)
    counts: dict[str, int] = {}
    for child in el:
        if child.tail is not None and child.tail.strip():
            fail("IP-2047", path, f"Got {child.tail.strip()[:40]!r}.")
        qname = etree.QName(child)
        name = qname.localname
        spec = table.get(name)
        if (
            spec is None
            or spec.attr
            or qname.namespace != (XHTML_NS if spec.kind == "xhtml" else FHIR_NS)
        ):
            fail("IP-2044", f"{path}.{name}", f"Element {child.tag!r}.")
        index = counts.get(name, 0)
        counts[name] = index + 1
        if index and not spec.many:
            fail("IP-2045", f"{path}.{name}")
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
        fail("IP-2049", path)
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
    fail("IP-2048", path, f"Got {raw!r} for {spec.type}.", "value")


def _read_wrapper(el: Any, path: str) -> dict[str, Any]:
    _check_attributes(el, {}, path)
    children = list(el)
    if len(children) != 1:
        fail("IP-2050", path, f"Found {len(children)}.")
    (inner,) = children
    qname = etree.QName(inner)
    if qname.namespace != FHIR_NS or qname.localname not in r4_elements()["resources"]:
        fail("IP-2050", path, f"Got {inner.tag!r}.")
    if inner.tail is not None and inner.tail.strip():
        fail("IP-2047", path)
    return _read_resource(inner, path)


def _read_div(el: Any) -> str:
    text: str = etree.tostring(el, encoding="unicode", with_tail=False)
    return _TEXT_QUOTES.sub(lambda m: ">" + m.group(1).replace('"', "&quot;") + "<", text)
