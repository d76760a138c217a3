"""Generate the derived fixtures from the hand-written plans in ``fixtures/plans/``.

    .venv/bin/python tools/gen_fixtures.py          # write fixtures/invalid/ and fixtures/bundles/
    .venv/bin/python tools/gen_fixtures.py --check  # exit 1 if a generated file is out of date

Invalid variants: ``fixtures/invalid/variants.json`` lists, for each variant, the valid plan it
starts from, a JSON Patch (RFC 6902: add / remove / replace; JSON Pointer paths) that breaks one
rule, and the issue :func:`mappings.rules.load_plan` must report (``expect``; consequential issues
the same edit necessarily causes are listed under ``also``; a rule that depends on the day is
checked on the variant's ``on``, never on today). The generator applies the patch,
checks that ``load_plan`` reports exactly those issues, and writes ``<name>.plan.json`` and
``<name>.expect.json``. A variant that no longer breaks what it says stops the generator.

Bundles: every valid plan is also written as ``fixtures/bundles/<name>.bundle.json`` and
``.bundle.xml``.
"""

from __future__ import annotations

import argparse
import copy
import datetime as dt
import json
import sys
from pathlib import Path
from typing import Any

from ipfhir.mappings.assignment_fhir import assignment_to_bundle
from ipfhir.mappings.assignment_rules import load_assignment
from ipfhir.mappings.errors import PlanRuleViolation
from ipfhir.mappings.fhirxml import to_xml
from ipfhir.mappings.rules import load_plan
from ipfhir.mappings.to_fhir import plan_to_bundle

__all__ = [
    "apply_patch",
    "assignment_bundle_files",
    "assignment_issues",
    "bundle_files",
    "invalid_files",
    "main",
    "plan_issues",
]

ROOT = Path(__file__).resolve().parent.parent
PLANS = ROOT / "fixtures" / "plans"
INVALID = ROOT / "fixtures" / "invalid"
BUNDLES = ROOT / "fixtures" / "bundles"
ASSIGNMENTS = ROOT / "fixtures" / "assignments"


def _dump(data: Any) -> str:
    return json.dumps(data, ensure_ascii=False, indent=2) + "\n"


def _pointer(path: str) -> list[str]:
    if not path.startswith("/"):
        raise ValueError(f"not a JSON Pointer: {path!r}")
    return [p.replace("~1", "/").replace("~0", "~") for p in path[1:].split("/")]


def _step(container: Any, token: str) -> Any:
    return container[int(token)] if isinstance(container, list) else container[token]


def _apply_op(doc: Any, op: dict[str, Any]) -> None:
    *parents, last = _pointer(op["path"])
    target = doc
    for token in parents:
        target = _step(target, token)
    kind = op["op"]
    if isinstance(target, list):
        index = len(target) if last == "-" else int(last)
        if kind == "add":
            target.insert(index, op["value"])
        elif kind == "replace":
            target[index] = op["value"]
        elif kind == "remove":
            del target[index]
        else:
            raise ValueError(f"unsupported op {kind!r}")
    elif kind in ("add", "replace"):
        if kind == "replace" and last not in target:
            raise KeyError(f"replace of a missing member: {op['path']}")
        target[last] = op["value"]
    elif kind == "remove":
        del target[last]
    else:
        raise ValueError(f"unsupported op {kind!r}")


def apply_patch(doc: Any, patch: list[dict[str, Any]]) -> Any:
    """A patched deep copy of ``doc`` (RFC 6902 add/remove/replace)."""
    out = copy.deepcopy(doc)
    for op in patch:
        _apply_op(out, op)
    return out


def plan_issues(data: Any, on: str | None = None) -> list[dict[str, str]]:
    """The issues ``load_plan`` reports (checked on the day ``on``, if given), as
    ``{"message_id", "path"}`` (sorted)."""
    try:
        load_plan(data, on=dt.date.fromisoformat(on) if on else None)
    except PlanRuleViolation as err:
        found = [
            {"message_id": i.message_id, "path": i.expression[0] if i.expression else ""}
            for i in err.issues
        ]
        return sorted(found, key=lambda d: (d["message_id"], d["path"]))
    return []


def assignment_issues(data: Any, on: str | None = None) -> list[dict[str, str]]:
    """The issues ``load_assignment`` reports, as :func:`plan_issues` does for plans."""
    try:
        load_assignment(data, on=dt.date.fromisoformat(on) if on else None)
    except PlanRuleViolation as err:
        found = [
            {"message_id": i.message_id, "path": i.expression[0] if i.expression else ""}
            for i in err.issues
        ]
        return sorted(found, key=lambda d: (d["message_id"], d["path"]))
    return []


def valid_assignments() -> dict[str, Any]:
    return {
        p.name.removesuffix(".assignment.json"): json.loads(p.read_text(encoding="utf-8"))
        for p in sorted(ASSIGNMENTS.glob("*.assignment.json"))
    }


