"""SearchQuery → SQL: criteria as ``res_id IN (index subquery)``, keyset paging cursors.

Paging is keyset paging on (sort key, res_id): a cursor names the last (or first) row seen,
so rows inserted or deleted while a client pages never shift the pages it has not read yet.
Cursors travel as sealed page tokens (:mod:`adapter.store.cursors`): opaque, unforgeable,
valid only for the search (and the caller) they were made for.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, Connection, Select, and_, false, not_, or_, select

from ipfhir.adapter.errors import BadRequest, issue
from ipfhir.adapter.fhir.dates import date_range
from ipfhir.adapter.fhir.references import split_reference
from ipfhir.adapter.fhir.search_params import ParamDef, param_def
from ipfhir.adapter.store.cursors import PageTokens, invalid_token
from ipfhir.adapter.store.driver_sql import (
    Criterion,
    cursor_rows,
    search_count_sql,
    search_page_sql,
)
from ipfhir.adapter.store.schema import idx_date, idx_reference, idx_token, resources

__all__ = [
    "SORT_COLUMNS",
    "Cursor",
    "DriverSearch",
    "criteria",
    "decode_cursor",
    "driver_count",
    "driver_page",
    "driver_search",
    "encode_cursor",
    "keyset",
    "page_select",
]

SORT_COLUMNS = {"_id": "res_id", "_lastUpdated": "last_updated", "date": "sort_date"}
_PREFIXES = ("eq", "ne", "gt", "lt", "ge", "le", "sa", "eb")
Cursor = tuple[str, str, str]  # (direction "n"/"p", sort value, res_id)


def encode_cursor(
    tokens: PageTokens, direction: str, sort_value: str, res_id: str, fingerprint: str
) -> str:
    """An opaque page token (:mod:`adapter.store.cursors`) for the search ``fingerprint``."""
    return tokens.seal([direction, sort_value, res_id], fingerprint)


def decode_cursor(tokens: PageTokens, token: str, fingerprint: str) -> Cursor:
    """The cursor in ``token``; it must have been made for the search with ``fingerprint``."""
    payload = tokens.open(token, fingerprint)
    if len(payload) != 3 or payload[0] not in ("n", "p"):
        raise invalid_token()
    return payload[0], payload[1], payload[2]


def _bad(name: str, value: str, detail: str) -> BadRequest:
    return BadRequest([issue("IP-4102", name, "value", name=name, value=value, detail=detail)])


def _token_clause(value: str) -> ColumnElement[bool]:
    if "|" not in value:
        return idx_token.c.code == value
    system, code = value.split("|", 1)
    parts = []
    parts.append(idx_token.c.system.is_(None) if system == "" else idx_token.c.system == system)
    if code:
        parts.append(idx_token.c.code == code)
    return and_(*parts)


def _date_clause(low_col: Any, high_col: Any, name: str, value: str) -> ColumnElement[bool]:
    prefix, raw = ("eq", value)
    if value[:2] in _PREFIXES and not value[:2].isdigit():
        prefix, raw = value[:2], value[2:]
    try:
        low, high = date_range(raw)
    except ValueError as err:
        raise _bad(name, value, str(err)) from err
    clauses: dict[str, ColumnElement[bool]] = {
        # low <= high in every index row, so ``low_col <= high`` adds no condition: it bounds
        # the range on the start-of-range index from both sides (and the planner's estimate)
        "eq": and_(low_col >= low, low_col <= high, high_col <= high),
        "ne": or_(low_col < low, high_col > high),
        "gt": high_col > high,
        "lt": low_col < low,
        "ge": high_col >= low,
        "le": low_col <= high,
        "sa": low_col > high,
        "eb": high_col < low,
    }
    return clauses[prefix]


def _ref_target(value: str, d: ParamDef, modifier: str | None) -> tuple[str | None, str]:
    rtype, rid = split_reference(value)
    if modifier and modifier[0].isupper():
        rtype = modifier
    if rtype is None and len(d.targets) == 1:
        rtype = d.targets[0]
    return rtype, rid


def _index_subquery(
    rtype: str, d: ParamDef, values: tuple[str, ...], modifier: str | None, chain: str | None
) -> Select[Any]:
    if d.kind == "token":
        t = idx_token
        cond = or_(*(_token_clause(v) for v in values))
    elif d.kind == "date":
        t = idx_date
        cond = or_(*(_date_clause(t.c.low, t.c.high, d.name, v) for v in values))
    else:
        t = idx_reference
        if chain:
            return _chain_subquery(rtype, d, values, modifier, chain)
        alts = []
        for v in values:
            ttype, tid = _ref_target(v, d, modifier)
            c = t.c.target_id == tid
            alts.append(and_(c, t.c.target_type == ttype) if ttype else c)
        cond = or_(*alts)
    return select(t.c.res_id).where(t.c.res_type == rtype, t.c.param == d.name, cond)


def _chain_subquery(
    rtype: str, d: ParamDef, values: tuple[str, ...], modifier: str | None, chain: str
) -> Select[Any]:
    targets = (modifier,) if modifier else d.targets
    if len(targets) != 1:
        raise _bad(d.name, chain, "chaining needs one target type, e.g. patient:Patient.identifier")
    target_def = param_def(targets[0], chain)
    if target_def is None or target_def.kind == "reference" or target_def.name.startswith("_"):
        raise BadRequest(
            [issue("IP-4101", f"{d.name}.{chain}", name=f"{d.name}.{chain}", rtype=targets[0])]
        )
    inner = _index_subquery(targets[0], target_def, values, None, None)
    r = idx_reference
    return select(r.c.res_id).where(
        r.c.res_type == rtype,
        r.c.param == d.name,
        r.c.target_type == targets[0],
        r.c.target_id.in_(inner),
    )


def _special(name: str, values: tuple[str, ...], modifier: str | None) -> ColumnElement[bool]:
    if name == "_id":
        return resources.c.res_id.in_(values)
    col = resources.c.last_updated
    return or_(*(_date_clause(col, col, name, v) for v in values))


def criteria(rtype: str, params: tuple[Any, ...]) -> list[ColumnElement[bool]]:
    """WHERE clauses for ``params`` (``SearchParam`` s already checked against the registry)."""
    out: list[ColumnElement[bool]] = []
    for p in params:
        d = param_def(rtype, p.name)
        if d is None:
            raise BadRequest([issue("IP-4101", p.name, "not-supported", name=p.name, rtype=rtype)])
        if p.name.startswith("_"):
            out.append(_special(p.name, p.values, p.modifier))
            continue
        if p.modifier == "missing":
            present = select(_table(d).c.res_id).where(
                _table(d).c.res_type == rtype, _table(d).c.param == d.name
            )
            want_missing = p.values[-1] == "true"
            out.append(
                not_(resources.c.res_id.in_(present))
                if want_missing
                else resources.c.res_id.in_(present)
            )
            continue
        sub = _index_subquery(
            rtype, d, p.values, None if p.modifier == "not" else p.modifier, p.chain
        )
        out.append(
            not_(resources.c.res_id.in_(sub))
            if p.modifier == "not"
            else resources.c.res_id.in_(sub)
        )
    return out


def _table(d: ParamDef) -> Any:
    return {"token": idx_token, "reference": idx_reference, "date": idx_date}[d.kind]


def keyset(
    sort_col: Any, descending: bool, cursor: Cursor, unique: bool = False
) -> ColumnElement[bool]:
    """Rows after (direction n) or before (direction p) the cursor in the sort order; a
    ``unique`` sort column (the id) needs no tie-break, and a plain range is what an index
    scan can start from."""
    direction, value, rid = cursor
    forward = (direction == "n") != descending
    if unique:
        beyond: ColumnElement[bool] = sort_col > value if forward else sort_col < value
        return beyond
    if forward:
        return or_(sort_col > value, and_(sort_col == value, resources.c.res_id > rid))
    return or_(sort_col < value, and_(sort_col == value, resources.c.res_id < rid))


def _driver(rtype: str, params: tuple[Any, ...]) -> tuple[int, list[ColumnElement[bool]]] | None:
    """The first criterion that can hand out a page in id order from its index: a reference
    with one value and a known target type (``patient=Patient/X``); its position in ``params``
    and the conditions on ``idx_reference`` (one row per resource, parameter and target, so the
    join repeats no resource)."""
    for n, p in enumerate(params):
        if p.name.startswith("_") or p.chain or len(p.values) != 1:
            continue
        if p.modifier and not p.modifier[0].isupper():  # :missing, :not ...
            continue
        d = param_def(rtype, p.name)
        if d is None or d.kind != "reference":
            continue
        ttype, tid = _ref_target(p.values[0], d, p.modifier)
        if ttype is None:
            continue
        r = idx_reference
        return n, [
            r.c.res_type == rtype,
            r.c.param == d.name,
            r.c.target_id == tid,
            r.c.target_type == ttype,
        ]
    return None


def page_select(
    rtype: str,
    params: tuple[Any, ...],
    sort_name: str,
    descending: bool,
    cursor: Cursor | None,
    limit: int,
) -> Select[Any]:
    """The rows (id, sort value, body) of one page, ``limit`` rows from ``cursor`` on.

    Sorted by id with a reference criterion (``Goal?patient=X``, the common search), the page is
    read from ``ix_idx_reference_lookup`` in id order and joined to ``resources`` row by row, so
    it costs the same for a person with ten matches and with a hundred thousand (an explain-plan
    test holds both databases to it). Otherwise every criterion is an ``IN`` over its index."""
    col = resources.c[SORT_COLUMNS[sort_name]]
    drive = _driver(rtype, params) if sort_name == "_id" else None
    rest = params if drive is None else params[: drive[0]] + params[drive[0] + 1 :]
    where = [resources.c.res_type == rtype, resources.c.deleted == false(), *criteria(rtype, rest)]
    stmt = select(resources.c.res_id, col, resources.c.body)
    key = col
    if drive is not None:
        r = idx_reference
        on = and_(resources.c.res_type == r.c.res_type, resources.c.res_id == r.c.res_id)
        stmt = stmt.select_from(r.join(resources, on))
        where += drive[1]
        key = r.c.res_id
    if cursor is not None:
        where.append(keyset(key, descending, cursor, unique=sort_name == "_id"))
    backwards = cursor is not None and cursor[0] == "p"
    ascending = descending == backwards
    order = [key] if sort_name == "_id" else [key, resources.c.res_id]
    return (
        stmt.where(*where)
        .order_by(*(c.asc() if ascending else c.desc() for c in order))
        .limit(limit)
    )


@dataclass(frozen=True)
class DriverSearch:
    """A search the store answers with plain driver SQL (:func:`driver_search`): the shapes of
    its criteria (the key of the cached text, :func:`adapter.store.driver_sql.search_page_sql`),
    the criterion a page sorted by id is read from (:func:`_driver`'s choice) and the values."""

    criteria: tuple[Criterion, ...]
    driver: int | None
    values: dict[str, Any]


def _token_modes(k: int, values: tuple[str, ...], bound: dict[str, Any]) -> Criterion:
    """:func:`_token_clause` of each value as a shape; binds the system and code it compares."""
    modes = []
    for j, value in enumerate(values):
        if "|" not in value:
            modes.append(("", True))
            bound[f"c{k}_{j}"] = value
            continue
        system, code = value.split("|", 1)
        modes.append(("null" if system == "" else "eq", bool(code)))
        if system:
            bound[f"s{k}_{j}"] = system
        if code:
            bound[f"c{k}_{j}"] = code
    return ("token", tuple(modes))


def driver_search(rtype: str, params: tuple[Any, ...]) -> DriverSearch | None:
    """The search as plain driver SQL when every criterion has a common shape: ``_id`` (any
    number of ids), a token without modifier (any number of values), a reference with one
    value and a known target type (``patient=Patient/X``, ``patient:Patient=X``). None for any
    other search (modifiers, chains, dates, ``_lastUpdated``, unknown parameters): the
    SQLAlchemy path answers it, errors included. Same matches as :func:`criteria`."""
    shapes: list[Criterion] = []
    bound: dict[str, Any] = {"t": rtype}
    for k, p in enumerate(params):
        d = param_def(rtype, p.name)
        if d is None or p.chain or not p.values:
            return None
        if p.name == "_id" and not p.modifier:
            shapes.append(("id", len(p.values)))
            bound.update((f"i{k}_{j}", v) for j, v in enumerate(p.values))
        elif p.name.startswith("_"):
            return None
        elif d.kind == "token" and not p.modifier:
            shapes.append(_token_modes(k, p.values, bound))
            bound[f"p{k}"] = d.name
        elif d.kind == "reference" and len(p.values) == 1:
            if p.modifier and not p.modifier[0].isupper():  # :missing, :not ...
                return None
            ttype, tid = _ref_target(p.values[0], d, p.modifier)
            if ttype is None:
                return None
            shapes.append(("ref",))
            bound.update({f"p{k}": d.name, f"i{k}": tid, f"y{k}": ttype})
        else:
            return None
    driver = next((k for k, shape in enumerate(shapes) if shape[0] == "ref"), None)
    return DriverSearch(tuple(shapes), driver, bound)


def driver_page(
    conn: Connection,
    search: DriverSearch,
    sort_name: str,
    descending: bool,
    cursor: Cursor | None,
    limit: int,
) -> list[tuple[Any, ...]]:
    """:func:`page_select`'s rows for ``search``, read with its driver SQL."""
    backwards = cursor is not None and cursor[0] == "p"
    sql = search_page_sql(
        conn.dialect.name,
        search.criteria,
        search.driver if sort_name == "_id" else None,
        SORT_COLUMNS[sort_name],
        descending == backwards,
        cursor is not None,
    )
    values = dict(search.values, n=limit)
    if cursor is not None:
        values["kv"], values["kr"] = cursor[1], cursor[2]
    return cursor_rows(conn, sql, values)


def driver_count(conn: Connection, search: DriverSearch) -> int:
    """Every current resource ``search`` matches, counted with its driver SQL."""
    rows = cursor_rows(conn, search_count_sql(conn.dialect.name, search.criteria), search.values)
    return int(rows[0][0])
