"""Search criteria judged on what the caller may see (pure).

The store evaluates criteria on the resources as stored; a caller that gets a redacted copy
must get exactly the matches a store holding only that copy would give, or the criteria become
an oracle for the hidden elements (``CarePlan?goal=Goal/<hidden>``). So:

- :func:`coarse` keeps for the store only the criteria that can never drop a resource whose
  disclosed copy matches (positive criteria: a redacted copy has fewer values, never others);
  ``:not`` and ``:missing=true`` are judged here only;
- :func:`matches` judges every criterion on the disclosed copy, a chain on the disclosed copies
  of the resources it reaches (``resolve`` gives what the caller may see of one, or None).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from ipfhir.adapter.fhir.dates import date_range
from ipfhir.adapter.fhir.references import split_reference
from ipfhir.adapter.fhir.search_params import (
    ParamDef,
    extract_dates,
    extract_references,
    extract_tokens,
    param_def,
)
from ipfhir.adapter.ports import SearchParam

__all__ = ["Resolve", "coarse", "matches", "negative", "targets_of"]

Resource = dict[str, Any]
Resolve = Callable[[str, str], Resource | None]
_PREFIXES = ("eq", "ne", "gt", "lt", "ge", "le", "sa", "eb")


def negative(p: SearchParam) -> bool:
    """A criterion a missing value can satisfy: a redacted copy may match it, the stored not."""
    return p.modifier == "not" or (p.modifier == "missing" and p.values[-1] == "true")


def coarse(params: Iterable[SearchParam]) -> tuple[SearchParam, ...]:
    return tuple(p for p in params if not negative(p))


def matches(
    rtype: str, resource: Resource, params: Iterable[SearchParam], resolve: Resolve
) -> bool:
    return all(_one(rtype, resource, p, resolve) for p in params)


def _one(rtype: str, res: Resource, p: SearchParam, resolve: Resolve) -> bool:
    if p.name == "_id":
        return str(res.get("id")) in p.values
    d = param_def(rtype, p.name)
    if d is None:
        return False
    if p.name == "_lastUpdated":
        stamp = str((res.get("meta") or {}).get("lastUpdated", ""))
        ranges = [date_range(stamp)] if stamp else []
        return any(_date_hit(r, v) for r in ranges for v in p.values)
    if p.modifier == "missing":
        return _present(res, d) != (p.values[-1] == "true")
    if p.chain:
        return _chained(rtype, res, d, p, resolve)
    hit = _hit(res, d, p.values, None if p.modifier == "not" else p.modifier)
    return not hit if p.modifier == "not" else hit


def _present(res: Resource, d: ParamDef) -> bool:
    if d.kind == "token":
        return any(True for _ in extract_tokens(res, d))
    if d.kind == "reference":
        return any(True for _ in extract_references(res, d))
    return any(True for _ in extract_dates(res, d))


def _hit(res: Resource, d: ParamDef, values: tuple[str, ...], modifier: str | None) -> bool:
    if d.kind == "token":
        found = set(extract_tokens(res, d))
        return any(_token_hit(found, v) for v in values)
    if d.kind == "date":
        ranges = list(extract_dates(res, d))
        return any(_date_hit(r, v) for r in ranges for v in values)
    refs = {(t, i[:64]) for t, i in extract_references(res, d)}
    return any(_ref_hit(refs, d, v, modifier) for v in values)


def _token_hit(found: set[tuple[str | None, str]], value: str) -> bool:
    if "|" not in value:
        return any(code[:255] == value for _s, code in found)
    system, code = value.split("|", 1)
    want_system = None if system == "" else system
    return any(s == want_system and (not code or c[:255] == code) for s, c in found)


def _date_hit(found: tuple[str, str], value: str) -> bool:
    prefix, raw = "eq", value
    if value[:2] in _PREFIXES:
        prefix, raw = value[:2], value[2:]
    low, high = date_range(raw)  # the store refused a bad value before this runs
    lo, hi = found
    return {
        "eq": lo >= low and hi <= high,
        "ne": lo < low or hi > high,
        "gt": hi > high,
        "lt": lo < low,
        "ge": hi >= low,
        "le": lo <= high,
        "sa": lo > high,
        "eb": hi < low,
    }[prefix]


def _ref_target(value: str, d: ParamDef, modifier: str | None) -> tuple[str | None, str]:
    rtype, rid = split_reference(value)
    if modifier and modifier[0].isupper():
        rtype = modifier
    if rtype is None and len(d.targets) == 1:
        rtype = d.targets[0]
    return rtype, rid


def _ref_hit(refs: set[tuple[str, str]], d: ParamDef, value: str, modifier: str | None) -> bool:
    ttype, tid = _ref_target(value, d, modifier)
    return any(i == tid and (ttype is None or t == ttype) for t, i in refs)


def targets_of(rtype: str, res: Resource, p: SearchParam) -> list[tuple[str, str]]:
    """What a chained criterion ``p`` reaches from ``res`` (type, id)."""
    d = param_def(rtype, p.name)
    if d is None or not p.chain:
        return []
    wanted = (p.modifier,) if p.modifier else d.targets
    return [(t, i) for t, i in extract_references(res, d) if t in wanted]


def _chained(rtype: str, res: Resource, d: ParamDef, p: SearchParam, resolve: Resolve) -> bool:
    target_type = p.modifier or d.targets[0]
    inner = param_def(target_type, str(p.chain))
    if inner is None:
        return False
    hop = SearchParam(inner.name, p.values)
    for t, i in targets_of(rtype, res, p):
        seen = resolve(t, i)
        if seen is not None and _one(target_type, seen, hop, resolve):
            return True
    return False
