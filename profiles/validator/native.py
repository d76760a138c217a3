"""Native Python closures for the common shapes of FHIRPath invariants (fhirpathpy for the rest).

fhirpathpy costs ~0.1-3 ms per evaluation; most R4 and profile invariants are simple shapes such
as ``a.empty() or b.exists()``, ``x.exists() implies y.exists()``, ``start <= end`` or
``(a | b).count() <= 1``. :func:`compile_native` turns an expression made of paths, literals,
``%resource``, ``exists() empty() not() count() hasValue() where() all() select() isDistinct()
extension() contains() htmlChecks()``, ``and or xor implies``, ``= != < <= > >=``, ``|`` and
``+ - &`` into a closure ``(focus, env) -> collection`` over plain JSON values (a collection is
a ``list``).

The closure reproduces fhirpathpy's answers, not an idealised FHIRPath: whenever a value could be
read differently by fhirpathpy (a choice element, a primitive extension ``_x``, dates of different
precision, decimals, non-boolean logic operands ...) it raises :class:`Unsupported` and the caller
evaluates the expression with fhirpathpy instead. Unknown syntax compiles to ``None``; unknown
functions and operators compile to a step that raises :class:`Unsupported` only when reached.
Compiled for the focus's type (``root_type``, as the engine does per element), a closure also
reads the focus's own choice elements (``value`` of an Extension is its ``value[x]``) the way
fhirpathpy's model does. ``tests/unit/profiles/test_native_invariants.py`` checks agreement.
"""

from __future__ import annotations

import re
from typing import Any

from ipfhir.profiles.validator import native_ops as op
from ipfhir.profiles.validator.native_ops import Fn, Unsupported

__all__ = ["Fn", "Unsupported", "compile_native", "reads_root_choice"]


class _Syntax(Exception):  # noqa: N818
    pass


_TOKEN = re.compile(
    r"\s*(?:(?P<str>'(?:[^'\\]|\\.)*')|(?P<num>\d+(?:\.\d+)?)|(?P<bt>`[^`]*`)"
    r"|(?P<id>[A-Za-z_][A-Za-z0-9_]*)|(?P<var>[$%][A-Za-z_][A-Za-z0-9_]*)"
    r"|(?P<op><=|>=|!=|!~|[-+*/&|=<>~().,\[\]{}]))"
)
# binding powers (FHIRPath operator precedence, loosest first)
_INFIX = {
    **dict.fromkeys(("implies",), 1),
    **dict.fromkeys(("or", "xor"), 2),
    **dict.fromkeys(("and",), 3),
    **dict.fromkeys(("in", "contains"), 4),
    **dict.fromkeys(("=", "!=", "~", "!~"), 5),
    **dict.fromkeys(("<", "<=", ">", ">="), 6),
    **dict.fromkeys(("|",), 7),
    **dict.fromkeys(("is", "as"), 8),
    **dict.fromkeys(("+", "-", "&"), 9),
    **dict.fromkeys(("*", "/", "div", "mod"), 10),
}


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


# -- functions ------------------------------------------------------------------------------
def _keep(result: list[Any]) -> bool:
    """fhirpathpy's ``where``: the first value of the criterion decides."""
    if not result or result[0] is False:
        return False
    if result[0] is True:
        return True
    raise Unsupported


def _where(criterion: Fn) -> Fn:
    return lambda focus, env: [i for i in focus if _keep(criterion([i], env))]


def _exists_where(criterion: Fn) -> Fn:
    return lambda focus, env: [any(_keep(criterion([i], env)) for i in focus)]


def _all(criterion: Fn) -> Fn:
    def all_(focus: list[Any], env: Any) -> list[Any]:
        for item in focus:
            result = criterion([item], env)
            if result != [True]:
                if len(result) == 1 and not isinstance(result[0], bool):
                    raise Unsupported
                return [False]
        return [True]

    return all_


def _select(projection: Fn) -> Fn:
    return lambda focus, env: [v for i in focus for v in projection([i], env)]


def _is_distinct(focus: list[Any], _env: Any) -> list[Any]:
    if not all(isinstance(v, str) and op.plain(v) for v in focus):
        raise Unsupported
    return [len(set(focus)) == len(focus)]


