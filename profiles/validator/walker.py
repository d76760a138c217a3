"""One validation run: walk a resource's JSON against a compiled element tree, collect Issues.

The walker is created per call; everything it reads that is expensive (compiled trees, parsed
expressions, ValueSet expansions) lives in the :class:`~profiles.validator.engine.Engine` and is
shared. Expressions are FHIRPath in the Java validator's style: ``Patient.name[0].given[1]``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from ipfhir.mappings.errors import Issue, Severity
from ipfhir.profiles.validator import checks, primitives
from ipfhir.profiles.validator.fhirpath import Env
from ipfhir.profiles.validator.messages import issue
from ipfhir.profiles.validator.model import VARIES, InvariantPlan, Node, Present
from ipfhir.profiles.validator.plan import COMPLEX, PRIMITIVE, RESOURCE, element_kind, key_plan
from ipfhir.profiles.validator.protocols import EngineRole, Item
from ipfhir.profiles.validator.registry import IP_CANONICAL_BASE
from ipfhir.profiles.validator.slicing import assign_slices

__all__ = ["Walker"]

_HTML_TAG = re.compile(r"<\s*/?\s*[a-zA-Z][a-zA-Z0-9]*(\s[^<>]*)?/?>")
_JSON_NAMES = {dict: "an object", list: "an array", str: "a string", bool: "a boolean"}
_NO_GROUPS: dict[Node, object] = {}  # (a primitive's invariants: no elements)
_UNPLANNED: Any = object()
_CHECKED: Any = object()  # the group of a child whose one value was found fine while reading keys


def _as_warning(found: Issue) -> Issue:
    return replace(found, severity="warning")


def _json_name(value: Any) -> str:
    return _JSON_NAMES.get(type(value), "a number" if isinstance(value, int | float) else "null")


class Walker:
    def __init__(self, engine: EngineRole, env: Env, split_entries: bool = False) -> None:
        self.engine = engine
        self.registry = engine.registry
        self.terminology = engine.terminology
        self.env = env
        self.issues: list[Issue] = []
        self.split_entries = split_entries
        self.entries: list[tuple[dict[str, Any], list[Issue]]] = []
        self.ip_profile = False  # national identifier checksums are errors under IP profiles

    # -- resources ---------------------------------------------------------------------------
    def resource(self, res: dict[str, Any], root: Node, expr: str) -> None:
        saved, self.ip_profile = self.ip_profile, root.sd_url.startswith(IP_CANONICAL_BASE)
        self.complex(res, root, root.path if root.children else str(res.get("resourceType")), expr)
        self.ip_profile = saved

    def nested_resource(self, value: Any, expr: str, bundle_entry: bool) -> None:
        """``contained``, ``Bundle.entry.resource``, ``Parameters.parameter.resource``."""
        rtype = value.get("resourceType") if isinstance(value, dict) else None
        if not isinstance(rtype, str):
            self.issues.append(issue("IP-3018", expr, what="A resource needs a resourceType"))
            return
        roots = self.engine.roots_for(value, None, self.issues, expr)
        if not roots:
            return
        saved_env, saved_issues = self.env, self.issues
        if bundle_entry:
            self.env = Env(value, value, saved_env.bundle or saved_env.root, *self._hooks())
            if self.split_entries:
                self.issues, expr = [], rtype
        else:
            self.env = Env(value, saved_env.root, saved_env.bundle, *self._hooks())
        self.env.entry_indexes = saved_env.entry_indexes
        for root in roots:
            self.resource(value, root, expr)
        if bundle_entry and self.split_entries:
            self.entries.append((value, self.issues))
        self.env, self.issues = saved_env, saved_issues

    def _hooks(self) -> tuple[Any, Any]:
        return self.env.member_of, self.env.conforms_to

    # -- elements ----------------------------------------------------------------------------
    def complex(self, value: Any, node: Node, type_code: str, expr: str) -> None:
        if not isinstance(value, dict):
            self.issues.append(
                issue(
                    "IP-3004", expr, name=node.name, expected="an object", found=_json_name(value)
                )
            )
            return
        if not value:
            self.issues.append(issue("IP-3006", expr, name=node.name))
            return
        plan = node.complex_plans.get(type_code)
        if plan is None:  # an Extension's, mostly: its plan is kept by its url when known
            url = value.get("url") if type_code == "Extension" else None
            plan = node.extension_plans.get(url) if type(url) is str else None
            if plan is None:
                if type_code == "Extension" and node.children is None:
                    self.unknown_extension(node, value, expr)  # (a known url returns at once)
                plan = self.engine.complex_plan(node, type_code, value)
        defs, _type_root, value_checked, invariants = plan
        if defs is None:
            return
        groups = self.properties(value, defs, expr)
        if value_checked:
            self.value_checks(value, node, type_code, expr)
        if invariants is not None:
            self.invariants(value, invariants, groups, expr)

    def unknown_extension(self, node: Node, value: dict[str, Any], expr: str) -> None:
        url = value.get("url")
        if type(url) is str and url in node.extension_plans:
            return  # a url the registry knows (Engine.complex_plan keeps its plan by it)
        if not isinstance(url, str) or node.profiled:
            return
        if self.registry.knows("StructureDefinition", url):
            return
        allowed = url.startswith(self.engine.extension_domains)
        self.issues.append(issue("IP-3022", expr, "information" if allowed else None, url=url))

    def properties(
        self, obj: dict[str, Any], defs: Node, expr: str
    ) -> dict[Node, list[tuple[str | None, Item]]]:
        """Check every property of ``obj`` against ``defs.children``; returns the elements
        found (their items, or ``_CHECKED`` for values already checked while reading keys),
        for :class:`~profiles.validator.model.Present`.

        Values the key plan says need only a lexical check, or are objects (arrays of them)
        of one complex type, are checked while reading keys; the rest go to the second loop.
        One long function on purpose: it runs for every key of every object, and a helper
        per short path would cost a call per key."""
        plans = defs.key_plans
        groups: dict[Node, list[tuple[str | None, Item]]] = {}
        pending: list[tuple[Node, list[tuple[str | None, Item]]]] = []
        for key, value in obj.items():
            kp = plans.get(key, _UNPLANNED)
            if kp is _UNPLANNED:
                kp = key_plan(self.engine, defs, key)
            if kp is None:
                if key != "resourceType":
                    self.unknown_property(defs, key, expr)
                continue
            child, chosen, name, underscore, under_key, suffix, plain, direct, items = kp
            if chosen is not None and child in groups:
                pass  # a choice met again: the loop below counts and checks them all
            elif plain is not None:
                if (
                    under_key not in obj
                    and plain[0](value) is None
                    and not (plain[1] and "<" in value)
                ):
                    groups[child] = _CHECKED  # all it needed: no item for the loop below
                    continue
            elif direct is not None and under_key not in obj:
                if child.array:
                    if type(value) is list and value:
                        groups[child] = _CHECKED  # its objects are checked here
                        count = len(value)
                        if count < child.min or (child.max != -1 and count > child.max):
                            self.cardinality(child, count, expr + "." + child.bare_name)
                        sub = expr + suffix
                        for i, v in enumerate(value):
                            self.complex(v, child, direct, f"{sub}[{i}]")
                        continue
                elif type(value) is dict:
                    groups[child] = _CHECKED
                    self.complex(value, child, direct, expr + suffix)
                    continue
            elif items is not None and type(value) is list and value and under_key not in obj:
                check, is_string = items
                for v in value:
                    if check(v) is not None or (is_string and "<" in v):
                        break  # the loop below checks them all, with the messages
                else:
                    groups[child] = _CHECKED
                    count = len(value)
                    if count < child.min or (child.max != -1 and count > child.max):
                        self.cardinality(child, count, expr + "." + child.bare_name)
                    continue
            if underscore:
                if name in obj:
                    continue  # paired with its value below
                main, extra = None, value
            else:
                main, extra = value, obj.get(under_key)
            sub = expr + suffix
            if not child.array and type(main) is not list and type(extra) is not list:
                found = [(chosen, (main, extra, sub))]
            elif extra is None and type(main) is list and main and child.array:
                found = [(chosen, (v, None, f"{sub}[{i}]")) for i, v in enumerate(main)]
            else:
                found = [(chosen, i) for i in self.items(child, name, main, extra, sub)]
            group = groups.get(child) if chosen is not None else None  # (only choices meet
            if group is None:  # their element again: name and _name make one item)
                groups[child] = found
                pending.append((child, found))
                continue
            if group is _CHECKED:  # the first key of this choice took a short path
                group = groups[child] = self.first_choice_item(obj, defs, child, expr)
                pending.append((child, group))
            group.extend(found)
        required = defs.required
        if required is None:
            required = self.engine.checked_children(defs)
        for child in required:
            if child not in groups:
                self.cardinality(child, 0, expr + "." + child.bare_name)
        for child, found in pending:  # (issues are sorted at the end of the run)
            count = len(found)
            if count < child.min or (child.max != -1 and count > child.max):
                self.cardinality(child, count, expr + "." + child.bare_name)
            if child.slices:
                self.children_of(child, found)
                continue
            kinds = child.kinds
            for chosen, item in found:
                type_code, kind, plain, is_string = kinds.get(chosen) or element_kind(
                    self.engine, child, chosen
                )
                if item[1] is None:  # the common cases of element(), without its branching
                    if plain is not None:
                        value = item[0]
                        if plain(value) is None and not (is_string and "<" in value):
                            continue
                    elif kind == COMPLEX:
                        self.complex(item[0], child, type_code, item[2])  # type: ignore[arg-type]
                        continue
                self.element(child, chosen, item)
        return groups

    def first_choice_item(
        self, obj: dict[str, Any], defs: Node, child: Node, expr: str
    ) -> list[tuple[str | None, Item]]:
        """The item of the first key of choice ``child`` in ``obj`` (one that took a short path
        in :meth:`properties`), when another key of the same element comes: the two make one
        group, counted and checked together as when neither took it."""
        for key, value in obj.items():
            kp = key_plan(self.engine, defs, key)
            if kp is not None and kp[0] is child and not kp[3]:
                return [(kp[1], (value, None, expr + kp[5]))]
        raise AssertionError("a choice found by a short path has its key in the object")

    def unknown_property(self, defs: Node, key: str, expr: str) -> None:
        name = key.lstrip("_")
        for child in (defs.children or {}).values():
            prefix = child.name[:-3]
            if (
                child.choice
                and name.startswith(prefix)
                and name[len(prefix) : len(prefix) + 1].isupper()
            ):
                allowed = ", ".join(child.type_codes)
                self.issues.append(
                    issue(
                        "IP-3023",
                        f"{expr}.{key}",
                        type=name[len(prefix) :],
                        name=child.name,
                        allowed=allowed,
                    )
                )
                return
        self.issues.append(issue("IP-3001", f"{expr}.{key}", name=key, where=defs.path))

    def items(self, child: Node, name: str, value: Any, extra: Any, expr: str) -> list[Item]:
        shape_ok = True
        for part in (value, extra):
            if part is None:
                continue
            if child.array != isinstance(part, list):
                expected = "an array" if child.array else "a single value, not an array"
                self.issues.append(
                    issue("IP-3004", expr, name=name, expected=expected, found=_json_name(part))
                )
                shape_ok = False
            elif isinstance(part, list) and not part:
                self.issues.append(issue("IP-3006", expr, name=name))
        if not shape_ok:
            return []
        if not child.array:
            return [(value, extra, expr)]
        values, extras = value or [], extra or []
        return [
            (
                values[i] if i < len(values) else None,
                extras[i] if i < len(extras) else None,
                f"{expr}[{i}]",
            )
            for i in range(max(len(values), len(extras)))
        ]

    def cardinality(self, child: Node, count: int, expr: str) -> None:
        if count == 0 and child.slices:
            for s in child.slices:
                if s.min > 0:
                    self.issues.append(
                        issue(
                            "IP-3014",
                            expr,
                            slice=s.slice_name,
                            name=child.name,
                            min=s.min,
                            max="*" if s.max == -1 else s.max,
                            n=0,
                        )
                    )
        if count < child.min:
            self.issues.append(issue("IP-3002", expr, name=child.name, min=child.min))
        elif child.max != -1 and count > child.max:
            self.issues.append(issue("IP-3003", expr, name=child.name, max=child.max, n=count))

    def children_of(self, child: Node, found: list[tuple[str | None, Item]]) -> None:
        targets = assign_slices(self, child, found) if child.slices else [child] * len(found)
        for (chosen, item), target in zip(found, targets, strict=True):
            if item[1] is None:  # an object (an extension by url, mostly): straight to complex()
                type_code, kind, _plain, _string = target.kinds.get(chosen) or element_kind(
                    self.engine, target, chosen
                )
                if kind == COMPLEX:
                    self.complex(item[0], target, type_code, item[2])  # type: ignore[arg-type]
                    continue
            self.element(target, chosen, item)

    def element(self, node: Node, chosen: str | None, item: Item) -> None:
        value, extra, expr = item
        type_code, kind, _plain, _string = node.kinds.get(chosen) or element_kind(
            self.engine, node, chosen
        )
        if type_code is None:
            return
        if extra is not None:
            self.primitive_extension(extra, node, expr)
        if kind == PRIMITIVE:
            if value is not None or extra is None:
                self.primitive(node, type_code, value, expr)
        elif kind == RESOURCE:
            if value is not None:
                self.nested_resource(value, expr, bundle_entry=node.path == "Bundle.entry.resource")
        else:
            self.complex(value, node, type_code, expr)

    def primitive(self, node: Node, type_code: str, value: Any, expr: str) -> None:
        problem = primitives.PRIMITIVES[type_code](value)
        if problem is not None:
            if type_code == "boolean":
                self.issues.append(issue("IP-3007", expr, name=node.name, value=value))
            elif value == "" or value is None:
                self.issues.append(issue("IP-3006", expr, name=node.name))
            else:
                self.issues.append(
                    issue("IP-3005", expr, value=value, type=type_code, hint=f": {problem}")
                )
            return
        if type_code == "string" and "<" in value and self.engine.security_checks:
            tag = _HTML_TAG.search(value)
            if tag:
                self.issues.append(issue("IP-3032", expr, tag=tag.group(0)[:40]))
        elif type_code == "xhtml":
            why = self.env.html_problem(value)
            if why:
                self.issues.append(issue("IP-3027", expr, why=why))
        if node.value_rules:
            self.primitive_rules(node, type_code, value, expr)

    def primitive_rules(self, node: Node, type_code: str, value: Any, expr: str) -> None:
        """What a definition adds to a primitive: maxLength, fixed/pattern, binding, range,
        invariants."""
        if node.max_length is not None and isinstance(value, str) and len(value) > node.max_length:
            self.issues.append(issue("IP-3024", expr, max=node.max_length, n=len(value)))
        if node.fixed is not None or node.pattern is not None:
            self.issues.extend(checks.check_fixed(node, value, expr))
        if node.binding is not None:
            self.issues.extend(checks.check_binding(self, node, type_code, value, expr))
        if node.min_value is not None or node.max_value is not None:
            self.issues.extend(checks.check_range(node, type_code, value, expr))
        if node.constraints:  # a profile's invariant on a primitive (``value[x]`` of a code)
            invariants = self.engine.invariant_plan(node, None, type_code)
            if invariants is not None:
                self.invariants(value, invariants, _NO_GROUPS, expr)

    def primitive_extension(self, extra: Any, node: Node, expr: str) -> None:
        """``_name``: id and extensions of a primitive (slices come from the profile, if any)."""
        defs = node if node.children is not None else self.engine.root_of_type("Element")
        if not isinstance(extra, dict) or not extra:
            self.issues.append(issue("IP-3006", expr, name="_" + node.name))
        elif defs is not None:
            self.properties(extra, defs, expr)

    def value_checks(self, value: dict[str, Any], node: Node, type_code: str, expr: str) -> None:
        if node.value_rules:  # (all that follows but the checks of the type itself)
            if node.min_value is not None or node.max_value is not None:
                self.issues.extend(checks.check_range(node, type_code, value, expr))
            if node.fixed is not None or node.pattern is not None:
                self.issues.extend(checks.check_fixed(node, value, expr))
            if node.binding is not None:
                self.issues.extend(checks.check_binding(self, node, type_code, value, expr))
        if type_code == "Coding":
            self.issues.extend(checks.check_code_system(self, value, expr))
        elif type_code == "Identifier":
            found = checks.check_identifier(value, expr)
            self.issues.extend(found if self.ip_profile else [_as_warning(i) for i in found])
        elif type_code == "Reference":
            self.issues.extend(checks.check_reference(self, node, value, expr))
        elif type_code == "Extension":
            self.extension_rule(value, expr)

    def extension_rule(self, value: dict[str, Any], expr: str) -> None:
        """ext-1: an extension has either nested extensions or a value, not both (nor neither)."""
        has_value = False
        for key in value:
            if key.startswith("value"):
                has_value = True
                break
        if has_value == bool(value.get("extension")):
            human = "Must have either extensions or value[x], not both"
            self.issues.append(issue("IP-3012", expr, key="ext-1", human=human))

    def invariants(
        self, value: Any, plan: InvariantPlan, groups: Mapping[Node, object], expr: str
    ) -> None:
        """Check the invariants of ``plan`` on ``value`` (the engine's :meth:`invariant_holds`,
        with what it decides without looking at ``value`` decided once in the plan); ``groups``:
        the elements found in ``value`` (:meth:`properties`), for the names present."""
        engine, env = self.engine, self.env
        is_object = isinstance(value, dict)
        present: Present | None = None  # worked out when an invariant first asks
        for constraint, base, constant, guarded in (
            plan[0] if is_object and "contained" in value else plan[1]
        ):
            if guarded:
                if present is None:
                    present = Present(groups, value if is_object else {})
                ok = engine.invariant_holds(constraint, value, base, present, env)
            elif constant is not VARIES and is_object:
                if present is None:
                    present = Present(groups, value)
                if constraint.names.isdisjoint(present.names()):
                    ok = constant
                else:
                    ok = engine.run_invariant(constraint, value, base, env)
            else:
                ok = engine.run_invariant(constraint, value, base, env)
            if ok:
                continue
            if ok is None:
                self.issues.append(
                    issue("IP-3013", expr, key=constraint.key, why="evaluation error")
                )
            elif not ok:
                severity: Severity = "warning" if constraint.severity == "warning" else "error"
                self.issues.append(
                    issue("IP-3012", expr, severity, key=constraint.key, human=constraint.human)
                )
