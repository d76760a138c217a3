"""Shared, cached state of the validator: compiled profiles, invariants, terminology.

An :class:`Engine` is built once (cheap: nothing is read until first use) and reused for every
validation, by any number of threads at once. Each profile is compiled exactly once (under a lock
per canonical URL) and published only when complete, so every thread sees the same element tree;
what is memoised per element lives on the element's :class:`Node` itself (or in dicts keyed by
the node object, which keep it alive), never under ``id()`` of an object that could be freed and
its id reused: that is how two threads compiling one profile at once used to leave caches that
answered for the wrong element and refused valid resources for the life of the process.
"""

from __future__ import annotations

import threading
from dataclasses import replace
from typing import Any

from ipfhir.mappings.errors import Issue
from ipfhir.profiles.validator.compiler import compile_structure
from ipfhir.profiles.validator.fhirpath import Env, FhirPath
from ipfhir.profiles.validator.messages import issue
from ipfhir.profiles.validator.model import (
    VARIES,
    ComplexPlan,
    Constraint,
    InvariantPlan,
    Node,
    Present,
)
from ipfhir.profiles.validator.native import Unsupported, compile_native
from ipfhir.profiles.validator.registry import CORE_SD, Registry
from ipfhir.profiles.validator.terminology import Terminology

__all__ = ["EXAMPLE_DOMAINS", "Engine"]

# Extension URLs under these prefixes may be unknown (the HL7 R4 examples use them); any other
# unknown extension is an error, as in the HL7 Java validator.
EXAMPLE_DOMAINS = ("http://example.org/", "http://example.com/", "http://nema.org/")
_GUARDED_BY_CONTAINED = frozenset({"dom-2", "dom-3", "dom-4", "dom-5"})
_DOM_3 = "dom-3"
_STRUCTURAL = frozenset({"BackboneElement", "Element"})
_VALUE_CHECKED = frozenset({"Coding", "Identifier", "Reference", "Extension"})
_MISSING = object()


