"""Walk plans: what the walker does with a JSON key or an element, worked out once per node.

The walker meets the same element definitions again and again (every ``Coding``, every
``Reference``); the questions it asks them — which child a JSON key names, which type it has,
whether that type is a primitive, a resource or a complex type, which definition describes it —
have the same answer every time. They are answered here on first use and kept on the
:class:`~profiles.validator.model.Node` (the same value whichever thread computes it first, so
no lock is needed: a race only computes the same tuple twice). A plan also says what a value
needs no more than: a primitive without value rules needs only its lexical check, which the walker
then runs inline (the definition and invariants of an object are the engine's ``complex_plan``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from ipfhir.profiles.validator import primitives
from ipfhir.profiles.validator.model import ElementPlan, KeyPlan, Node, PlainCheck

if TYPE_CHECKING:
    from ipfhir.profiles.validator.protocols import EngineRole

__all__ = [
    "COMPLEX",
    "NOTHING",
    "PRIMITIVE",
    "RESOURCE",
    "element_kind",
    "key_plan",
]

NOTHING, PRIMITIVE, RESOURCE, COMPLEX = 0, 1, 2, 3
_RESOURCE_TYPES = ("Resource", "DomainResource")


def key_plan(engine: EngineRole, defs: Node, key: str) -> KeyPlan | None:
    """What JSON property ``key`` of an object described by ``defs`` is (None: unknown)."""
    found = defs.key_plans.get(key, defs)
    if found is not defs:
        return found  # type: ignore[return-value]
    underscore = key.startswith("_")
    name = key[1:] if underscore else key
    hit = defs.child(name)
    plan: KeyPlan | None = None
    if hit is not None:
        child, chosen = hit
        single = not underscore and chosen is None
        plain = _plain_single(engine, child) if single else None
        direct = _direct_complex(engine, child) if single else None
        items = _plain_items(child) if single else None
        if not underscore and chosen is not None:
            plain, direct = _choice(engine, child, chosen)
        plan = (child, chosen, name, underscore, "_" + name, "." + name, plain, direct, items)
    defs.key_plans[key] = plan
    return plan


def _choice(engine: EngineRole, child: Node, chosen: str) -> tuple[PlainCheck | None, str | None]:
    """(the PlainCheck, or the complex type code) for a value of choice ``child`` under its key
    for type ``chosen`` (``valueString``, ``valueCodeableConcept``), as the walker's second
    loop would check it: one occurrence within the cardinality, no slices. The walker takes
    the short path only for the first key of the choice it meets (another key of the same
    element makes a group of two, and the count is checked)."""
    if child.array or child.slices or child.min > 1 or child.max == 0:
        return None, None
    type_code, kind, plain, is_string = element_kind(engine, child, chosen)
    if kind == COMPLEX:
        return None, type_code
    return (None if plain is None else (plain, is_string)), None


def _direct_complex(engine: EngineRole, child: Node) -> str | None:
    """The type code when an object (or, for an array, a list of objects) under the key of
    ``child`` goes straight to ``Walker.complex``: one complex type, no slices, and (not an
    array) one occurrence within its cardinality. The walker checks an array's count itself."""
    if child.slices or len(child.types) != 1:
        return None
    if not child.array and (child.min > 1 or child.max == 0):
        return None
    type_code, kind, _plain, _string = element_kind(engine, child, None)
    return type_code if kind == COMPLEX else None


def _plain_items(child: Node) -> PlainCheck | None:
    """(lexical check, is a string) when each value of an array of ``child`` (given names,
    profile urls) needs no more than that check: one primitive type without value rules (nor
    narrative), no slices. The walker checks the array's count itself."""
    if not child.array or len(child.types) != 1 or child.slices or child.value_rules:
        return None
    code = child.types[0].code
    check = primitives.PRIMITIVES.get(code)
    return None if check is None or code == "xhtml" else (check, code == "string")


def _plain_single(engine: EngineRole, child: Node) -> PlainCheck | None:
    """(lexical check, is a string) when a value of ``child`` alone under its key needs no more
    than that check: one primitive type without value rules (nor narrative), not an array, no
    slices, and one occurrence within its cardinality. With a fixed string (see
    :func:`_fixed_only`) or a binding (:func:`_bound_only`) as its one value rule, the check
    covers that rule too."""
    if len(child.types) != 1 or child.array or child.slices or child.min > 1 or child.max == 0:
        return None
    code = child.types[0].code
    check = primitives.PRIMITIVES.get(code)
    if check is None or code == "xhtml":
        return None
    if child.value_rules:
        if child.binding is not None:
            return _bound_only(engine, child, code, check)
        return _fixed_only(child, check)
    return check, code == "string"


def _bound_only(
    engine: EngineRole, child: Node, code: str, check: Callable[[Any], str | None]
) -> PlainCheck | None:
    """A ``code`` (``string``, ``uri``) whose one value rule is a binding: its lexical check,
    then the one coding ``checks.check_binding`` reads from it, which passes unless the value
    set is known offline and lacks the code. Anything else is left to the walker (the check
    says "no" and the walker checks the value in full, with the messages)."""
    if (
        code not in ("code", "string", "uri")
        or child.fixed is not None
        or child.pattern is not None
        or child.max_length is not None
        or child.min_value is not None
        or child.max_value is not None
        or child.constraints
        or child.binding is None
    ):
        return None
    value_set = child.binding[1]
    contains = engine.terminology.contains

    def is_bound(value: Any) -> str | None:
        problem = check(value)
        if problem is None and contains(value_set, None, value) is False:
            return "not in the value set"
        return problem

    return is_bound, code == "string"


def _fixed_only(child: Node, check: Callable[[Any], str | None]) -> PlainCheck | None:
    """A string equal to the one the profile fixes (``Extension.url`` of a profiled extension)
    passes every check when that string does: its lexical check, holds no ``<``, and the
    element has no other value rule. Any other value is left to the walker (the check says
    "no" and the walker checks the value in full)."""
    fixed = child.fixed
    if (
        type(fixed) is not str
        or child.pattern is not None
        or child.binding is not None
        or child.max_length is not None
        or child.min_value is not None
        or child.max_value is not None
        or child.constraints
        or check(fixed) is not None
        or "<" in fixed
    ):
        return None

    def is_fixed(value: Any) -> str | None:
        return None if type(value) is str and value == fixed else "not the fixed value"

    return is_fixed, False


def element_kind(engine: EngineRole, node: Node, chosen: str | None) -> ElementPlan:
    """(type code, kind, plain check, is a string) of an item of ``node`` whose JSON key chose
    type ``chosen``. The plain check is the primitive's lexical check when nothing else applies
    to the value (no value rules, not narrative): the walker needs no more when it passes and
    the value (a string) holds no ``<``."""
    found = node.kinds.get(chosen)
    if found is not None:
        return found
    type_code = chosen or (node.types[0].code if len(node.types) == 1 else None)
    if type_code is None:
        kind = NOTHING
    elif type_code in primitives.PRIMITIVES:
        kind = PRIMITIVE
    elif type_code in _RESOURCE_TYPES or engine.is_resource_type(type_code):
        kind = RESOURCE
    else:
        kind = COMPLEX
    plain = (
        primitives.PRIMITIVES[type_code]  # type: ignore[index]
        if kind == PRIMITIVE and not node.value_rules and type_code != "xhtml"
        else None
    )
    found = (type_code, kind, plain, type_code == "string")
    node.kinds[chosen] = found
    return found
