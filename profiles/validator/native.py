"""Native Python closures for the common shapes of FHIRPath invariants (fhirpathpy for the rest).

fhirpathpy costs ~0.3 ms per evaluation; most R4 and profile invariants are simple shapes such as
``a.empty() or b.exists()``, ``x.exists() implies y.exists()``, ``start <= end`` or
``(a | b).count() <= 1``. :func:`compile_native` turns an expression made of paths, literals,
``exists() empty() not() count() hasValue() where()``, ``and or xor implies``, ``= != < <= > >=``,
``|`` and ``+ -`` into a closure over plain JSON values (a collection is a ``list``).

The closure reproduces fhirpathpy's answers, not an idealised FHIRPath: whenever a value could be
read differently by fhirpathpy (a choice element, a primitive extension ``_x``, dates of different
precision, decimals, non-boolean logic operands ...) it raises :class:`Unsupported` and the caller
evaluates the expression with fhirpathpy instead. Unknown syntax compiles to ``None``; unknown
functions and operators compile to a node that raises :class:`Unsupported` only when reached.
``tests/unit/profiles/test_native_invariants.py`` checks agreement on real elements.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import datetime
from functools import cache
from typing import Any

from fhirpathpy.models import models

__all__ = ["Fn", "Unsupported", "compile_native"]

Fn = Callable[[list[Any]], list[Any]]


class Unsupported(Exception):  # noqa: N818 - a signal, not an error
    """The value is outside what the native closure reproduces exactly: use fhirpathpy."""


class _Syntax(Exception):  # noqa: N818
    pass


_TOKEN = re.compile(
    r"\s*(?:(?P<str>'(?:[^'\\]|\\.)*')|(?P<num>\d+(?:\.\d+)?)|(?P<bt>`[^`]*`)"
    r"|(?P<id>[A-Za-z_][A-Za-z0-9_]*)|(?P<var>[$%][A-Za-z_][A-Za-z0-9_]*)"
    r"|(?P<op><=|>=|!=|!~|[-+*/&|=<>~().,\[\]{}]))"
)
# binding powers (FHIRPath operator precedence, loosest first)
_INFIX = {
    "implies": 1,
    "or": 2,
    "xor": 2,
    "and": 3,
    "in": 4,
    "contains": 4,
    "=": 5,
    "!=": 5,
    "~": 5,
    "!~": 5,
    "<": 6,
    "<=": 6,
    ">": 6,
    ">=": 6,
    "|": 7,
    "is": 8,
    "as": 8,
    "+": 9,
    "-": 9,
    "&": 9,
    "*": 10,
    "/": 10,
    "div": 10,
    "mod": 10,
}
_POSTFIX = 12
_DATE = re.compile(r"[0-9]{4}(-[0-9]{2}(-[0-9]{2})?)?")
_DATETIME = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:]{8}(\.[0-9]{1,6})?(Z|[+-][0-9:]{5})")
_DATE_LIKE = re.compile(r"[0-9]{4}(-[0-9]{2})?(-[0-9]{2})?(T.*)?|[0-9]{2}:[0-9]{2}.*")


def _tokens(text: str) -> list[tuple[str, str]]:
    found, pos = [], 0
    while pos < len(text):
        match = _TOKEN.match(text, pos)
        if match is None or match.end() == pos:
            if text[pos:].strip():
                raise _Syntax(text[pos:])
            break
        kind = str(match.lastgroup)
        found.append((kind, match.group(kind)))
        pos = match.end()
    return found


def _unsupported(*_args: Any) -> list[Any]:
    raise Unsupported


# -- evaluation helpers ---------------------------------------------------------------------
def _navigate(name: str) -> Fn:
    under = "_" + name

    def nav(focus: list[Any]) -> list[Any]:
        out: list[Any] = []
        for item in focus:
            if not isinstance(item, dict) or under in item:
                raise Unsupported
            value = item.get(name)
            if value is None:
                if name in item or (name in choices()[0] and any(_chooses(k, name) for k in item)):
                    raise Unsupported  # null, or maybe a choice element (value -> valueString)
                continue
            if isinstance(value, list):
                if any(v is None or isinstance(v, list) for v in value):
                    raise Unsupported
                out.extend(value)
            else:
                out.append(value)
        return out

    return nav


def _chooses(key: str, name: str) -> bool:
    return key.startswith(name) and key[len(name) :] in choices()[1]


@cache
def choices() -> tuple[frozenset[str], frozenset[str]]:
    """Names of R4 choice elements (``value`` of ``value[x]``) and their type suffixes
    (``Quantity``), as fhirpathpy's model knows them."""
    paths: dict[str, list[str]] = models["r4"]["choiceTypePaths"]
    names = frozenset(p.rsplit(".", 1)[-1] for p in paths)
    return names, frozenset(t for types in paths.values() for t in types)


