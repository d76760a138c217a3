"""The operations native invariant closures are made of (see ``native.py``).

Every closure has the signature ``(focus, env) -> collection``: ``focus`` is the input collection
(a ``list`` of plain JSON values), ``env`` gives ``%resource`` / ``%rootResource``. A closure raises
:class:`Unsupported` whenever fhirpathpy could read the values differently from plain Python.
"""

from __future__ import annotations

import re
import weakref
from collections.abc import Callable
from datetime import datetime
from functools import cache
from typing import Any

from fhirpathpy.models import models

__all__ = ["Fn", "Unsupported", "choices"]

Fn = Callable[[list[Any], Any], list[Any]]


class Unsupported(Exception):  # noqa: N818 - a signal, not an error
    """The value is outside what the native closure reproduces exactly: use fhirpathpy."""


_DATE = re.compile(r"[0-9]{4}(-[0-9]{2}(-[0-9]{2})?)?")
_DATETIME = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:]{8}(\.[0-9]{1,6})?(Z|[+-][0-9:]{5})")
_DATE_LIKE = re.compile(r"[0-9]{4}(-[0-9]{2})?(-[0-9]{2})?(T.*)?|[0-9]{2}:[0-9]{2}.*")


@cache
def choices() -> tuple[frozenset[str], frozenset[str]]:
    """Names of R4 choice elements (``value`` of ``value[x]``) and their type suffixes
    (``Quantity``), as fhirpathpy's model knows them."""
    paths: dict[str, list[str]] = models["r4"]["choiceTypePaths"]
    names = frozenset(p.rsplit(".", 1)[-1] for p in paths)
    return names, frozenset(t for types in paths.values() for t in types)


def unsupported(*_args: Any) -> list[Any]:
    raise Unsupported


class Constant:
    """A literal (``'batch'``, ``1``, ``{}``): the same values whatever the focus."""

    __slots__ = ("values",)

    def __init__(self, values: list[Any]) -> None:
        self.values = values

    def __call__(self, _focus: list[Any], _env: Any) -> list[Any]:
        return list(self.values)


def constant(values: list[Any]) -> Fn:
    return Constant(values)


def this(focus: list[Any], _env: Any) -> list[Any]:
    return focus


def exists(values: list[Any], _env: Any) -> list[Any]:
    return [bool(values)]


def empty(values: list[Any], _env: Any) -> list[Any]:
    return [not values]


def count(values: list[Any], _env: Any) -> list[Any]:
    return [len(values)]


def has_value(values: list[Any], _env: Any) -> list[Any]:
    return [len(values) == 1 and not isinstance(values[0], dict | list)]


def not_(values: list[Any], _env: Any) -> list[Any]:
    value = boolean(values)
    return [] if value is None else [not value]


def _path(navigations: tuple[Fn, ...]) -> Fn:
    """``a.b.c``: the navigations one after the other, read in one closure down a chain of
    single objects; anything else (an array, null, a ``_name`` twin, a possible choice
    element, a value that is not an object half-way) goes through the navigations."""
    steps = tuple(_NAVIGATIONS[n] for n in navigations)
    last = len(steps) - 1

    def path(focus: list[Any], env: Any) -> list[Any]:
        if len(focus) == 1 and type(focus[0]) is dict:
            item = focus[0]
            for i, (name, under, maybe_choice) in enumerate(steps):
                if under in item:
                    break
                value = item.get(name)
                if value is None:
                    if name in item or maybe_choice:
                        break
                    return []  # (what the navigations after it find in nothing)
                if type(value) is dict:
                    if i == last:
                        return [value]
                    item = value
                    continue
                if i == last and not isinstance(value, list):
                    return [value]
                break
        for navigation in navigations:
            focus = navigation(focus, env)
        return focus

    _PATHS[path] = navigations
    return path


def _exists_of_navigation(nav: Fn, negate: bool) -> Fn:
    """``name.exists()`` (``negate``: ``name.empty()``) read from the one object the focus
    holds, in one closure; anything the navigation would look at twice goes through it."""
    name, under, maybe_choice = _NAVIGATIONS[nav]

    def exists_of(focus: list[Any], env: Any) -> list[Any]:
        if len(focus) == 1 and type(focus[0]) is dict:
            item = focus[0]
            value = item.get(name)
            if under not in item:
                if value is not None and not isinstance(value, list):
                    return [not negate]
                if value is None and not maybe_choice and name not in item:
                    return [negate]
        return [bool(nav(focus, env)) != negate]

    return exists_of


