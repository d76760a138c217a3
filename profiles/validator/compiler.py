"""Compile a StructureDefinition snapshot into a :class:`~profiles.validator.model.Node` tree.

Element ids give the tree: ``Patient.identifier:FNR.system`` is the child ``system`` of the slice
``FNR`` of ``Patient.identifier``. A slice on a choice element named after one type
(``value[x]:valueQuantity``) constrains that type only. Invariants are prepared here (their
expressions are scanned once for the element names they read, see ``Constraint.focus_free``).
"""

from __future__ import annotations

import re
from typing import Any

from ipfhir.profiles.validator.model import Constraint, Discriminator, Node, TypeRef
from ipfhir.profiles.validator.native import compile_native, reads_root_choice

__all__ = ["NATIVE_CONSTRAINTS", "compile_structure", "type_key"]

# Checked natively by the walker (cheaper and with better messages than FHIRPath).
NATIVE_CONSTRAINTS = frozenset({"ele-1", "ext-1", "ref-1"})
_FOCUS_READERS = (
    "$this",
    "%",
    "children(",
    "descendants(",
    "hasValue(",
    "repeat(",
    "htmlChecks(",
    "is(",
    "as(",
    "type(",
    "conformsTo(",
    "resolve(",
    "getValue(",
    " is ",
    " as ",
    "trace(",
)
_STRINGS = re.compile(r"'(?:[^'\\]|\\.)*'|`[^`]*`")
_NAMES = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def type_key(prefix: str, code: str) -> str:
    """The JSON property of choice ``prefix[x]`` for type ``code`` (valueString, valueQuantity)."""
    return prefix + code[0].upper() + code[1:]


def _constraint(raw: dict[str, Any]) -> Constraint | None:
    expression = raw.get("expression")
    if not isinstance(expression, str) or raw.get("key") in NATIVE_CONSTRAINTS:
        return None
    stripped = _STRINGS.sub("''", expression)
    names = frozenset(_NAMES.findall(stripped))
    focus_free = not any(marker in stripped for marker in _FOCUS_READERS)
    return Constraint(
        key=str(raw.get("key", "?")),
        severity=str(raw.get("severity", "error")),
        human=str(raw.get("human", "")),
        expression=expression,
        names=names,
        focus_free=focus_free,
        native=compile_native(expression),
        root_choice=reads_root_choice(expression),
    )


def _max(value: Any) -> int:
    return -1 if value in (None, "*") else int(value)


def _typed_value(element: dict[str, Any], prefix: str) -> Any:
    for key, value in element.items():
        if key.startswith(prefix) and key != prefix:
            return value
    return None


_FHIR_TYPE = "http://hl7.org/fhir/StructureDefinition/structuredefinition-fhir-type"


def _type_code(t: dict[str, Any], path: str, resource: bool) -> str:
    """The FHIR type of a type entry; System.String & co. carry it in an extension. A resource's
    ``id`` is an ``id`` (R4 §2.1.28) although the snapshot says string."""
    if resource and path.count(".") == 1 and path.endswith(".id"):
        return "id"
    code = str(t.get("code"))
    if code.startswith("http://hl7.org/fhirpath/"):
        for ext in t.get("extension", ()):
            if ext.get("url") == _FHIR_TYPE and isinstance(ext.get("valueUrl"), str):
                return str(ext["valueUrl"])
    return code


def _node(element: dict[str, Any], sd_url: str, root: bool, resource: bool = False) -> Node:
    path = str(element["path"])
    base_max = element.get("base", {}).get("max", element.get("max", "*"))
    binding = element.get("binding") or {}
    strength, value_set = binding.get("strength"), binding.get("valueSet")
    slicing = element.get("slicing") or {}
    node = Node(
        path=path,
        name=path.rsplit(".", 1)[-1],
        min=int(element.get("min", 0)),
        max=_max(element.get("max")),
        array=not root and base_max not in ("0", "1"),
        types=tuple(
            TypeRef(
                _type_code(t, path, resource),
                tuple(t.get("profile", ())),
                tuple(t.get("targetProfile", ())),
            )
            for t in element.get("type", ())
        ),
        fixed=_typed_value(element, "fixed"),
        pattern=_typed_value(element, "pattern"),
        binding=(strength, value_set)
        if strength in ("required", "extensible") and value_set
        else None,
        content_ref=element.get("contentReference"),
        max_length=element.get("maxLength"),
        min_value=_typed_value(element, "minValue"),
        max_value=_typed_value(element, "maxValue"),
        discriminators=tuple(
            Discriminator(str(d.get("type")), str(d.get("path")))
            for d in slicing.get("discriminator", ())
        ),
        rules=slicing.get("rules") if slicing else None,
        sd_url=sd_url,
    )
    node.constraints = [c for c in map(_constraint, element.get("constraint", ())) if c]
    node.refresh_value_rules()
    return node


def _attach(owner: Node, node: Node, segment: str) -> None:
    if ":" not in segment:
        if owner.children is None:
            owner.children = {}
        owner.children[node.name] = node
        if node.choice:
            for t in node.types:
                owner.choice_keys[type_key(node.name[:-3], t.code)] = (node, t.code)
        return


def compile_structure(sd: dict[str, Any]) -> Node:
    """The element tree of ``sd``'s snapshot (the root is the resource or data type)."""
    url = str(sd.get("url", ""))
    elements = (sd.get("snapshot") or {}).get("element") or []
    if not elements:
        raise ValueError(f"StructureDefinition {url} has no snapshot")
    by_id: dict[str, Node] = {}
    root = _node(elements[0], url, root=True)
    by_id[str(elements[0].get("id") or elements[0]["path"])] = root
    for element in elements[1:]:
        eid = str(element.get("id") or element["path"])
        parent_id, _, segment = eid.rpartition(".")
        node = _node(element, url, root=False, resource=sd.get("kind") == "resource")
        by_id[eid] = node
        if ":" in segment:
            base_name, _, slice_name = segment.partition(":")
            owner = by_id.get(f"{parent_id}.{base_name}")
            if owner is None:
                continue
            node.slice_name = slice_name
            _add_slice(owner, node, slice_name)
            continue
        parent = by_id.get(parent_id)
        if parent is not None:
            _attach(parent, node, segment)
    return root


def _add_slice(owner: Node, node: Node, slice_name: str) -> None:
    if owner.choice:
        prefix = owner.name[:-3]
        for t in owner.types:
            if type_key(prefix, t.code) == slice_name:
                owner.type_slices[t.code] = node
                return
    owner.slices.append(node)
