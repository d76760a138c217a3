"""Value-level checks on one element: fixed/pattern values, bindings, references, identifiers."""

from __future__ import annotations

import json
import re
from decimal import Decimal
from typing import Any

from ipfhir.mappings.errors import Issue
from ipfhir.profiles.validator.identifiers import CHECKS
from ipfhir.profiles.validator.messages import issue
from ipfhir.profiles.validator.model import Node
from ipfhir.profiles.validator.protocols import WalkerRole
from ipfhir.profiles.validator.registry import CORE_SD

__all__ = [
    "check_binding",
    "check_fixed",
    "check_identifier",
    "check_range",
    "check_reference",
    "pattern_matches",
]

_REF = re.compile(
    r"(?:.*/)?([A-Z][A-Za-z]+)/[A-Za-z0-9\-.]{1,64}(?:/_history/[A-Za-z0-9\-.]{1,64})?"
)


# reference text -> the type _REF reads in it: references recur (the patient, the plan, the
# coordinator) and the regex backtracks over every "/"; at most this many, each at most this
# long (a full dict is emptied; every thread computes the same answer for a text)
_REF_TYPES: dict[str, str | None] = {}
_REF_CACHED, _REF_CACHED_LENGTH = 4096, 256
_UNREAD: Any = object()


def pattern_matches(value: Any, pattern: Any) -> bool:
    """FHIR pattern[x] semantics: every property in the pattern is present with the same value.
    (Loops, not all()/any() over generators: slicing by pattern calls this for every item.)"""
    if type(pattern) is str:  # the leaves, mostly: the last line's answer for a string
        return type(value) is str and value == pattern
    if isinstance(pattern, dict):
        if not isinstance(value, dict):
            return False
        for k, v in pattern.items():  # noqa: SIM110 - a loop: no generator per call
            if not pattern_matches(value.get(k), v):
                return False
        return True
    if isinstance(pattern, list):
        items = value if isinstance(value, list) else []
        for p in pattern:
            for i in items:
                if pattern_matches(i, p):
                    break
            else:
                return False
        return True
    return bool(value == pattern and type(value) is type(pattern))


def _show(value: Any) -> str:
    text = json.dumps(value, ensure_ascii=False, sort_keys=True)
    return text if len(text) < 200 else text[:197] + "..."


def check_fixed(node: Node, value: Any, expr: str) -> list[Issue]:
    found: list[Issue] = []
    if node.fixed is not None and value != node.fixed:
        found.append(issue("IP-3008", expr, expected=_show(node.fixed)))
    if node.pattern is not None and not pattern_matches(value, node.pattern):
        found.append(issue("IP-3009", expr, expected=_show(node.pattern)))
    return found


def _list(value: Any) -> list[Any]:
    """A JSON array, or nothing (a wrong type is the walker's IP-3004, not a crash here)."""
    return value if isinstance(value, list) else []


def _codings(type_code: str, value: Any) -> list[tuple[str | None, str]]:
    if type_code == "Coding" and isinstance(value, dict) and isinstance(value.get("code"), str):
        return [(value.get("system"), value["code"])]
    if type_code == "CodeableConcept" and isinstance(value, dict):
        return [
            (c.get("system"), c["code"])
            for c in _list(value.get("coding"))
            if isinstance(c, dict) and isinstance(c.get("code"), str)
        ]
    if type_code in ("code", "string", "uri") and isinstance(value, str):
        return [(None, value)]
    return []


def check_binding(
    walker: WalkerRole, node: Node, type_code: str, value: Any, expr: str
) -> list[Issue]:
    """Required bindings are errors, extensible ones warnings; unknown-offline says nothing."""
    if node.binding is None:
        return []
    strength, vs = node.binding
    codings = _codings(type_code, value)
    if not codings:
        return []
    contains = walker.terminology.contains
    for s, c in codings:
        answer = contains(vs, s, c)
        if answer is None or answer:  # one coding in the value set, or not known offline
            return []
    shown = ", ".join(f"{s}|{c}" if s else c for s, c in codings)
    message = "IP-3010" if strength == "required" else "IP-3011"
    where = expr + ".coding" if type_code == "CodeableConcept" and len(codings) == 1 else expr
    return [issue(message, where, code=repr(shown), vs=vs)]