class Engine:
    def __init__(
        self,
        registry: Registry | None = None,
        extension_domains: tuple[str, ...] = EXAMPLE_DOMAINS,
        security_checks: bool = True,
    ) -> None:
        self.registry = registry or Registry()
        self.extension_domains = extension_domains
        self.security_checks = security_checks  # reject strings that embed HTML tags
        self.terminology = Terminology(self.registry)
        self.fhirpath = FhirPath()
        # url -> root; written only under the url's lock, after _by_path (readers take no lock)
        self._compiled: dict[str, Node | None] = {}
        self._by_path: dict[str, dict[str, Node]] = {}
        self._locks: dict[str, threading.Lock] = {}
        self._locks_guard = threading.Lock()
        self._constants: dict[tuple[str, str], bool | None] = {}

    # -- definitions --------------------------------------------------------------------------
    def compiled(self, url: str) -> Node | None:
        """The compiled tree of StructureDefinition ``url`` (None when unknown or without a
        snapshot). Compiled once per URL, whatever the number of threads asking at once; URLs
        the registry does not know are not remembered (a client can send any number)."""
        found = self._compiled.get(url, _MISSING)  # (a url without |version: its own key)
        if found is not _MISSING:
            return found  # type: ignore[return-value]
        url = url.split("|", 1)[0]
        found = self._compiled.get(url, _MISSING)
        if found is not _MISSING:
            return found  # type: ignore[return-value]
        if not self.registry.knows("StructureDefinition", url):
            return None
        with self._lock_for(url):
            if url not in self._compiled:
                sd = self.registry.structure(url)
                root = compile_structure(sd) if sd and sd.get("snapshot") else None
                if root is not None:
                    self._by_path[url] = _index(root)
                self._compiled[url] = root
        return self._compiled[url]

    def _lock_for(self, url: str) -> threading.Lock:
        with self._locks_guard:
            return self._locks.setdefault(url, threading.Lock())

    def checked_children(self, defs: Node) -> list[Node]:
        """Children that must be checked even when absent (min > 0 or a required slice)."""
        found = defs.required
        if found is None:
            found = [
                c
                for c in (defs.children or {}).values()
                if c.min > 0 or any(s.min > 0 for s in c.slices)
            ]
            defs.required = found  # the same list whichever thread computes it
        return found

    def root_of_type(self, code: str) -> Node | None:
        return self.compiled(CORE_SD + code)

    def is_resource_type(self, code: str) -> bool:
        return self.registry.is_resource_type(code)

    def definition_for(
        self, node: Node, type_code: str, value: dict[str, Any]
    ) -> tuple[Node | None, Node | None]:
        """(node whose children describe ``value``, type root whose invariants also apply)."""
        found = node.definitions.get(type_code)
        if found is not None:
            return found
        found = self._definition(node, type_code, value)
        if type_code != "Extension" or any(t.profiles for t in node.types):
            node.definitions[type_code] = found  # else it depends on the extension's url
        return found

    def _definition(
        self, node: Node, type_code: str, value: dict[str, Any]
    ) -> tuple[Node | None, Node | None]:
        sliced = node.type_slices.get(type_code)
        base = None if type_code in _STRUCTURAL else self.root_of_type(type_code)
        if sliced is not None and sliced.children is not None:
            return sliced, base
        if node.children is not None:
            return node, base
        if node.content_ref:
            sd_url, _, path = node.content_ref.partition("#")
            target = self._by_path.get(sd_url or node.sd_url, {}).get(path)
            return target, None
        profiles = [p for t in node.types if t.code == type_code for p in t.profiles]
        if not profiles and type_code == "Extension" and isinstance(value.get("url"), str):
            profiles = (
                [value["url"]] if self.registry.knows("StructureDefinition", value["url"]) else []
            )
        for url in profiles:
            root = self.compiled(url)
            if root is not None:
                return root, root
        return base, base

    def roots_for(
        self, res: dict[str, Any], profile: str | None, issues: list[Issue], expr: str
    ) -> list[Node]:
        """Profile roots for ``res``: ``profile``, else meta.profile, else the base definition."""
        rtype = str(res.get("resourceType"))
        if profile is not None:
            root = self.compiled(profile)
            if root is None:
                issues.append(issue("IP-3017", expr, url=profile))
                return []
            if root.path != rtype:
                issues.append(issue("IP-3025", expr, found=rtype, url=profile, expected=root.path))
                return []
            return [root]
        roots: list[Node] = []
        meta = res.get("meta")
        urls = meta.get("profile", []) if isinstance(meta, dict) else []
        for url in urls if isinstance(urls, list) else []:  # else IP-3004 from the walker
            root = self.compiled(url) if isinstance(url, str) else None
            if root is None:
                issues.append(issue("IP-3031", f"{expr}.meta.profile", url=url))
            elif root.path == rtype:
                roots.append(root)
        if roots:
            return roots
        base = self.root_of_type(rtype) if self.is_resource_type(rtype) else None
        if base is None:
            issues.append(issue("IP-3018", expr, what=f"Unknown resource type {rtype!r}"))
            return []
        return [base]

    # -- invariants ---------------------------------------------------------------------------
    def constraints_for(
        self, node: Node, type_root: Node | None, type_code: str
    ) -> list[tuple[Constraint, str]]:
        key = (type_root, type_code)
        found = node.constraints_by_type.get(key)
        if found is None:
            structural = type_code in _STRUCTURAL or self.is_resource_type(type_code)
            own_base = node.path if structural else type_code
            found = [(_typed(c, own_base), own_base) for c in node.constraints]
            seen = {c.key for c in node.constraints}
            if type_root is not None and type_root is not node:
                found += [
                    (_typed(c, type_root.path), type_root.path)
                    for c in type_root.constraints
                    if c.key not in seen
                ]
            node.constraints_by_type[key] = found
        return found

    def invariant_plan(
        self, node: Node, type_root: Node | None, type_code: str
    ) -> InvariantPlan | None:
        """:meth:`constraints_for` as the walker checks them: with the answer each focus-free
        invariant gives when none of the elements it names is present (what
        :meth:`invariant_holds` would compute and remember on first use), dom-2..5 apart (they
        hold without ``contained``). None when there are no invariants."""
        key = (type_root, type_code)
        found = node.invariant_plans.get(key, _MISSING)
        if found is _MISSING:
            entries = tuple(
                (
                    c,
                    base,
                    self._constant(c, base) if c.focus_free else VARIES,
                    c.key in _GUARDED_BY_CONTAINED,
                )
                for c, base in self.constraints_for(node, type_root, type_code)
            )
            found = (entries, tuple(e for e in entries if not e[3])) if entries else None
            node.invariant_plans[key] = found
        return found  # type: ignore[return-value]

    def complex_plan(self, node: Node, type_code: str, value: dict[str, Any]) -> ComplexPlan:
        """What the walker does with object ``value`` of type ``type_code`` at ``node``: its
        definition and type root (:meth:`definition_for`), whether value checks apply, its
        invariants. Kept on the node; an Extension's whose definition comes from its url, per
        url the registry knows (all others get the base definition)."""
        found = node.complex_plans.get(type_code)
        if found is not None:
            return found
        url = value.get("url") if type_code == "Extension" else None
        if type(url) is str:  # a known url without |version is its own key (the common case)
            found = node.extension_plans.get(url)
            if found is not None:
                return found
        known = (
            url.split("|", 1)[0]
            if isinstance(url, str) and self.registry.knows("StructureDefinition", url)
            else None
        )
        found = node.extension_plans.get(known) if type_code == "Extension" else None
        if found is not None:
            return found
        defs, type_root = self.definition_for(node, type_code, value)
        found = (
            defs,
            type_root,
            node.value_rules or type_code in _VALUE_CHECKED,
            None if defs is None else self.invariant_plan(node, type_root, type_code),
        )
        if type_code in node.definitions:
            node.complex_plans[type_code] = found
        else:  # an Extension's, whose definition depends on the url (see definition_for)
            node.extension_plans[known] = found
        return found

    def invariant_holds(
        self, c: Constraint, value: Any, base: str, present: Present, env: Env
    ) -> bool | None:
        if c.key in _GUARDED_BY_CONTAINED:
            if not (isinstance(value, dict) and "contained" in value):
                return True
            if c.key == _DOM_3 and env.resource is value and contained_are_referenced(value):
                return True
        if c.focus_free and isinstance(value, dict) and c.names.isdisjoint(present.names()):
            return self._constant(c, base)
        return self.run_invariant(c, value, base, env)

    def _constant(self, c: Constraint, base: str) -> bool | None:
        """The answer of focus-free ``c`` on an object holding none of the elements it names."""
        ck = (c.expression, base)
        if ck not in self._constants:
            self._constants[ck] = self.run_invariant(c, {}, base, Env({}, {}))
        return self._constants[ck]

    def run_invariant(self, c: Constraint, value: Any, base: str, env: Env) -> bool | None:
        """Whether ``c`` holds on ``value`` (None: it cannot be evaluated)."""
        return self._run(c, value, base, env)

    def _run(self, c: Constraint, value: Any, base: str, env: Env) -> bool | None:
        if c.native is not None:
            try:
                result = c.native([value], env)
            except Unsupported:
                pass
            else:
                return not result or result == [True]
        try:
            return self.fhirpath.holds(c.expression, value, base, env)
        except Exception:  # noqa: BLE001 - fhirpathpy raises bare Exception for unsupported syntax
            return None

    # -- services for FHIRPath functions ------------------------------------------------------
    def conforms(self, res: dict[str, Any], url: str) -> bool:
        from ipfhir.profiles.validator.runner import run

        outcome_issues, _ = run(self, res, url)
        return not any(i.severity in ("error", "fatal") for i in outcome_issues)

    def member_of(self, value: Any, url: str) -> bool | None:
        if isinstance(value, str):
            return self.terminology.contains(url, None, value)
        if isinstance(value, dict):
            codings = value.get("coding", [value])
            answers = [
                self.terminology.contains(url, c.get("system"), str(c.get("code")))
                for c in (codings if isinstance(codings, list) else ())
                if isinstance(c, dict)
            ]
            if any(answers):
                return True
            return None if any(a is None for a in answers) else False
        return None