def _boolean(values: list[Any]) -> bool | None:
    if not values:
        return None
    if len(values) == 1 and isinstance(values[0], bool):
        return bool(values[0])
    raise Unsupported


def _single(values: list[Any]) -> Any:
    if len(values) != 1:
        raise Unsupported
    return values[0]


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _ordered(a: Any, b: Any) -> tuple[Any, Any]:
    """Comparable Python values for ``a`` and ``b`` as fhirpathpy would order them."""
    if _is_number(a) and _is_number(b):
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


def _compare(op: str, left: Fn, right: Fn) -> Fn:
    test: Callable[[Any, Any], bool] = {
        "<": lambda a, b: a < b,
        "<=": lambda a, b: a <= b,
        ">": lambda a, b: a > b,
        ">=": lambda a, b: a >= b,
    }[op]

    def compare(focus: list[Any]) -> list[Any]:
        a, b = left(focus), right(focus)
        if not a or not b:
            return []
        return [test(*_ordered(_single(a), _single(b)))]

    return compare


def _plain(value: Any) -> bool:
    """A value whose equality fhirpathpy decides exactly as Python does."""
    if isinstance(value, str):
        return not _DATE_LIKE.fullmatch(value)
    return isinstance(value, bool | int)


def _equals(negate: bool, left: Fn, right: Fn) -> Fn:
    def equals(focus: list[Any]) -> list[Any]:
        a, b = left(focus), right(focus)
        if not a or not b:
            return []
        x, y = _single(a), _single(b)
        if type(x) is not type(y) or not (_plain(x) and _plain(y)):
            raise Unsupported
        return [(x == y) != negate]

    return equals


def _logic(op: str, left: Fn, right: Fn) -> Fn:
    """Three-valued ``and or xor implies``; the right side is skipped when the left decides."""

    def logic(focus: list[Any]) -> list[Any]:
        a = _boolean(left(focus))
        try:
            b = _boolean(right(focus))
        except Unsupported:
            # fhirpathpy would evaluate the right side too; its answer cannot change the result
            if op == "and" and a is False:
                return [False]
            if (op == "or" and a is True) or (op == "implies" and a is False):
                return [True]
            raise
        if op == "and":
            return [False] if a is False or b is False else [True] if a and b else []
        if op == "or":
            return [True] if a or b else [False] if a is False and b is False else []
        if op == "xor":
            return [] if a is None or b is None else [a != b]
        if a is False:
            return [True]
        if a is True:
            return [] if b is None else [b]
        return [True] if b else []

    return logic


def _union(left: Fn, right: Fn) -> Fn:
    def union(focus: list[Any]) -> list[Any]:
        out: list[Any] = []
        for value in left(focus) + right(focus):
            if isinstance(value, float) or (isinstance(value, str) and _DATE_LIKE.fullmatch(value)):
                raise Unsupported  # fhirpathpy's equality of decimals and dates differs
            if not any(type(value) is type(seen) and value == seen for seen in out):
                out.append(value)
        return out

    return union


def _arithmetic(op: str, left: Fn, right: Fn) -> Fn:
    def arithmetic(focus: list[Any]) -> list[Any]:
        a, b = left(focus), right(focus)
        if not a or not b:
            return []
        x, y = _single(a), _single(b)
        if type(x) is int and type(y) is int:
            return [x + y if op == "+" else x - y]
        if op == "+" and isinstance(x, str) and isinstance(y, str):
            return [x + y]
        raise Unsupported

    return arithmetic


def _where(criterion: Fn) -> Callable[[list[Any]], list[Any]]:
    def where(focus: list[Any]) -> list[Any]:
        kept = []
        for item in focus:
            result = criterion([item])
            if result and result[0] is not False:
                if result[0] is not True:
                    raise Unsupported
                kept.append(item)
        return kept

    return where