def then(first: Fn, second: Fn) -> Fn:
    """``first`` then ``second`` on what it yields; one closure for the common endings
    (``.exists()``, ``.empty()``, ``.count()``, ``.hasValue()``, ``.not()``)."""
    if second in _NAVIGATIONS and (first in _NAVIGATIONS or first in _PATHS):
        return _path((*_PATHS.get(first, (first,)), second))
    if (second is exists or second is empty) and first in _NAVIGATIONS:
        return _exists_of_navigation(first, second is empty)
    if second is exists:
        return lambda focus, env: [bool(first(focus, env))]
    if second is empty:
        return lambda focus, env: [not first(focus, env)]
    if second is count:
        return lambda focus, env: [len(first(focus, env))]
    if second is not_:

        def not_of(focus: list[Any], env: Any) -> list[Any]:
            values = first(focus, env)
            if not values:
                return []
            if len(values) == 1 and isinstance(values[0], bool):
                return [not values[0]]
            raise Unsupported

        return not_of
    if second is has_value:

        def has_value_of(focus: list[Any], env: Any) -> list[Any]:
            values = first(focus, env)
            return [len(values) == 1 and not isinstance(values[0], dict | list)]

        return has_value_of
    return lambda focus, env: second(first(focus, env), env)


def memo(fn: Fn) -> Fn:
    """``fn``, a closure that reads no focus (only literals, ``%resource`` and
    ``%rootResource``), computed once per ``env`` (``Env.memo``): ``bdl-3``'s
    ``%resource.type = 'batch' or ...`` inside ``entry.all(...)`` is the same for every entry.
    What raises :class:`Unsupported` is not kept (it raises again)."""

    def memo_(focus: list[Any], env: Any) -> list[Any]:
        answers: dict[Any, list[Any]] = env.memo
        found = answers.get(memo_)
        if found is None:
            found = answers[memo_] = fn(focus, env)
        return found  # (no closure changes a collection it is given)

    return memo_


def variable(name: str) -> Fn:
    if name == "%resource":
        return lambda _focus, env: [env.resource]
    if name == "%rootResource":
        return lambda _focus, env: [env.root]
    return this if name == "$this" else unsupported


# -- navigation -----------------------------------------------------------------------------
# closures made by navigate() -> (name, "_" + name, maybe a choice element): what the closures
# built on one read directly from a single object (see then() and _equals_literal())
_NAVIGATIONS: weakref.WeakKeyDictionary[Fn, tuple[str, str, bool]] = weakref.WeakKeyDictionary()
# closures made by _path() -> the navigations they chain
_PATHS: weakref.WeakKeyDictionary[Fn, tuple[Fn, ...]] = weakref.WeakKeyDictionary()


def _chooses(key: str, name: str) -> bool:
    return key.startswith(name) and key[len(name) :] in choices()[1]


def navigate(name: str, typed: bool = False) -> Fn:
    """``name`` of each item; ``typed``: the items' type is known to have no choice element
    ``name`` (fhirpathpy then reads the property ``name`` only, never ``nameString``)."""
    under = "_" + name
    maybe_choice = not typed and name in choices()[0]

    def nav(focus: list[Any], _env: Any) -> list[Any]:
        if len(focus) == 1 and type(focus[0]) is dict:  # the common case, without the loop
            item = focus[0]
            value = item.get(name)
            if under in item or (value is None and (name in item or maybe_choice)):
                return nav_all(focus)  # (nav_all decides: it raises, or finds nothing)
            if value is None:
                return []
            if isinstance(value, list):
                for v in value:
                    if v is None or isinstance(v, list):
                        raise Unsupported
                return list(value)
            return [value]
        return nav_all(focus)

    def nav_all(focus: list[Any]) -> list[Any]:
        out: list[Any] = []
        for item in focus:
            if not isinstance(item, dict) or under in item:
                raise Unsupported
            value = item.get(name)
            if value is None:
                if name in item or (maybe_choice and any(_chooses(k, name) for k in item)):
                    raise Unsupported  # null, or maybe a choice element (value -> valueString)
                continue
            if isinstance(value, list):
                for v in value:
                    if v is None or isinstance(v, list):
                        raise Unsupported
                out.extend(value)
            else:
                out.append(value)
        return out

    _NAVIGATIONS[nav] = (name, under, maybe_choice)
    return nav


