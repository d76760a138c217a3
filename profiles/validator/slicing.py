"""Slicing: assign each item of a sliced element to a slice by its discriminators, then check
slice cardinality and closed slicing. Supported discriminators: value, pattern, exists, type,
profile; paths are dotted element names, ``$this``, and ``extension('url')``."""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from ipfhir.profiles.validator.checks import pattern_matches
from ipfhir.profiles.validator.messages import issue
from ipfhir.profiles.validator.model import Discriminator, Node
from ipfhir.profiles.validator.protocols import Item, WalkerRole

__all__ = ["assign_slices"]

_UNKNOWN = object()


@lru_cache(maxsize=1024)  # discriminator paths come from profiles: few, and reused
def _segments(path: str) -> tuple[str, ...]:
    parts, depth, current = [], 0, ""
    for ch in path:
        depth += ch == "("
        depth -= ch == ")"
        if ch == "." and depth == 0:
            parts.append(current)
            current = ""
        else:
            current += ch
    return (*parts, current) if current else tuple(parts)


def _navigate(value: Any, path: str) -> list[Any] | None:
    """The values at ``path`` inside ``value``; ``None`` when the path is not supported."""
    found = [value]
    for seg in _segments(path):
        if seg == "$this":
            continue
        if seg.startswith("extension(") and seg.endswith(")"):
            url = seg[len("extension(") : -1].strip("'\"")
            found = [
                e
                for v in found
                if isinstance(v, dict)
                for e in v.get("extension", [])
                if isinstance(e, dict) and e.get("url") == url
            ]
            continue
        if "(" in seg:
            return None
        nxt: list[Any] = []
        for v in found:
            if isinstance(v, dict):
                hits = [
                    v[k]
                    for k in v
                    if k == seg or (k.startswith(seg) and k[len(seg) : len(seg) + 1].isupper())
                ]
                for hit in hits:
                    nxt.extend(hit if isinstance(hit, list) else [hit])
        found = nxt
    return found


def _expected(walker: WalkerRole, slice_node: Node, path: str) -> tuple[Any, bool] | None:
    """The fixed (exact) or pattern value the slice sets at ``path``: (value, is_pattern)."""
    node: Node | None = slice_node
    rest = [s for s in _segments(path) if s != "$this"]
    while node is not None:
        if node.fixed is not None or node.pattern is not None:
            base = node.fixed if node.fixed is not None else node.pattern
            values = _navigate(base, ".".join(rest)) if rest else [base]
            if values:
                return values[0], node.fixed is None
        if not rest:
            return None
        seg = rest.pop(0)
        child = node.children.get(seg) if node.children else None
        if child is None and seg == "url":
            profiles = [p for t in node.types if t.code == "Extension" for p in t.profiles]
            return (profiles[0], False) if profiles else None
        if child is None and node.children is None:
            profiles = [p for t in node.types for p in t.profiles]
            child_root = walker.engine.compiled(profiles[0]) if profiles else None
            child = child_root.children.get(seg) if child_root and child_root.children else None
        node = child
    return None


def _bound_match(walker: WalkerRole, slice_node: Node, path: str, actual: list[Any]) -> bool:
    """A value discriminator on a bound element: the value set decides (offline). Volven value
    sets unknown offline are named after their code system (``urn:oid:...``): match on system."""
    node: Node | None = slice_node
    for seg in (s for s in _segments(path) if s != "$this"):
        node = (node.children or {}).get(seg) if node else None
    if node is None or node.binding is None:
        return True
    vs = node.binding[1]
    for value in actual:
        codings = value.get("coding", [value]) if isinstance(value, dict) else [value]
        for c in codings:
            system, code = (c.get("system"), c.get("code")) if isinstance(c, dict) else (None, c)
            if not isinstance(code, str):
                continue
            answer = walker.terminology.contains(vs, system, code)
            if answer or (answer is None and system == vs.split("|", 1)[0]):
                return True
    return False


def _values_at(seen: dict[str, list[Any] | None], value: Any, path: str) -> list[Any] | None:
    """``_navigate(value, path)``, remembered in ``seen`` (one item's, while slices are tried)."""
    if path not in seen:
        seen[path] = _navigate(value, path)
    return seen[path]


def _matches_one(
    walker: WalkerRole,
    owner: Node,
    slice_node: Node,
    d: Discriminator,
    value: Any,
    seen: dict[str, list[Any] | None],
) -> bool:
    """Whether ``value`` fits ``slice_node`` by discriminator ``d``; ``seen``: the values at
    each discriminator path inside ``value``, read once for all the slices tried."""
    if d.kind in ("value", "pattern"):
        expected = _expected_at(walker, slice_node, d.path)
        actual = _values_at(seen, value, d.path)
        if expected is None and actual is not None:
            return _bound_match(walker, slice_node, d.path, actual)
        if expected is None or actual is None:
            return True  # nothing to tell slices apart by: let the slice's own rules decide
        want, is_pattern = expected
        if is_pattern or isinstance(want, dict):
            for a in actual:  # noqa: SIM110 - a loop: no generator per item and slice
                if pattern_matches(a, want):
                    return True
            return False
        for a in actual:  # noqa: SIM110 - (as above)
            if a == want:
                return True
        return False
    if d.kind == "exists":
        child = (slice_node.children or {}).get(d.path)
        actual = _values_at(seen, value, d.path) or []
        if child is None:
            return True
        return bool(actual) if child.min > 0 else not actual if child.max == 0 else True
    if d.kind == "type":
        rtype = value.get("resourceType") if isinstance(value, dict) else None
        return rtype is None or rtype in slice_node.type_codes
    if d.kind == "profile":
        profiles = [p for t in slice_node.types for p in (t.profiles or t.targets)]
        return (
            all(walker.engine.conforms(value, p) for p in profiles)
            if isinstance(value, dict)
            else False
        )
    return True


