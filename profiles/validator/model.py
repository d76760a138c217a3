"""The compiled form of a StructureDefinition snapshot: a tree of element nodes.

Built once per canonical URL (see ``compiler.py``) and shared by every validation afterwards.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

__all__ = [
    "Constraint",
    "Discriminator",
    "ComplexPlan",
    "ElementPlan",
    "InvariantPlan",
    "KeyPlan",
    "Node",
    "PlainCheck",
    "Present",
    "TypeRef",
]


@dataclass(frozen=True, slots=True)
class TypeRef:
    code: str
    profiles: tuple[str, ...] = ()
    targets: tuple[str, ...] = ()


@dataclass(slots=True)
class Constraint:
    key: str
    severity: str
    human: str
    expression: str
    names: frozenset[str] = frozenset()  # element names the expression may look at
    focus_free: bool = False  # True when the result depends only on ``names``
    # native closure for the expression (``native.py``); None: fhirpathpy only
    native: Callable[[list[Any], Any], list[Any]] | None = None
    # the expression reads a choice element of its focus (``value.exists()``): the closure
    # above leaves that to fhirpathpy, one compiled for the focus's type reads it natively
    root_choice: bool = False
    typed: dict[str, Constraint] = field(default_factory=dict)  # base path -> that variant


# (lexical check, the type is ``string``): all a primitive value needs (see ``plan.py``)
PlainCheck = tuple[Callable[[Any], str | None], bool]
# (child, chosen type, element name, key is ``_name``, ``"_" + name``, ``"." + name``, the
# PlainCheck when the value under this key alone, without ``_name``, needs no more, the complex
# type code when an object (a list of objects for an array) under the key goes straight to
# ``Walker.complex``, the PlainCheck that is all each value of an array under the key needs)
KeyPlan = tuple[
    "Node", str | None, str, bool, str, str, PlainCheck | None, str | None, PlainCheck | None
]
# One invariant as the walker checks it on a type: (constraint as typed for the focus, the path
# it is evaluated on, its constant answer when no element it names is present (``VARIES`` when
# it reads its focus), whether dom-2..5 apply only beside ``contained``)
InvariantEntry = tuple[Constraint, str, Any, bool]
# (every invariant, those left when the object has no ``contained``)
InvariantPlan = tuple[tuple[InvariantEntry, ...], tuple[InvariantEntry, ...]]
# (node whose children describe the value, type root, value checks apply, invariants or None)
ComplexPlan = tuple["Node | None", "Node | None", bool, InvariantPlan | None]
VARIES: Any = object()  # an invariant's answer depends on its focus

# (type code, kind, lexical check when it is all a value needs, the type is ``string``)
ElementPlan = tuple[str | None, int, Callable[[Any], str | None] | None, bool]


@dataclass(frozen=True, slots=True)
class Discriminator:
    kind: str  # value | pattern | exists | type | profile
    path: str


@dataclass(slots=True, eq=False)
class Node:
    """One element definition; ``children`` is ``None`` when the data type's definition applies.

    Compared and hashed by identity (``eq=False``): memo dicts may be keyed by a node, which
    keeps it alive (``id(node)`` would not, and a freed node's id is reused)."""

    path: str
    name: str
    min: int = 0
    max: int = -1  # -1: unbounded
    array: bool = False
    types: tuple[TypeRef, ...] = ()
    fixed: Any = None
    pattern: Any = None
    binding: tuple[str, str] | None = None  # (strength, value set url)
    constraints: list[Constraint] = field(default_factory=list)
    children: dict[str, Node] | None = None
    choice_keys: dict[str, tuple[Node, str]] = field(default_factory=dict)
    content_ref: str | None = None
    max_length: int | None = None
    min_value: Any = None
    max_value: Any = None
    slice_name: str | None = None
    discriminators: tuple[Discriminator, ...] = ()
    rules: str | None = None  # slicing rules: open | closed | openAtEnd
    slices: list[Node] = field(default_factory=list)
    type_slices: dict[str, Node] = field(default_factory=dict)  # value[x]:valueQuantity
    sd_url: str = ""
    keys: dict[str, tuple[Node, str | None] | None] = field(default_factory=dict)  # child() memo
    # Engine memos (filled on first use, the same value whichever thread computes it):
    required: list[Node] | None = None  # children checked even when absent
    # (type root, type code) -> invariants that apply, with the path they are evaluated on
    constraints_by_type: dict[tuple[Node | None, str], list[tuple[Constraint, str]]] = field(
        default_factory=dict
    )
    # Walk plans (``plan.py``), filled on first use: JSON key -> what to do with it; chosen type
    # -> (type code, kind); type code -> (definition, type root) when it does not depend on data.
    key_plans: dict[str, KeyPlan | None] = field(default_factory=dict)
    kinds: dict[str | None, ElementPlan] = field(default_factory=dict)
    definitions: dict[str, tuple[Node | None, Node | None]] = field(default_factory=dict)
    # type code -> what ``Walker.complex`` does with an object of that type (engine.complex_plan)
    complex_plans: dict[str, ComplexPlan] = field(default_factory=dict)
    # the same for an Extension whose definition comes from its url: known url (None: any other)
    extension_plans: dict[str | None, ComplexPlan] = field(default_factory=dict)
    # (type root, type code) -> the invariants to check and how (engine.invariant_plan)
    invariant_plans: dict[tuple[Node | None, str], InvariantPlan | None] = field(
        default_factory=dict
    )
    memo: dict[str, Any] = field(default_factory=dict)  # other per-element answers (checks.py)
    bare_name: str = ""  # name without ``[x]``
    value_rules: bool = False  # fixed, pattern, binding, maxLength, min/maxValue or invariants
    profiled: bool = False  # a type names a profile (set from ``types``)

    def __post_init__(self) -> None:
        self.bare_name = self.name.replace("[x]", "")
        self.profiled = any(t.profiles for t in self.types)
        self.refresh_value_rules()

    def refresh_value_rules(self) -> None:
        """Recompute :attr:`value_rules` (the compiler calls it after setting constraints)."""
        self.value_rules = bool(
            self.fixed is not None
            or self.pattern is not None
            or self.binding is not None
            or self.max_length is not None
            or self.min_value is not None
            or self.max_value is not None
            or self.constraints
        )

    @property
    def choice(self) -> bool:
        return self.name.endswith("[x]")

    @property
    def type_codes(self) -> tuple[str, ...]:
        return tuple(t.code for t in self.types)

    def child(self, key: str) -> tuple[Node, str | None] | None:
        """The child for JSON property ``key`` and, for choice elements, the chosen type."""
        if self.children is None:
            return None
        hit = self.keys.get(key)
        if hit is None and key not in self.keys:
            found = self.children.get(key)
            if found is not None and not found.choice:
                hit = (found, None)
            else:
                choice = self.choice_keys.get(key)
                hit = (choice[0], choice[1]) if choice else None
            self.keys[key] = hit  # children never change once compiled
        return hit


class Present:
    """The element names of one object, worked out only when an invariant asks (most never do):
    the elements found (``value`` for ``valueString``) and the JSON keys themselves."""

    __slots__ = ("_groups", "_names", "_obj")

    def __init__(self, groups: Mapping[Node, object], obj: Mapping[str, object]) -> None:
        self._groups, self._obj = groups, obj
        self._names: set[str] | None = None

    def names(self) -> set[str]:
        names = self._names
        if names is None:
            names = self._names = set(self._obj)
            for child in self._groups:
                names.add(child.bare_name)
        return names