def navigate_typed(root_type: str, name: str) -> Fn:
    """``name`` read from the root focus, whose type (``root_type``: ``Extension``,
    ``Observation.component``) fhirpathpy knows: a choice element there is its one ``name<Type>``
    property, the first in fhirpathpy's order of the element's types, as fhirpathpy reads it."""
    model = models["r4"]
    path = f"{root_type}.{name}"
    types = model["choiceTypePaths"].get(model["pathsDefinedElsewhere"].get(path, path))
    if types is None:
        return navigate(name, typed=True)
    keys = [(name + t, "_" + name + t) for t in types]
    # each property (and its ``_`` twin) -> the position of its type: the first type present
    # is the one fhirpathpy reads, found from the item's few keys instead of trying every type
    position = {k: i for i, pair in enumerate(keys) for k in pair}
    last = len(keys)

    def nav_choice(focus: list[Any], _env: Any) -> list[Any]:
        out: list[Any] = []
        for item in focus:
            if not isinstance(item, dict) or item.get("resourceType", root_type) != root_type:
                raise Unsupported  # fhirpathpy types a resource by its resourceType
            first = last
            for k in item:
                i = position.get(k, last)
                if i < first:
                    first = i
            if first == last:
                continue
            key, under = keys[first]
            if under in item:
                raise Unsupported  # a primitive extension: fhirpathpy adds it as an item
            value = item[key]
            if value is None or isinstance(value, list):
                raise Unsupported  # null, or an array
            out.append(value)
        return out

    return nav_choice


def extension_value(focus: list[Any], _env: Any) -> list[Any]:
    """``value`` of Extensions: their one ``value[x]`` property."""
    out = []
    for ext in focus:
        keys = [k for k in ext if k.startswith("value") and k[5:] in choices()[1]]
        if len(keys) > 1 or any(k.startswith("_value") for k in ext):
            raise Unsupported
        if keys:
            value = ext[keys[0]]
            if value is None or isinstance(value, list):
                raise Unsupported
            out.append(value)
    return out


# -- values ---------------------------------------------------------------------------------
def boolean(values: list[Any]) -> bool | None:
    if not values:
        return None
    if len(values) == 1 and isinstance(values[0], bool):
        return bool(values[0])
    raise Unsupported


def single(values: list[Any]) -> Any:
    if len(values) != 1:
        raise Unsupported
    return values[0]


def plain(value: Any) -> bool:
    """A value whose equality fhirpathpy decides exactly as Python does."""
    if isinstance(value, str):  # every date-like string starts with a digit
        return not (value[:1].isdigit() and _DATE_LIKE.fullmatch(value))
    return isinstance(value, bool | int)


def _ordered(a: Any, b: Any) -> tuple[Any, Any]:
    """Comparable Python values for ``a`` and ``b`` as fhirpathpy would order them."""
    if type(a) in (int, float) and type(b) in (int, float):
        return a, b
    if isinstance(a, str) and isinstance(b, str):
        if len(a) == len(b) and _DATE.fullmatch(a) and _DATE.fullmatch(b):
            return a, b
        ma, mb = _DATETIME.fullmatch(a), _DATETIME.fullmatch(b)
        if ma and mb and len(ma.group(1) or "") == len(mb.group(1) or ""):
            try:
                return datetime.fromisoformat(a), datetime.fromisoformat(b)
            except ValueError:
                raise Unsupported from None
    raise Unsupported


_TESTS: dict[str, Callable[[Any, Any], bool]] = {
    "<": lambda a, b: bool(a < b),
    "<=": lambda a, b: bool(a <= b),
    ">": lambda a, b: bool(a > b),
    ">=": lambda a, b: bool(a >= b),
}


def compare(op: str, left: Fn, right: Fn) -> Fn:
    test = _TESTS[op]

    def compare_(focus: list[Any], env: Any) -> list[Any]:
        a, b = left(focus, env), right(focus, env)
        if not a or not b:
            return []
        return [test(*_ordered(single(a), single(b)))]

    return compare_


def equals(negate: bool, left: Fn, right: Fn) -> Fn:
    if isinstance(right, Constant) and len(right.values) == 1 and plain(right.values[0]):
        return _equals_literal(negate, left, right.values[0])

    def equals_(focus: list[Any], env: Any) -> list[Any]:
        a, b = left(focus, env), right(focus, env)
        if not a or not b:
            return []
        x, y = single(a), single(b)
        if type(x) is not type(y) or not (plain(x) and plain(y)):
            raise Unsupported
        return [(x == y) != negate]

    return equals_


