"""Query-string items → :class:`adapter.ports.SearchQuery`, with unknown parameters set apart.

Shared by the HTTP layer (search, conditional create) and the Bundle processor (``ifNoneExist``).
This is the boundary of every search: what passes here reaches SQL, so the cost of a request is
bounded here (:class:`SearchLimits`: criteria per request, values in one OR list and in all;
IP-4120..4122) and values the databases cannot take are refused (NUL characters, numbers that
are not ASCII digits or do not fit, forged paging tokens; IP-4102, IP-4105).
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Iterable
from dataclasses import dataclass
from urllib.parse import parse_qsl

from ipfhir.adapter.errors import BadRequest, issue
from ipfhir.adapter.fhir.search_params import param_def
from ipfhir.adapter.ports import SearchParam, SearchQuery

__all__ = [
    "RESULT_PARAMS",
    "ParsedSearch",
    "SearchLimits",
    "check_page_token",
    "parse_count",
    "parse_search",
    "parse_search_string",
]

# Result/control parameters handled by the server, never treated as criteria.
RESULT_PARAMS = frozenset(
    {
        "_count",
        "_sort",
        "_include",
        "_revinclude",
        "_summary",
        "_format",
        "_pretty",
        "_page_token",
        "_total",
        "_elements",
    }
)
_MODIFIERS = {
    "token": {"not", "missing"},
    "date": {"missing"},
    "reference": {"missing"},
    "string": {"missing", "exact"},
}


@dataclass(frozen=True)
class SearchLimits:
    """What one search may ask of the database (Settings ``search_max_*``). 400 identifier=
    criteria in one GET kept PostgreSQL busy for 81 s; an OR list of 1,000 values is past
    SQLite's expression depth, 65,535 values past PostgreSQL's bind parameters."""

    max_params: int = 30  # criteria (parameters other than _count, _sort, ...) per request
    max_or_values: int = 100  # comma-separated values of one criterion
    max_values: int = 300  # values of all criteria together


_MAX_TOKEN = 2048  # characters of a _page_token (ours are < 200)
_MAX_DIGITS = 18  # a number from a client fits a signed 64-bit integer


@dataclass(frozen=True)
class ParsedSearch:
    query: SearchQuery
    unknown: tuple[str, ...]  # parameter names ignored (reported back as a warning)


def _bad_value(name: str, value: str, detail: str, code: str = "value") -> BadRequest:
    shown = value if len(value) <= 100 else value[:100] + "..."
    return BadRequest([issue("IP-4102", name, code, name=name, value=shown, detail=detail)])


def _no_nul(key: str, value: str) -> None:
    if "\x00" in key or "\x00" in value:
        raise _bad_value(key.replace("\x00", "\\0"), value.replace("\x00", "\\0"), "NUL")


def parse_count(value: str, name: str = "_count") -> int:
    """A non-negative count in ASCII digits (``²`` is a digit to ``str.isdigit``, not to SQL)."""
    if not (value.isascii() and value.isdigit()):
        raise _bad_value(name, value, "not a non-negative integer")
    return int(value) if len(value) <= _MAX_DIGITS else 10**_MAX_DIGITS


def check_page_token(token: str) -> None:
    """Refuse paging tokens no server page ever carried (IP-4105) before a store decodes them:
    over-long, or holding text the databases cannot take (NUL) or numbers that do not fit."""
    bad = BadRequest([issue("IP-4105", "_page_token", "invalid")])
    if len(token) > _MAX_TOKEN or not token.isascii():
        raise bad
    try:
        decoded = json.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
    except (binascii.Error, ValueError):
        return  # not ours: the store refuses it as it always did
    parts = decoded if isinstance(decoded, list) else [decoded]
    for part in parts:
        if not isinstance(part, str):
            continue
        if "\x00" in part or (part.isdigit() and not (part.isascii() and len(part) <= _MAX_DIGITS)):
            raise bad


def _criterion(rtype: str, key: str, value: str) -> SearchParam | None:
    name, _, modifier = key.partition(":")
    name, _, chain = name.partition(".")
    if not chain and "." in modifier:  # patient:Patient.identifier
        modifier, _, chain = modifier.partition(".")
    d = param_def(rtype, name)
    if d is None:
        return None
    typed_ref = d.kind == "reference" and modifier[:1].isupper()
    if modifier and not typed_ref and (modifier not in _MODIFIERS[d.kind] or name[0] == "_"):
        raise BadRequest([issue("IP-4103", key, "not-supported", modifier=modifier, name=name)])
    if chain and d.kind != "reference":
        return None
    values = tuple(v for v in value.split(",") if v) if modifier != "missing" else (value,)
    if not values:
        raise BadRequest(
            [issue("IP-4102", key, "value", name=key, value=value, detail="empty value")]
        )
    return SearchParam(name, values, modifier or None, chain or None)


def _count(value: str, default: int, maximum: int) -> int:
    return min(parse_count(value), maximum) if value else default


def _too_costly(message_id: str, expression: str, **kw: object) -> BadRequest:
    return BadRequest([issue(message_id, expression, "too-costly", **kw)])


def _check_limits(params: list[SearchParam], limits: SearchLimits) -> None:
    if len(params) > limits.max_params:
        # parsing stopped at the first criterion over the limit: the count would mislead
        raise _too_costly("IP-4120", params[limits.max_params].name, limit=limits.max_params)
    total = 0
    for p in params:
        if len(p.values) > limits.max_or_values:
            raise _too_costly(
                "IP-4121", p.name, name=p.name, n=len(p.values), limit=limits.max_or_values
            )
        total += len(p.values)
    if total > limits.max_values:
        raise _too_costly("IP-4122", params[-1].name, n=total, limit=limits.max_values)


def parse_search(
    rtype: str,
    items: Iterable[tuple[str, str]],
    *,
    default_count: int = 20,
    max_count: int = 500,
    limits: SearchLimits = SearchLimits(),  # noqa: B008 - frozen, shared default
) -> ParsedSearch:
    params: list[SearchParam] = []
    unknown: list[str] = []
    count, cursor, summary, total = default_count, None, False, False
    sort: tuple[str, ...] = ()
    include: list[str] = []
    revinclude: list[str] = []
    for key, value in items:
        _no_nul(key, value)
        if key == "_count":
            count = _count(value, default_count, max_count)
        elif key == "_sort":
            sort = tuple(s for s in value.split(",") if s)
        elif key == "_include":
            include.append(value)
        elif key == "_revinclude":
            revinclude.append(value)
        elif key == "_summary":
            summary = value == "count"
        elif key == "_total":
            total = value == "accurate"
        elif key == "_page_token":
            check_page_token(value)
            cursor = value
        elif key in RESULT_PARAMS:
            continue
        else:
            crit = _criterion(rtype, key, value)
            if crit is None:
                unknown.append(key)
            else:
                params.append(crit)
                if len(params) > limits.max_params:
                    break  # refused below; the rest is not even parsed
    _check_limits(params, limits)
    query = SearchQuery(
        rtype,
        tuple(params),
        max(count, 0) if not summary else 0,
        sort,
        tuple(include),
        tuple(revinclude),
        summary or count == 0,
        cursor,
        total_wanted=total,
    )
    return ParsedSearch(query, tuple(unknown))


def parse_search_string(
    rtype: str,
    query_string: str,
    limits: SearchLimits = SearchLimits(),  # noqa: B008 - frozen, shared default
) -> ParsedSearch:
    return parse_search(rtype, parse_qsl(query_string, keep_blank_values=True), limits=limits)
