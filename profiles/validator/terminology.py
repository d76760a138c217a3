"""Offline terminology: ValueSet membership and CodeSystem look-ups against shipped resources.

A ValueSet is expanded once into a set of ``(system, code)`` pairs when everything it needs is
local (enumerated concepts, whole local CodeSystems with ``content = complete``, ``is-a`` filters,
nested ValueSets). When it is not (SNOMED CT, LOINC, UCUM, ...), the answer is ``None``: unknown,
and the validator says nothing rather than guessing. No terminology server is ever called.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any

from ipfhir.profiles.validator.registry import Registry

__all__ = ["Terminology"]

Codes = frozenset[tuple[str, str]]
_MISSING: Any = object()
_ALIASES_MAX = 10_000  # expansions kept under a versioned url too (a bound, should urls vary)


def _walk(concepts: list[dict[str, Any]]) -> Iterator[dict[str, Any]]:
    for concept in concepts:
        yield concept
        yield from _walk(concept.get("concept", []))


def _descendants(concepts: list[dict[str, Any]], code: str, inside: bool = False) -> Iterator[str]:
    for concept in concepts:
        hit = inside or concept.get("code") == code
        if hit:
            yield str(concept.get("code"))
        yield from _descendants(concept.get("concept", []), code, hit)


class Terminology:
    """ValueSet expansions and CodeSystem code sets, computed once and cached.

    Safe to share between threads: an expansion is published only when complete (the cycle
    guard of one thread's expansion is its own, under the lock, never seen by another)."""

    def __init__(self, registry: Registry) -> None:
        self.registry = registry
        self._expansions: dict[str, Codes | None] = {}
        self._systems: dict[str, frozenset[str] | None] = {}
        self._plain: dict[str, frozenset[str]] = {}  # url -> its codes without their systems
        self._lock = threading.RLock()  # expansions nest (ValueSets include ValueSets)
        self._expanding: set[str] = set()  # under _lock: the expansions in progress

    def system_codes(self, system: str) -> frozenset[str] | None:
        """All codes of a local, complete CodeSystem; ``None`` when not known offline."""
        if system not in self._systems:
            cs = self.registry.code_system(system)
            codes: frozenset[str] | None = None
            if cs is not None and cs.get("content") == "complete":
                codes = frozenset(str(c.get("code")) for c in _walk(cs.get("concept", [])))
            self._systems[system] = codes
        return self._systems[system]

    def expand(self, url: str) -> Codes | None:
        base = url.split("|", 1)[0]
        codes = self._expansions.get(base, _MISSING)
        if codes is _MISSING:
            if not self.registry.knows("ValueSet", base):
                return None  # not shipped: unknown offline (and not kept: any url could come here)
            codes = self._expand(base)
        if base != url and base in self._expansions and len(self._expansions) < _ALIASES_MAX:
            self._expansions[url] = codes  # ``url|4.0.1`` as bindings write it: found at once
        return codes  # type: ignore[no-any-return]

    def _expand(self, url: str) -> Codes | None:
        with self._lock:
            if url in self._expansions:
                return self._expansions[url]
            if url in self._expanding:
                return None  # a cycle: unknown
            self._expanding.add(url)
            try:
                codes = self._compute(url)
            finally:
                self._expanding.discard(url)
            self._expansions[url] = codes
            return codes

    def _compute(self, url: str) -> Codes | None:
        vs = self.registry.value_set(url)
        if vs is None:
            return None
        compose = vs.get("compose")
        if not compose:
            contains = (vs.get("expansion") or {}).get("contains")
            if contains is None:
                return None
            return frozenset((str(c.get("system")), str(c.get("code"))) for c in _walk(contains))
        included: set[tuple[str, str]] = set()
        for part in compose.get("include", []):
            codes = self._part(part)
            if codes is None:
                return None
            included |= codes
        for part in compose.get("exclude", []):
            included -= self._part(part) or set()
        return frozenset(included)

    def _part(self, part: dict[str, Any]) -> set[tuple[str, str]] | None:
        system = part.get("system")
        result: set[tuple[str, str]] | None = None
        if system:
            result = self._system_part(str(system), part)
            if result is None:
                return None
        for vs_url in part.get("valueSet", []):
            codes = self.expand(vs_url)
            if codes is None:
                return None
            result = set(codes) if result is None else result & codes
        return result

    def _system_part(self, system: str, part: dict[str, Any]) -> set[tuple[str, str]] | None:
        if part.get("concept"):
            return {(system, str(c.get("code"))) for c in part["concept"]}
        if not part.get("filter"):
            codes = self.system_codes(system)
            return None if codes is None else {(system, c) for c in codes}
        cs = self.registry.code_system(system)
        if cs is None or cs.get("content") != "complete":
            return None
        result: set[str] | None = None
        for flt in part["filter"]:
            if flt.get("property") != "concept" or flt.get("op") not in ("is-a", "descendent-of"):
                return None
            found = set(_descendants(cs.get("concept", []), str(flt.get("value"))))
            if flt.get("op") == "descendent-of":
                found.discard(str(flt.get("value")))
            result = found if result is None else result & found
        return {(system, c) for c in result or ()}

    def contains(self, url: str, system: str | None, code: str) -> bool | None:
        """Is ``system|code`` in ValueSet ``url``? ``None`` when that cannot be known offline.

        Without a system (a plain ``code`` element) any system of the value set will do.
        """
        if not isinstance(code, str) or (system is not None and not isinstance(system, str)):
            return None  # a wrong JSON type: the walker reports it (IP-3004)
        codes = self._expansions.get(url, _MISSING)  # (a url with |version: expand() finds it)
        if codes is _MISSING:
            codes = self.expand(url)
        if codes is None:
            return None
        if system is None:
            key = url if url in self._expansions else url.split("|", 1)[0]
            plain = self._plain.get(key)
            if plain is None:
                plain = self._plain[key] = frozenset(c for _, c in codes)
            return code in plain
        return (system, code) in codes