def _equals_literal(negate: bool, left: Fn, literal: Any) -> Fn:
    """``left = 'batch'``: :func:`equals` with the right side's checks done once."""
    kind = type(literal)
    navigation = _NAVIGATIONS.get(left)
    name, under = navigation[:2] if navigation else ("", "")

    def equals_literal(focus: list[Any], env: Any) -> list[Any]:
        if navigation is not None and len(focus) == 1 and type(focus[0]) is dict:
            item = focus[0]  # ``left`` read here when it is one name of one object
            x: Any = item.get(name)
            if (
                type(x) is kind
                and under not in item
                and not (kind is str and x[:1].isdigit() and _DATE_LIKE.fullmatch(x))
            ):
                return [(x == literal) != negate]
        a = left(focus, env)
        if not a:
            return []
        if len(a) != 1:
            raise Unsupported
        x = a[0]
        if (
            type(x) is not kind
            or (  # a bool or an int is plain; a string unless date-like
                kind is str and x[:1].isdigit() and _DATE_LIKE.fullmatch(x)
            )
        ):
            raise Unsupported
        return [(x == literal) != negate]

    return equals_literal


def _truth(values: list[Any]) -> bool:
    """:func:`boolean` of a logic operand that is not empty."""
    if len(values) == 1 and type(values[0]) is bool:
        return bool(values[0])
    raise Unsupported


def logic(op: str, left: Fn, right: Fn) -> Fn:
    """Three-valued ``and or xor implies`` (fhirpathpy's ``logic.py``), one closure per operator.

    fhirpathpy evaluates the right side too, but when the left decides, its value is moot (even
    one only fhirpathpy could read): the answer is known without it."""

    # (each operand read as _truth reads it, inline: these closures run more than any other)
    def and_(focus: list[Any], env: Any) -> list[Any]:
        x = left(focus, env)
        if x:
            if len(x) != 1 or type(x[0]) is not bool:
                raise Unsupported
            if not x[0]:
                return [False]
            a: bool | None = True
        else:
            a = None
        y = right(focus, env)
        if y:
            if len(y) != 1 or type(y[0]) is not bool:
                raise Unsupported
            if not y[0]:
                return [False]
            return [True] if a else []
        return []

    def or_(focus: list[Any], env: Any) -> list[Any]:
        x = left(focus, env)
        if x:
            if len(x) != 1 or type(x[0]) is not bool:
                raise Unsupported
            if x[0]:
                return [True]
            a: bool | None = False
        else:
            a = None
        y = right(focus, env)
        if y:
            if len(y) != 1 or type(y[0]) is not bool:
                raise Unsupported
            if y[0]:
                return [True]
            return [False] if a is False else []
        return []

    def xor(focus: list[Any], env: Any) -> list[Any]:
        x = left(focus, env)
        a = _truth(x) if x else None
        y = right(focus, env)
        b = _truth(y) if y else None
        return [] if a is None or b is None else [a != b]

    def implies(focus: list[Any], env: Any) -> list[Any]:
        x = left(focus, env)
        if x:
            if len(x) != 1 or type(x[0]) is not bool:
                raise Unsupported
            if not x[0]:
                return [True]
            a: bool | None = True
        else:
            a = None
        y = right(focus, env)
        if y:
            if len(y) != 1 or type(y[0]) is not bool:
                raise Unsupported
            b = y[0]
        else:
            return []  # (a is True or None: the answer is empty without a right side)
        if a is True:
            return [b]
        return [True] if b else []

    return {"and": and_, "or": or_, "xor": xor, "implies": implies}[op]


def union(left: Fn, right: Fn) -> Fn:
    def union_(focus: list[Any], env: Any) -> list[Any]:
        out: list[Any] = []
        for value in left(focus, env) + right(focus, env):
            if isinstance(value, float) or (isinstance(value, str) and _DATE_LIKE.fullmatch(value)):
                raise Unsupported  # fhirpathpy's equality of decimals and dates differs
            if not any(type(value) is type(seen) and value == seen for seen in out):
                out.append(value)
        return out

    return union_


def arithmetic(op: str, left: Fn, right: Fn) -> Fn:
    """``+ -`` on integers, ``+`` on strings; ``&`` (string concatenation, empty is '')."""

    def arithmetic_(focus: list[Any], env: Any) -> list[Any]:
        a, b = left(focus, env), right(focus, env)
        if op == "&":
            x, y = (single(a) if a else ""), (single(b) if b else "")
            if isinstance(x, str) and isinstance(y, str):
                return [x + y]
            raise Unsupported
        if not a or not b:
            return []
        x, y = single(a), single(b)
        if type(x) is int and type(y) is int:
            return [x + y if op == "+" else x - y]
        if op == "+" and isinstance(x, str) and isinstance(y, str):
            return [x + y]
        raise Unsupported

    return arithmetic_
