"""References a Task or a Provenance (the plan's work and its record) makes to resources the
caller may not see, removed as they are from the CarePlan: a recipient shown a Task about a
goal on a refused topic must not learn that goal's id (issue 9).

Which reference is hidden is the policy's call (``hidden(ref)`` gives the reason, ``None``
keeps it); this module knows only where Task and Provenance hold references that can point
at a Goal or a Consent: ``Task.focus``, ``Task.basedOn``, ``Task.reasonReference``,
``Task.input[].valueReference``, ``Task.output[].valueReference``; ``Provenance.target`` and
``Provenance.entity[].what``. A single reference goes with its element; an entry of a list
goes whole (an ``input`` without its value, an ``entity`` without ``what`` would mean nothing).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from ipfhir.adapter.consent.redact import Removal, strip_list

__all__ = ["WORK_TYPES", "strip_work_references"]

Resource = dict[str, Any]
Hidden = Callable[[str], str | None]
WORK_TYPES = frozenset({"Task", "Provenance"})
_SINGLE = {"Task": ("focus", "reasonReference")}
_LISTS = {"Task": ("basedOn",), "Provenance": ("target",)}
_NESTED = {"Task": (("input", "valueReference"), ("output", "valueReference"))}
_NESTED_PROVENANCE = (("entity", "what"),)


def _reference(node: Any) -> str:
    if not isinstance(node, Mapping):
        return ""
    return str(node.get("reference", "")).split("/_history/")[0]


def strip_work_references(resource: Resource, hidden: Hidden) -> tuple[Resource, list[Removal]]:
    """``resource`` (a Task or Provenance) without the references ``hidden`` rejects; the
    original is never changed (a shallow copy with new lists; ``resource`` itself when nothing
    was removed)."""
    rtype = str(resource.get("resourceType"))
    out = dict(resource)
    removed: list[Removal] = []
    for key in _SINGLE.get(rtype, ()):
        why = hidden(_reference(out.get(key))) if key in out else None
        if why is not None:
            del out[key]
            removed.append(Removal(f"{rtype}.{key}", why))
    for key in _LISTS.get(rtype, ()):
        removed += strip_list(out, key, lambda e, _p: hidden(_reference(e)))
    nested = _NESTED.get(rtype, _NESTED_PROVENANCE if rtype == "Provenance" else ())
    for key, inner in nested:
        if isinstance(out.get(key), list):
            removed += strip_list(out, key, _by(inner, hidden))
    return (out, removed) if removed else (resource, removed)


def _by(inner: str, hidden: Hidden) -> Callable[[Mapping[str, Any], str], str | None]:
    def judge(element: Mapping[str, Any], _path: str) -> str | None:
        return hidden(_reference(element.get(inner)))

    return judge