def valid_plans() -> dict[str, Any]:
    return {
        p.name.removesuffix(".plan.json"): json.loads(p.read_text(encoding="utf-8"))
        for p in sorted(PLANS.glob("*.plan.json"))
    }


def invalid_files() -> dict[Path, str]:
    """Every generated invalid fixture: path → content. Raises if a variant is wrong."""
    plans = valid_plans()
    variants = json.loads((INVALID / "variants.json").read_text(encoding="utf-8"))
    files: dict[Path, str] = {}
    for v in variants:
        data = apply_patch(plans[v["base"]], v["patch"])
        expected = [v["expect"], *v.get("also", [])]
        found = plan_issues(data, v.get("on"))
        if found != sorted(expected, key=lambda d: (d["message_id"], d["path"])):
            raise AssertionError(f"{v['name']}: expected {expected}, load_plan reports {found}")
        expect = {**v["expect"], "base": v["base"], "why": v["why"]}
        if v.get("on"):
            expect["on"] = v["on"]  # the day the rule is checked on (the caller's clock)
        if v.get("also"):
            expect["also"] = v["also"]
        files[INVALID / f"{v['name']}.plan.json"] = _dump(data)
        files[INVALID / f"{v['name']}.expect.json"] = _dump(expect)
    files.update(_invalid_assignments())
    return files


def _invalid_assignments() -> dict[Path, str]:
    """``invalid/assignment-variants.json``: the same, from ``assignments/``, written as
    ``<name>.assignment.json`` + ``<name>.expect.json``."""
    bases = valid_assignments()
    variants = json.loads((INVALID / "assignment-variants.json").read_text(encoding="utf-8"))
    files: dict[Path, str] = {}
    for v in variants:
        data = apply_patch(bases[v["base"]], v["patch"])
        expected = [v["expect"], *v.get("also", [])]
        found = assignment_issues(data, v.get("on"))
        if found != sorted(expected, key=lambda d: (d["message_id"], d["path"])):
            raise AssertionError(f"{v['name']}: expected {expected}, load_assignment: {found}")
        expect = {**v["expect"], "base": v["base"], "why": v["why"]}
        if v.get("on"):
            expect["on"] = v["on"]
        if v.get("also"):
            expect["also"] = v["also"]
        files[INVALID / f"{v['name']}.assignment.json"] = _dump(data)
        files[INVALID / f"{v['name']}.expect.json"] = _dump(expect)
    return files


def assignment_bundle_files() -> dict[Path, str]:
    """FHIR Bundles (JSON and XML) of every coordinator assignment on its own, beside it."""
    files: dict[Path, str] = {}
    for name, data in valid_assignments().items():
        bundle = assignment_to_bundle(load_assignment(data))
        files[ASSIGNMENTS / f"{name}.bundle.json"] = _dump(bundle)
        xml = to_xml(bundle, pretty=True)
        files[ASSIGNMENTS / f"{name}.bundle.xml"] = xml if xml.endswith("\n") else xml + "\n"
    return files


def bundle_files() -> dict[Path, str]:
    """FHIR Bundles (JSON and XML) of every valid plan."""
    files: dict[Path, str] = {}
    for name, data in valid_plans().items():
        bundle = plan_to_bundle(load_plan(data))
        files[BUNDLES / f"{name}.bundle.json"] = _dump(bundle)
        xml = to_xml(bundle, pretty=True)
        files[BUNDLES / f"{name}.bundle.xml"] = xml if xml.endswith("\n") else xml + "\n"
    return files


def _stale(files: dict[Path, str], folder: Path, patterns: tuple[str, ...]) -> list[Path]:
    existing = {p for pattern in patterns for p in folder.glob(pattern)}
    changed = [p for p, text in files.items() if not p.exists() or p.read_text("utf-8") != text]
    return sorted(changed + [p for p in existing if p not in files])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Generate fixtures/invalid and fixtures/bundles.")
    parser.add_argument("--check", action="store_true", help="only report out-of-date files")
    parser.add_argument("--no-bundles", action="store_true", help="skip fixtures/bundles")
    args = parser.parse_args(argv)
    try:
        targets = [
            (invalid_files(), INVALID, ("*.plan.json", "*.assignment.json", "*.expect.json"))
        ]
    except (AssertionError, KeyError, IndexError, ValueError) as err:
        print(f"gen_fixtures: {err}", file=sys.stderr)
        return 2
    if not args.no_bundles:
        targets.append((bundle_files(), BUNDLES, ("*.bundle.json", "*.bundle.xml")))
        targets.append((assignment_bundle_files(), ASSIGNMENTS, ("*.bundle.json", "*.bundle.xml")))
    stale = [p for files, folder, patterns in targets for p in _stale(files, folder, patterns)]
    if args.check:
        for path in stale:
            print(f"out of date: {path.relative_to(ROOT)}")
        return 1 if stale else 0
    for files, folder, patterns in targets:
        for path in _stale(files, folder, patterns):
            if path in files:
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_text(files[path], encoding="utf-8")
            else:
                path.unlink()
    print(f"gen_fixtures: {len(stale)} file(s) written or removed")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
