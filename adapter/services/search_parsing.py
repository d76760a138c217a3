"""Query-string items → :class:`adapter.ports.SearchQuery`, with unknown parameters set apart.

Shared by the HTTP layer (search, conditional create) and the Bundle processor (``ifNoneExist``).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from urllib.parse import parse_qsl

from ipfhir.adapter.errors import BadRequest, issue
from ipfhir.adapter.ports import SearchParam, SearchQuery
from ipfhir.adapter.services.search_params import param_def

__all__ = ["ParsedSearch", "RESULT_PARAMS", "parse_search", "parse_search_string"]

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
class ParsedSearch:
    query: SearchQuery
    unknown: tuple[str, ...]  # parameter names ignored (reported back as a warning)


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
    if not value.isdigit():
        raise BadRequest(
            [
                issue(
                    "IP-4102",
                    "_count",
                    "value",
                    name="_count",
                    value=value,
                    detail="not a non-negative integer",
                )
            ]
        )
    return min(int(value), maximum) if value else default


def parse_search(
    rtype: str, items: Iterable[tuple[str, str]], *, default_count: int = 20, max_count: int = 500
) -> ParsedSearch:
    params: list[SearchParam] = []
    unknown: list[str] = []
    count, cursor, summary = default_count, None, False
    sort: tuple[str, ...] = ()
    include: list[str] = []
    revinclude: list[str] = []
    for key, value in items:
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
        elif key == "_page_token":
            cursor = value
        elif key in RESULT_PARAMS:
            continue
        else:
            crit = _criterion(rtype, key, value)
            if crit is None:
                unknown.append(key)
            else:
                params.append(crit)
    query = SearchQuery(
        rtype,
        tuple(params),
        max(count, 0) if not summary else 0,
        sort,
        tuple(include),
        tuple(revinclude),
        summary or count == 0,
        cursor,
    )
    return ParsedSearch(query, tuple(unknown))


def parse_search_string(rtype: str, query_string: str) -> ParsedSearch:
    return parse_search(rtype, parse_qsl(query_string, keep_blank_values=True))