def _contains(part: Fn) -> Fn:
    if isinstance(part, op.Constant) and len(part.values) == 1:
        return _contains_text(part.values[0])

    def contains(focus: list[Any], env: Any) -> list[Any]:
        if not focus:
            return []
        text, sub = op.single(focus), op.single(part(focus, env))
        if not isinstance(text, str) or not isinstance(sub, str):
            raise Unsupported
        return [sub in text]

    return contains


def _contains_text(sub: Any) -> Fn:
    """``contains('/_history/')``: :func:`_contains` with its literal read once."""

    def contains_text(focus: list[Any], _env: Any) -> list[Any]:
        if not focus:
            return []
        text = op.single(focus)
        if not isinstance(text, str) or not isinstance(sub, str):
            raise Unsupported
        return [sub in text]

    return contains_text


def _extension(url: Fn) -> Fn:
    """fhirpathpy's ``extension(url)``: the *first* extension with that url of each element."""

    def extension(focus: list[Any], env: Any) -> list[Any]:
        wanted = op.single(url(focus, env))
        out = []
        for item in focus:
            if not isinstance(item, dict):
                continue
            found = item.get("extension", [])
            if not isinstance(found, list) or "_extension" in item:
                raise Unsupported
            for ext in found:
                if not isinstance(ext, dict) or not isinstance(ext.get("url"), str):
                    raise Unsupported  # fhirpathpy fails on an extension without url
                if ext["url"] == wanted:
                    out.append(ext)
                    break
        return out

    return extension


_NO_ARGUMENTS: dict[str, Fn] = {
    "exists": op.exists,
    "empty": op.empty,
    "count": op.count,
    "not": op.not_,
    "hasValue": op.has_value,
    "isDistinct": _is_distinct,
    "htmlChecks": lambda c, env: [
        all(isinstance(i, str) and env.html_problem(i) is None for i in c)
    ],
}
_PER_ITEM = frozenset({"where", "exists", "all", "select"})  # their argument: once per item
_ONE_ARGUMENT = {
    "where": _where,
    "exists": _exists_where,
    "all": _all,
    "select": _select,
    "contains": _contains,
    "extension": _extension,
}


def _function(name: str, args: list[Fn]) -> Fn:
    """``name(args)`` applied to its input collection."""
    if not args and name in _NO_ARGUMENTS:
        return _NO_ARGUMENTS[name]
    if len(args) == 1 and name in _ONE_ARGUMENT:
        return _ONE_ARGUMENT[name](args[0])
    return op.unsupported


def _binary(name: str, left: Fn, right: Fn) -> Fn:
    if name in ("and", "or", "xor", "implies"):
        return op.logic(name, left, right)
    if name in ("=", "!="):
        return op.equals(name == "!=", left, right)
    if name in ("<", "<=", ">", ">="):
        return op.compare(name, left, right)
    if name == "|":
        return op.union(left, right)
    if name in ("+", "-", "&"):
        return op.arithmetic(name, left, right)
    return op.unsupported


