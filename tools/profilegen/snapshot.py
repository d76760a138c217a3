"""Generate a StructureDefinition snapshot from its differential and its base definition.

The R4 rules the generator follows (and the shape of the no-basis 2.2.0 snapshots):

- every element of the base snapshot is kept, in order; the differential is merged into the
  element with the same id (``min``/``max``/``fixed*``/``pattern*``/``binding``/``type``/...;
  ``constraint`` entries are *added*, with ``source`` = the profile);
- a differential id that goes below what the base lists (``CarePlan.category.coding``) unfolds
  the parent's type from its StructureDefinition (``Coding``, or the type's profile), or, for a
  ``contentReference`` (``Consent.provision.provision``), the referenced element's children;
- a slice (``CarePlan.extension:evaluationDate``) is a copy of the sliced element as the base
  defines it, without ``slicing``, with ``sliceName``; its children are copies of the sliced
  element's children (ids ``Path:slice.child``); it goes after the sliced element's children and
  earlier slices;
- every ``extension`` element (and the root ``modifierExtension``) carries the standard slicing
  on ``url``, as the IG publisher writes it.

A profile may only narrow its base: a wider cardinality or a type the base does not allow is an
error (:class:`SnapshotError`), so a typo in a differential cannot produce a silent snapshot.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

__all__ = ["CORE", "SnapshotError", "generate_snapshot", "path_of"]

CORE = "http://hl7.org/fhir/StructureDefinition/"
Element = dict[str, Any]
Loader = Callable[[str], dict[str, Any]]
EXTENSION_SLICING: Element = {
    "discriminator": [{"type": "value", "path": "url"}],
    "description": "Extensions are always sliced by (at least) url",
    "rules": "open",
}


class SnapshotError(ValueError):
    """The differential cannot be applied to the base (unknown element, widening, bad type)."""


def path_of(element_id: str) -> str:
    """``CarePlan.extension:need.url`` -> ``CarePlan.extension.url``."""
    return ".".join(segment.split(":")[0] for segment in element_id.split("."))


def _max(value: str) -> float:
    return float("inf") if value == "*" else float(value)


def _max_of(element: Element) -> str:
    return str(element.get("max", "*"))


class _Builder:
    """One snapshot under construction: the element list plus the base form of each element."""

    def __init__(self, base: list[Element], load: Loader, source: str) -> None:
        self.elements = copy.deepcopy(base)
        self.pristine = {e["id"]: copy.deepcopy(e) for e in base}
        self.load = load
        self.source = source

    def index(self, element_id: str) -> int | None:
        for i, element in enumerate(self.elements):
            if element["id"] == element_id:
                return i
        return None

    def locate(self, element_id: str) -> Element:
        found = self.index(element_id)
        if found is not None:
            return self.elements[found]
        parent_id, _, last = element_id.rpartition(".")
        if ":" in last:
            return self._add_slice(element_id)
        if not parent_id:
            raise SnapshotError(f"{element_id}: not in the base")
        self._unfold(self.locate(parent_id))
        found = self.index(element_id)
        if found is None:
            raise SnapshotError(f"{element_id}: no such element in the base")
        return self.elements[found]

    def _group_end(self, element_id: str) -> int:
        """Index after the element, its descendants and its slices (with theirs)."""
        start = self.index(element_id)
        assert start is not None
        end = start + 1
        while end < len(self.elements):
            other = self.elements[end]["id"]
            if not other.startswith((element_id + ".", element_id + ":")):
                break
            end += 1
        return end

    def _add_slice(self, element_id: str) -> Element:
        sliced_id, _, name = element_id.rpartition(":")
        sliced = self.locate(sliced_id)
        if "slicing" not in sliced:
            if not sliced["path"].endswith("xtension"):
                raise SnapshotError(f"{element_id}: {sliced_id} is not sliced")
            sliced["slicing"] = copy.deepcopy(EXTENSION_SLICING)
        new = copy.deepcopy(self.pristine.get(sliced_id, sliced))
        new.pop("slicing", None)
        new.update(id=element_id, sliceName=name)
        children = [
            self._rebased(self.pristine[e["id"]], sliced_id, element_id)
            for e in self.elements
            if e["id"].startswith(sliced_id + ".")
            and ":" not in e["id"][len(sliced_id) :]
            and e["id"] in self.pristine
        ]
        self._insert(self._group_end(sliced_id), [new, *children])
        return new

    def _rebased(self, element: Element, old: str, new: str) -> Element:
        out = copy.deepcopy(element)
        out["id"] = new + element["id"][len(old) :]
        out["path"] = path_of(out["id"])
        return out

    def _insert(self, at: int, elements: list[Element]) -> None:
        self.elements[at:at] = elements
        for element in elements:
            self.pristine.setdefault(element["id"], copy.deepcopy(element))

    def _unfold(self, parent: Element) -> None:
        at = self.index(parent["id"])
        assert at is not None
        following = self.elements[at + 1]["id"] if at + 1 < len(self.elements) else ""
        if following.startswith(parent["id"] + "."):
            return  # already has its children: the caller reports the missing one
        reference = parent.pop("contentReference", None)
        if reference is not None:
            target = path_of(reference.lstrip("#"))
            parent["type"] = [{"code": "BackboneElement"}]
            source = [
                self.pristine[e["id"]]
                for e in self.elements
                if e["id"].startswith(target + ".") and ":" not in e["id"]
            ]
            self._insert(at + 1, [self._rebased(e, target, parent["id"]) for e in source])
            return
        types = parent.get("type", [])
        if len(types) != 1:
            raise SnapshotError(f"{parent['id']}: restrict to one type to constrain below it")
        url = (types[0].get("profile") or [CORE + types[0]["code"]])[0]
        type_snapshot = self.load(url)["snapshot"]["element"]
        root = type_snapshot[0]["id"]
        children = [self._rebased(e, root, parent["id"]) for e in type_snapshot[1:]]
        self._insert(at + 1, children)


def _check_narrowing(target: Element, diff: Element) -> None:
    where = diff["id"]
    if "min" in diff and diff["min"] < target.get("min", 0):
        raise SnapshotError(f"{where}: min {diff['min']} is below the base's {target['min']}")
    if "max" in diff and _max(diff["max"]) > _max(_max_of(target)):
        raise SnapshotError(f"{where}: max {diff['max']} is above the base's {_max_of(target)}")
    if "type" in diff:
        allowed = {t["code"] for t in target.get("type", [])}
        wanted = {t["code"] for t in diff["type"]}
        if not wanted <= allowed:
            raise SnapshotError(f"{where}: types {sorted(wanted - allowed)} not in the base")


def _merge(target: Element, diff: Element, source: str) -> None:
    _check_narrowing(target, diff)
    for key, value in diff.items():
        if key in ("id", "path"):
            continue
        if key == "constraint":
            added = [{**c, "source": source} for c in value]
            target["constraint"] = [*target.get("constraint", []), *added]
        elif key == "condition":
            target["condition"] = [*target.get("condition", []), *value]
        else:
            target[key] = copy.deepcopy(value)
    if "min" in target and "max" in target and target["min"] > _max(_max_of(target)):
        raise SnapshotError(f"{diff['id']}: min {target['min']} > max {target['max']}")


def _decorate(elements: list[Element]) -> None:
    root = elements[0]["path"]
    for element in elements:
        path = element["path"]
        if path.endswith(".extension") or path == root + ".modifierExtension":
            element.setdefault("slicing", copy.deepcopy(EXTENSION_SLICING))


def generate_snapshot(
    base: dict[str, Any], differential: list[Element], load: Loader, source: str
) -> list[Element]:
    """The snapshot of a profile: ``differential`` applied to ``base`` (an SD with snapshot)."""
    builder = _Builder(base["snapshot"]["element"], load, source)
    for diff in differential:
        if diff["path"] != path_of(diff["id"]):
            raise SnapshotError(f"{diff['id']}: path {diff['path']} does not match the id")
        _merge(builder.locate(diff["id"]), diff, source)
    _decorate(builder.elements)
    return builder.elements
