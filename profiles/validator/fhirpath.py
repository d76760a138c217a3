"""FHIRPath invariants with fhirpathpy, plus the functions R4 invariants need that it lacks.

Added functions (FHIRPath / FHIR R4 §2.1.9.1): ``hasValue()``, ``htmlChecks()``, ``resolve()``
(contained resources and Bundle entries, offline), ``memberOf(vs)`` (local ValueSets) and
``conformsTo(url)`` (the validator itself). Expressions are parsed once and cached.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from fhirpathpy import apply_parsed_path
from fhirpathpy.engine.nodes import ResourceNode
from fhirpathpy.models import models
from fhirpathpy.parser import parse

from ipfhir.profiles.validator.xhtml import xhtml_problem

__all__ = ["Env", "FhirPath"]


@dataclass
class Env:
    """What an expression can reach beyond its focus: %resource, %rootResource, the Bundle."""

    resource: dict[str, Any]
    root: dict[str, Any]
    bundle: dict[str, Any] | None = None
    member_of: Callable[[Any, str], bool | None] | None = None
    conforms_to: Callable[[dict[str, Any], str], bool] | None = None
    _table: dict[str, Any] | None = field(default=None, repr=False)
    # id(Bundle) -> its entry index, shared by the Envs of one validation run (walker.py)
    entry_indexes: dict[int, _EntryIndex] = field(default_factory=dict, repr=False)
    # narrative div -> xhtml_problem(div), for this validation run only (IP-3027, txt-1, txt-2)
    html: dict[str, str | None] = field(default_factory=dict, repr=False)
    # answers of native closure parts that read only %resource / %rootResource and literals
    # (``native_ops.memo``): the same for every focus while this Env's resources are the same
    memo: dict[Any, list[Any]] = field(default_factory=dict, repr=False)

    def html_problem(self, div: str) -> str | None:
        if div not in self.html:
            self.html[div] = xhtml_problem(div)
        return self.html[div]

    def resolve_one(self, ref: Any) -> dict[str, Any] | None:
        text = ref.get("reference") if isinstance(ref, dict) else ref
        if not isinstance(text, str):
            return None
        if text.startswith("#"):
            contained = self.root.get("contained")  # not a list (null, 7): nothing to find
            for res in contained if isinstance(contained, list) else ():
                if isinstance(res, dict) and res.get("id") == text[1:]:
                    return res
            return self.root if text == "#" else None
        found = self.entry_indexes.get(id(self.bundle))
        if found is None:  # the Bundle is part of the resource validated: alive, its id stable
            found = self.entry_indexes[id(self.bundle)] = _entry_index(self.bundle)
        by_key, odd = found
        if "/" not in text:  # urn:uuid:...: only a fullUrl can match (type/id keys hold a "/")
            hit = by_key.get("url " + text)
            return hit[1] if hit else None
        tail = text.rsplit("/", 2)
        keys = ("url " + text, "id " + text, "id " + "/".join(tail[1:]) if len(tail) == 3 else "")
        hits = [by_key[k] for k in keys if k in by_key]
        hits += [(i, res) for i, res, local in odd if text == local or text.endswith("/" + local)]
        return min(hits, key=lambda hit: hit[0])[1] if hits else None

    def table(self) -> dict[str, Any]:
        if self._table is None:
            self._table = _functions(self)
        return self._table


# "url <fullUrl>" and "id <type>/<id>" -> (entry position, resource), the first entry winning;
# entries whose type or id holds a "/" (invalid, but possible) are matched one by one
_EntryIndex = tuple[dict[str, tuple[int, dict[str, Any]]], list[tuple[int, dict[str, Any], str]]]


def _entry_index(bundle: dict[str, Any] | None) -> _EntryIndex:
    """How :meth:`Env.resolve_one` finds a Bundle entry without reading every entry each time:
    the same first match as comparing the reference with each entry's fullUrl, with its
    ``type/id``, and its end with ``/type/id``."""
    by_key: dict[str, tuple[int, dict[str, Any]]] = {}
    odd: list[tuple[int, dict[str, Any], str]] = []
    entries = (bundle or {}).get("entry", [])
    for i, entry in enumerate(entries if isinstance(entries, list) else ()):
        res = entry.get("resource") if isinstance(entry, dict) else None
        if not isinstance(res, dict):
            continue
        full_url = entry.get("fullUrl")
        if isinstance(full_url, str):
            by_key.setdefault("url " + full_url, (i, res))
        local = f"{res.get('resourceType')}/{res.get('id')}"
        if local.count("/") == 1:
            by_key.setdefault("id " + local, (i, res))
        else:
            odd.append((i, res, local))
    return by_key, odd


def _no_trace(*_args: Any) -> None:
    """``trace()`` in invariants (ref-1) must not print."""


def _has_value(inputs: list[Any]) -> bool:
    return len(inputs) == 1 and inputs[0] is not None and not isinstance(inputs[0], dict | list)


def _functions(env: Env) -> dict[str, Any]:
    def resolve(inputs: list[Any]) -> list[Any]:
        found = (env.resolve_one(i) for i in inputs)
        return [
            ResourceNode.create_node(r, str(r.get("resourceType")))  # type: ignore[no-untyped-call]
            for r in found
            if r is not None
        ]

    def member_of(inputs: list[Any], url: str) -> list[bool]:
        if len(inputs) != 1 or env.member_of is None:
            return []
        answer = env.member_of(inputs[0], url)
        return [] if answer is None else [answer]

    def conforms_to(inputs: list[Any], url: str) -> list[bool]:
        if len(inputs) != 1 or not isinstance(inputs[0], dict) or env.conforms_to is None:
            return []
        return [env.conforms_to(inputs[0], url)]

    def html_checks(inputs: list[Any]) -> list[bool]:
        return [all(isinstance(i, str) and env.html_problem(i) is None for i in inputs)]

    return {
        "hasValue": {"fn": lambda inputs: [_has_value(inputs)], "arity": {0: []}},
        "htmlChecks": {"fn": html_checks, "arity": {0: []}},
        "resolve": {"fn": resolve, "arity": {0: []}},
        "memberOf": {"fn": member_of, "arity": {1: ["String"]}},
        "conformsTo": {"fn": conforms_to, "arity": {1: ["String"]}},
    }


class FhirPath:
    """Evaluate expressions against a focus node typed by its element path (``Patient.contact``)."""

    def __init__(self) -> None:
        self._parsed: dict[str, Any] = {}
        self._model = models["r4"]
        self._lock = threading.Lock()  # one parse per expression (ANTLR's caches are shared)

    def evaluate(self, expression: str, focus: Any, base: str, env: Env) -> list[Any]:
        parsed = self._parsed.get(expression)
        if parsed is None:
            parsed = self._parse(expression)
        node = ResourceNode.create_node(focus, base)  # type: ignore[no-untyped-call]
        variables = {"resource": env.resource, "rootResource": env.root}
        options = {"userInvocationTable": env.table(), "traceFn": _no_trace}
        result: list[Any] = apply_parsed_path(node, parsed, variables, self._model, options)  # type: ignore[no-untyped-call]
        return result

    def _parse(self, expression: str) -> Any:
        with self._lock:
            parsed = self._parsed.get(expression)
            if parsed is None:
                # fhirpathpy has no $this outside function arguments; at the start it is the focus
                text = expression.removeprefix("$this.")
                parsed = self._parsed[expression] = parse(text)  # type: ignore[no-untyped-call]
            return parsed

    def holds(self, expression: str, focus: Any, base: str, env: Env) -> bool:
        """An invariant holds when it yields exactly ``true`` or nothing (empty = not failed)."""
        result = self.evaluate(expression, focus, base, env)
        return not result or result == [True]