def check_code_system(walker: WalkerRole, value: dict[str, Any], expr: str) -> list[Issue]:
    """A Coding of a local, complete CodeSystem must use a code that system defines."""
    system, code = value.get("system"), value.get("code")
    if not isinstance(system, str) or not isinstance(code, str):
        return []
    codes = walker.terminology.system_codes(system)
    if codes is None or code in codes:
        return []
    return [issue("IP-3026", expr + ".code", code=repr(code), system=system)]


def check_identifier(value: dict[str, Any], expr: str) -> list[Issue]:
    rule = CHECKS.get(str(value.get("system")))
    text = value.get("value")
    if rule is None or not isinstance(text, str) or rule[0](text):
        return []
    return [issue(rule[1], expr + ".value", value=text)]


def _target_type(walker: WalkerRole, text: str) -> str | None:
    if text.startswith("#") or text.startswith("urn:"):
        target = walker.env.resolve_one(text)
        return str(target.get("resourceType")) if target else None
    found: str | None = _REF_TYPES.get(text, _UNREAD)
    if found is _UNREAD:
        match = _REF.fullmatch(text)
        found = match.group(1) if match else None
        if len(text) <= _REF_CACHED_LENGTH:
            if len(_REF_TYPES) >= _REF_CACHED:
                _REF_TYPES.clear()
            _REF_TYPES[text] = found
    return found


def check_reference(
    walker: WalkerRole, node: Node, value: dict[str, Any], expr: str
) -> list[Issue]:
    text = value.get("reference")
    if isinstance(text, str) and text.startswith("#") and walker.env.resolve_one(text) is None:
        human = "SHALL have a contained resource if a local reference is provided"
        return [issue("IP-3012", expr + ".reference", key="ref-1", human=human)]
    if not isinstance(text, str):
        return []
    allowed = node.memo.get("targets")
    if allowed is None:
        targets = [t for ref in node.types if ref.code == "Reference" for t in ref.targets]
        allowed = node.memo["targets"] = frozenset(
            t[len(CORE_SD) :] if t.startswith(CORE_SD) else walker.registry.type_of(t)
            for t in targets
        )
    if not allowed or "Resource" in allowed:
        return []
    found = _target_type(walker, text)
    if found is None or found in allowed:
        return []
    shown = ", ".join(sorted(a for a in allowed if a))
    return [issue("IP-3016", expr + ".reference", target=found, allowed=shown)]


_NUMBER = (int, float, Decimal)
_DATE_TYPES = frozenset({"date", "dateTime", "instant"})
_QUANTITIES = frozenset({"Quantity", "Age", "Count", "Distance", "Duration", "SimpleQuantity"})


def _number(value: Any) -> Any:
    return value if isinstance(value, _NUMBER) and not isinstance(value, bool) else None


def _order(type_code: str, value: Any, bound: Any) -> int | None:
    """-1, 0 or 1 comparing ``value`` with ``bound``; None when the two cannot be ordered (other
    units, a date at another precision, times in other zones): no issue then, as in the Java
    validator, which also refuses to guess."""
    if type_code in _QUANTITIES:
        if not isinstance(value, dict) or not isinstance(bound, dict):
            return None
        for unit in ("system", "code"):
            if bound.get(unit) is not None and value.get(unit) != bound.get(unit):
                return None
        value, bound = value.get("value"), bound.get("value")
    elif isinstance(value, str) and isinstance(bound, str):
        if type_code in _DATE_TYPES and len(value) != len(bound):
            value, bound = value[:10], bound[:10]  # the calendar date of each, when both have one
            if len(value) != len(bound):
                return None
        return int(value > bound) - int(value < bound)
    a, b = _number(value), _number(bound)
    if a is None or b is None:
        return None
    a, b = Decimal(str(a)), Decimal(str(b))
    return (a > b) - (a < b)


def check_range(node: Node, type_code: str, value: Any, expr: str) -> list[Issue]:
    """minValue[x] / maxValue[x] of the element definition (IP-3029)."""
    for bound, sign, word in ((node.min_value, -1, "min"), (node.max_value, 1, "max")):
        if bound is None:
            continue
        if _order(type_code, value, bound) == sign:
            shown = _show(value.get("value") if type_code in _QUANTITIES else value)
            return [issue("IP-3029", expr, value=shown, bound=f"{word} {_show(bound)}")]
    return []