def _expected_at(walker: WalkerRole, slice_node: Node, path: str) -> tuple[Any, bool] | None:
    key = "expected " + path
    expected = slice_node.memo.get(key, _UNKNOWN)
    if expected is _UNKNOWN:  # what the slice sets there never changes once compiled
        expected = slice_node.memo[key] = _expected(walker, slice_node, path)
    return expected  # type: ignore[no-any-return]


def _string_index(walker: WalkerRole, owner: Node) -> dict[str, int] | None:
    """The common slicing (extensions by ``url``): one value discriminator at which every slice
    fixes a string. Then a slice matches exactly when one of the item's values there is its
    string, and the index (string -> position of the first slice fixing it) finds the slice
    :func:`_matches_one` would find trying each in turn. None for any other slicing."""
    found = owner.memo.get("string index", _UNKNOWN)
    if found is _UNKNOWN:
        found = None
        if (
            owner.slices
            and len(owner.discriminators) == 1
            and owner.discriminators[0].kind in ("value", "pattern")
        ):
            path = owner.discriminators[0].path
            index: dict[str, int] = {}
            for position, s in enumerate(owner.slices):
                expected = _expected_at(walker, s, path)
                if expected is None or expected[1] or not isinstance(expected[0], str):
                    break
                index.setdefault(expected[0], position)
            else:
                found = index
        owner.memo["string index"] = found
    return found  # type: ignore[no-any-return]


def _one_url(value: dict[str, Any]) -> bool:
    """Whether ``url`` is the only key :func:`_navigate` reads for path ``url`` (none such as
    ``urlX``)."""
    for key in value:  # noqa: SIM110 - a loop: no generator for every extension
        if key.startswith("url") and key[3:4].isupper():
            return False
    return True


def _first_slice(
    walker: WalkerRole, owner: Node, value: Any, index: dict[str, int] | None
) -> Node | None:
    """The first slice of ``owner`` that ``value`` matches, if any."""
    if index is not None:
        path = owner.discriminators[0].path
        if path == "url" and isinstance(value, dict):  # an extension: its one url (_navigate's)
            url = value.get("url")
            if type(url) is str and _one_url(value):
                position = index.get(url)
                return None if position is None else owner.slices[position]
        actual = _navigate(value, path)
        if actual is None:  # nothing to tell slices apart by: the first one
            return owner.slices[0]
        positions = [index[a] for a in actual if isinstance(a, str) and a in index]
        return owner.slices[min(positions)] if positions else None
    seen: dict[str, list[Any] | None] = {}
    for s in owner.slices:  # the first slice every discriminator lets the value into
        for d in owner.discriminators:
            if not _matches_one(walker, owner, s, d, value, seen):
                break
        else:
            return s
    return None


def assign_slices(
    walker: WalkerRole, owner: Node, found: list[tuple[str | None, Item]]
) -> list[Node]:
    """The node each item is validated against (its slice, or ``owner`` when it fits none)."""
    targets: list[Node] = []
    counts: dict[Node, int] = {}  # slice -> items in it (nodes hash by identity)
    slices = owner.slices
    index = _string_index(walker, owner)
    by_url = index is not None and owner.discriminators[0].path == "url"
    for _, (value, _extra, expr) in found:
        hit: Node | None
        url = value.get("url") if by_url and type(value) is dict else None
        if type(url) is str and _one_url(value):  # an extension: _first_slice's first case
            position = index.get(url)  # type: ignore[union-attr]
            hit = None if position is None else slices[position]
        else:
            hit = _first_slice(walker, owner, value, index)
        if hit is None:
            if owner.rules == "closed":
                walker.issues.append(issue("IP-3015", expr, name=owner.name))
            targets.append(owner)
            continue
        counts[hit] = counts.get(hit, 0) + 1
        targets.append(hit)
    for s in slices:
        n = counts.get(s, 0)
        if n < s.min or (s.max != -1 and n > s.max):
            shown_max = "*" if s.max == -1 else s.max
            base_expr = found[0][1][2].rsplit("[", 1)[0] if found else owner.path
            walker.issues.append(
                issue(
                    "IP-3014",
                    base_expr,
                    slice=s.slice_name,
                    name=owner.name,
                    min=s.min,
                    max=shown_max,
                    n=n,
                )
            )
    return targets
