"""``_history`` pages: newest first, keyset paging on the global version sequence."""

from __future__ import annotations

import hashlib
from typing import Any, Literal, cast

import orjson
from sqlalchemy import Connection, func, select

from ipfhir.adapter.errors import BadRequest, issue
from ipfhir.adapter.fhir.dates import date_range
from ipfhir.adapter.ports import HistoryEntry, HistoryPage
from ipfhir.adapter.store.cursors import PageTokens
from ipfhir.adapter.store.schema import resource_versions as v
from ipfhir.adapter.store.search_sql import decode_cursor, encode_cursor

__all__ = ["history_page"]


def history_page(
    conn: Connection,
    tokens: PageTokens,
    rtype: str,
    rid: str | None,
    count: int,
    since: str | None,
    cursor: str | None,
) -> HistoryPage:
    where: list[Any] = [v.c.res_type == rtype]
    if rid is not None:
        where.append(v.c.res_id == rid)
    if since:
        try:
            where.append(v.c.last_updated >= date_range(since)[0])
        except ValueError as err:
            raise BadRequest(
                [issue("IP-4102", "_since", "value", name="_since", value=since, detail=str(err))]
            ) from err
    fp = hashlib.sha1(repr(("history", rtype, rid, since)).encode()).hexdigest()[:16]
    total = int(conn.execute(select(func.count()).select_from(v).where(*where)).scalar_one())
    direction, seq = "n", None
    if cursor:
        direction, raw, _ = decode_cursor(tokens, cursor, fp)
        if not raw.isdigit():
            raise BadRequest([issue("IP-4105", "_page_token", "invalid")])
        seq = int(raw)
        where.append(v.c.seq < seq if direction == "n" else v.c.seq > seq)
    order = v.c.seq.desc() if direction == "n" else v.c.seq.asc()
    rows = conn.execute(
        select(v.c.seq, v.c.res_id, v.c.version, v.c.last_updated, v.c.method, v.c.body)
        .where(*where)
        .order_by(order)
        .limit(count + 1)
    ).all()
    more = len(rows) > count
    rows = list(rows[:count])
    if direction == "p":
        rows.reverse()
    entries = [
        HistoryEntry(
            rtype,
            r.res_id,
            str(r.version),
            r.last_updated + "Z",
            cast(Literal["POST", "PUT", "DELETE"], r.method),
            orjson.loads(r.body) if r.body is not None else None,
        )
        for r in rows
    ]
    if not rows:
        return HistoryPage(entries, total)
    has_next = more if direction == "n" else True
    has_prev = more if direction == "p" else cursor is not None
    nxt = encode_cursor(tokens, "n", str(rows[-1].seq), "", fp) if has_next else None
    prv = encode_cursor(tokens, "p", str(rows[0].seq), "", fp) if has_prev else None
    return HistoryPage(entries, total, nxt, prv)