def _typed(c: Constraint, base: str) -> Constraint:
    """``c`` as evaluated on a focus of type ``base``: with a native closure that reads the
    focus's choice elements (``value`` of an Extension) when the expression does."""
    if not c.root_choice or c.native is None:
        return c
    found = c.typed.get(base)
    if found is None:
        found = c.typed.setdefault(
            base, replace(c, native=compile_native(c.expression, base), typed={})
        )
    return found


def contained_are_referenced(res: dict[str, Any]) -> bool:
    """dom-3's common case: every contained resource is the target of a ``reference`` somewhere
    in the resource. True then (the invariant holds); False means "ask fhirpathpy", which also
    knows canonical references and references back to the container (``#``)."""
    contained = res.get("contained")
    if not isinstance(contained, list):
        return False
    wanted: set[str] = set()
    for c in contained:
        if not (isinstance(c, dict) and isinstance(c.get("id"), str)):
            return False
        wanted.add("#" + c["id"])
    if not wanted:
        return True
    todo: list[Any] = [res]
    while todo:  # until every contained resource has been found referenced
        item = todo.pop()
        if isinstance(item, dict):
            ref = item.get("reference")
            if isinstance(ref, str) and ref in wanted:
                wanted.discard(ref)
                if not wanted:
                    return True
            todo.extend(v for k, v in item.items() if not k.startswith("_"))
        elif isinstance(item, list):
            todo.extend(item)
    return not wanted


def _index(root: Node) -> dict[str, Node]:
    found: dict[str, Node] = {}
    todo = [root]
    while todo:
        node = todo.pop()
        found.setdefault(node.path, node)
        todo.extend((node.children or {}).values())
    return found