def _not(values: list[Any]) -> list[Any]:
    value = _boolean(values)
    return [] if value is None else [not value]


def _has_value(values: list[Any]) -> list[Any]:
    return [len(values) == 1 and not isinstance(values[0], dict | list)]


_FUNCTIONS0: dict[str, Fn] = {
    "exists": lambda c: [bool(c)],
    "empty": lambda c: [not c],
    "count": lambda c: [len(c)],
    "not": _not,
    "hasValue": _has_value,
}


def _function(name: str, args: list[Fn]) -> Fn:
    """``name(args)`` applied to its input collection."""
    if not args and name in _FUNCTIONS0:
        return _FUNCTIONS0[name]
    if len(args) == 1 and name == "where":
        return _where(args[0])
    if len(args) == 1 and name == "exists":
        where = _where(args[0])
        return lambda c: [bool(where(c))]
    return _unsupported


def _then(first: Fn, second: Fn) -> Fn:
    return lambda focus: second(first(focus))


def _constant(values: list[Any]) -> Fn:
    return lambda _focus: list(values)


# -- parsing (Pratt) ------------------------------------------------------------------------
class _Parser:
    def __init__(self, tokens: list[tuple[str, str]]) -> None:
        self.tokens, self.pos = tokens, 0

    def peek(self) -> tuple[str, str]:
        return self.tokens[self.pos] if self.pos < len(self.tokens) else ("end", "")

    def take(self, text: str | None = None) -> tuple[str, str]:
        token = self.peek()
        if token[0] == "end" or (text is not None and token[1] != text):
            raise _Syntax(f"expected {text!r} at {token[1]!r}")
        self.pos += 1
        return token

    def expression(self, min_power: int) -> Fn:
        left = self.primary()
        while True:
            kind, text = self.peek()
            if kind == "op" and text in ".[":
                left = self.postfix(left)
                continue
            power = _INFIX.get(text) if kind in ("op", "id") else None
            if power is None or power <= min_power:
                return left
            self.take()
            left = _binary(text, left, self.expression(power))

    def postfix(self, left: Fn) -> Fn:
        if self.take()[1] == "[":
            self.expression(0)
            self.take("]")
            return _unsupported
        return _then(left, self.member())

    def member(self) -> Fn:
        """An identifier or a function call, applied to the current focus."""
        kind, text = self.take()
        if kind not in ("id", "bt"):
            raise _Syntax(text)
        name = text.strip("`")
        if self.peek()[1] == "(" and kind == "id":
            self.take("(")
            args: list[Fn] = []
            while self.peek()[1] != ")":
                args.append(self.expression(0))
                if self.peek()[1] == ",":
                    self.take(",")
            self.take(")")
            return _function(name, args)
        return _unsupported if name[0].isupper() else _navigate(name)

    def primary(self) -> Fn:
        kind, text = self.peek()
        if kind == "str":
            self.take()
            return _unsupported if "\\" in text else _constant([text[1:-1]])
        if kind == "num":
            self.take()
            return _constant([int(text)]) if text.isdigit() else _unsupported
        if text in ("true", "false") and kind == "id":
            self.take()
            return _constant([text == "true"])
        if text in ("(", "{"):
            self.take()
            if text == "{":
                self.take("}")
                return _constant([])
            inner = self.expression(0)
            self.take(")")
            return inner
        if kind == "var":
            self.take()
            return (lambda focus: focus) if text == "$this" else _unsupported
        if kind == "op" and text in "+-":
            self.take()
            self.expression(11)
            return _unsupported
        return self.member()


def _binary(op: str, left: Fn, right: Fn) -> Fn:
    if op in ("and", "or", "xor", "implies"):
        return _logic(op, left, right)
    if op in ("=", "!="):
        return _equals(op == "!=", left, right)
    if op in ("<", "<=", ">", ">="):
        return _compare(op, left, right)
    if op == "|":
        return _union(left, right)
    if op in ("+", "-"):
        return _arithmetic(op, left, right)
    return _unsupported


def compile_native(expression: str) -> Fn | None:
    """A closure computing ``expression`` on a focus collection, or ``None`` (syntax not known)."""
    try:
        parser = _Parser(_tokens(expression))
        compiled = parser.expression(0)
        if parser.peek()[0] != "end":
            return None
    except _Syntax:
        return None
    return compiled