# -- parsing (Pratt) ------------------------------------------------------------------------
class _Parser:
    def __init__(self, tokens: list[tuple[str, str]], root_type: str | None = None) -> None:
        self.tokens, self.pos = tokens, 0
        # the type of the root focus, when known: its choice elements are read as fhirpathpy
        # reads them (``value`` of an Extension is its ``valueString``); names read from the
        # root outside function arguments (``depth`` 0) are the root's own elements
        self.root_type, self.depth = root_type, 0
        self.root_choice = False  # a possible choice element is read from the root
        # closures that yield Extensions (the objects, not their ids: an id outlives its
        # object, and a closure built and dropped while parsing would lend its id to another)
        self.extensions: set[Fn] = set()
        # closures that read no focus (literals, %resource, %rootResource and what is computed
        # from them only): inside a function's argument, evaluated once per item, they are
        # computed once per Env (op.memo) where they meet a part that reads the focus
        self.focus_free: set[Fn] = set()
        self.compiled: Fn | None = None

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
            left = self.binary(text, left, self.expression(power))

    def binary(self, name: str, left: Fn, right: Fn) -> Fn:
        free_left, free_right = left in self.focus_free, right in self.focus_free
        if free_left and free_right:
            found = _binary(name, left, right)
            if found is not op.unsupported:
                self.focus_free.add(found)
            return found
        return _binary(name, self.memo(left), self.memo(right))

    def memo(self, fn: Fn) -> Fn:
        """``fn`` computed once per Env when it reads no focus and is part of a function's
        argument (evaluated once per item); a literal is left as it is."""
        if self.depth == 0 or fn not in self.focus_free or isinstance(fn, op.Constant):
            return fn
        return op.memo(fn)

    def postfix(self, left: Fn) -> Fn:
        if self.take()[1] == "[":
            self.expression(0)
            self.take("]")
            return op.unsupported
        if left in self.extensions and self.peek()[1] == "value":
            self.take()
            values = op.then(left, op.extension_value)
            if left in self.focus_free:
                self.focus_free.add(values)
            return values
        step = self.member()
        combined = op.then(left, step)
        if step in self.extensions:
            self.extensions.add(combined)
        if left in self.focus_free:  # what follows reads only what ``left`` gives it
            self.focus_free.add(combined)
        return combined

    def member(self, root: bool = False) -> Fn:
        """An identifier or a function call, applied to the current focus (``root``: the root
        focus, the element the invariant is on)."""
        kind, text = self.take()
        if kind not in ("id", "bt"):
            raise _Syntax(text)
        name = text.strip("`")
        if kind == "bt" or self.peek()[1] != "(":
            if name[0].isupper():
                return op.unsupported
            if root and name in op.choices()[0]:
                self.root_choice = True
                if self.root_type is not None:
                    return op.navigate_typed(self.root_type, name)
            return op.navigate(name)
        self.take("(")
        args: list[Fn] = []
        self.depth += 1
        while self.peek()[1] != ")":
            args.append(self.expression(0))
            if self.peek()[1] == ",":
                self.take(",")
        self.take(")")
        if name in _PER_ITEM:  # the argument is evaluated once per item
            args = [self.memo(a) for a in args]
        self.depth -= 1
        found = _function(name, args)
        if name == "extension" and found is not op.unsupported:
            self.extensions.add(found)
        return found

    def primary(self) -> Fn:
        kind, text = self.peek()
        if kind in ("str", "num", "var") or text in ("true", "false", "{"):
            self.take()
            found = self.literal(kind, text)
            if found is not op.unsupported and (kind != "var" or text != "$this"):
                self.focus_free.add(found)
            return found
        if text == "(":
            self.take()
            inner = self.expression(0)
            self.take(")")
            return inner
        if kind == "op" and text in "+-":
            self.take()
            self.expression(11)
            return op.unsupported
        return self.member(root=self.depth == 0)

    def literal(self, kind: str, text: str) -> Fn:
        """A string, number, boolean, ``{}`` or a variable (``%resource``, ``$this``)."""
        if kind == "str":
            return op.unsupported if "\\" in text else op.constant([text[1:-1]])
        if kind == "num":
            return op.constant([int(text)]) if text.isdigit() else op.unsupported
        if kind == "var":
            return op.variable(text)
        if text == "{":
            self.take("}")
            return op.constant([])
        return op.constant([text == "true"])


def _parse(expression: str, root_type: str | None) -> _Parser | None:
    try:
        parser = _Parser(_tokens(expression), root_type)
        parser.compiled = parser.expression(0)
        if parser.peek()[0] != "end":
            return None
    except _Syntax:
        return None
    return parser


def compile_native(expression: str, root_type: str | None = None) -> Fn | None:
    """A closure computing ``expression`` on a focus collection, or ``None`` (syntax not known).
    With ``root_type`` (the path fhirpathpy types the focus by), the root's choice elements are
    read natively too; without it they are left to fhirpathpy."""
    parser = _parse(expression, root_type)
    return None if parser is None else parser.compiled


def reads_root_choice(expression: str) -> bool:
    """Whether ``expression`` reads a possible choice element (``value``) of its root focus,
    which only a closure compiled for the focus's type reads natively."""
    parser = _parse(expression, None)
    return parser is not None and parser.root_choice
