"""SMART on FHIR scopes: v2 ``system/CarePlan.rs``, ``user/*.cruds``; v1 ``.read``, ``.write``.

An interaction needs one permission letter on its resource type: c (create), r (read, vread,
history, $everything), u (update), d (delete), s (search). Granular v2 scopes
(``?category=...``) are not supported and grant nothing.
"""

from __future__ import annotations

from collections.abc import Iterable

__all__ = ["INTERACTION_LETTER", "needed_scope", "scope_allows"]

INTERACTION_LETTER = {
    "read": "r",
    "vread": "r",
    "history": "r",
    "everything": "r",
    "search": "s",
    "create": "c",
    "update": "u",
    "delete": "d",
}
_V1 = {"read": "rs", "write": "cud", "*": "cruds"}
_CONTEXTS = ("system", "user", "patient")


def _letters(scope: str, resource_type: str) -> str:
    context, _, rest = scope.partition("/")
    if context not in _CONTEXTS or "." not in rest:
        return ""
    rtype, _, perms = rest.partition(".")
    if rtype not in ("*", resource_type):
        return ""
    if perms in _V1:
        return _V1[perms]
    return perms if set(perms) <= set("cruds") else ""


def scope_allows(scopes: Iterable[str], resource_type: str, interaction: str) -> bool:
    letter = INTERACTION_LETTER.get(interaction, "r")
    return any(letter in _letters(s, resource_type) for s in scopes if "?" not in s)


def needed_scope(resource_type: str, interaction: str) -> str:
    return f"system/{resource_type}.{INTERACTION_LETTER.get(interaction, 'r')}"
