"""``_include`` / ``_revinclude`` and ``CarePlan/$everything``: related resources in bulk."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

from sqlalchemy import Connection, select

from ipfhir.adapter.errors import BadRequest, issue
from ipfhir.adapter.fhir.references import split_reference
from ipfhir.adapter.fhir.search_params import param_def
from ipfhir.adapter.store.context_sql import SqlReader
from ipfhir.adapter.store.schema import idx_reference

__all__ = ["everything_of", "fetch_many", "included", "references_in"]

Resource = dict[str, Any]


def fetch_many(conn: Connection, refs: Iterable[tuple[str, str]]) -> list[Resource]:
    """Current, non-deleted resources for (type, id) pairs, in input order (plain SQL,
    :class:`adapter.store.context_sql.SqlReader`)."""
    return SqlReader(conn).fetch(refs)


def _spec(value: str) -> tuple[str, str, str | None]:
    parts = value.split(":")
    if len(parts) not in (2, 3):
        raise BadRequest([issue("IP-4107", "_include", "not-supported", value=value)])
    d = param_def(parts[0], parts[1])
    if d is None or d.kind != "reference":
        raise BadRequest([issue("IP-4107", "_include", "not-supported", value=value)])
    return parts[0], parts[1], parts[2] if len(parts) == 3 else None


def included(
    conn: Connection,
    rtype: str,
    ids: list[str],
    include: tuple[str, ...],
    revinclude: tuple[str, ...],
) -> list[Resource]:
    """Resources the page's matches reference (_include) or that reference them (_revinclude)."""
    if not ids or not (include or revinclude):
        for spec in include + revinclude:
            _spec(spec)
        return []
    r = idx_reference
    wanted: list[tuple[str, str]] = []
    for spec in include:
        src, param, target = _spec(spec)
        if src != rtype:
            continue
        q = select(r.c.target_type, r.c.target_id).where(
            r.c.res_type == src, r.c.param == param, r.c.res_id.in_(ids)
        )
        if target:
            q = q.where(r.c.target_type == target)
        wanted.extend((t, i) for t, i in conn.execute(q))
    for spec in revinclude:
        src, param, _ = _spec(spec)
        q = select(r.c.res_type, r.c.res_id).where(
            r.c.res_type == src,
            r.c.param == param,
            r.c.target_type == rtype,
            r.c.target_id.in_(ids),
        )
        wanted.extend((t, i) for t, i in conn.execute(q))
    own = {(rtype, i) for i in ids}
    return fetch_many(conn, (k for k in wanted if k not in own))


def references_in(node: Any) -> Iterator[tuple[str, str]]:
    """Every relative literal reference (type, id) anywhere in ``node``."""
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "reference" and isinstance(value, str):
                if not value.startswith(("#", "urn:", "http:", "https:")):
                    rtype, rid = split_reference(value)
                    if rtype:
                        yield rtype, rid
            else:
                yield from references_in(value)
    elif isinstance(node, list):
        for item in node:
            yield from references_in(item)


_SECOND_LEVEL = {"CareTeam", "Goal", "Consent", "PractitionerRole"}


def everything_of(conn: Connection, plan: Resource) -> list[Resource]:
    """The plan, what it references (care team, goals, consents, the person, activities), who
    the care team is made of, and what points at the plan (tasks, provenance) or at the person's
    consents. The CarePlan comes first; no resource appears twice."""
    pid = plan["id"]
    first = fetch_many(conn, references_in(plan))
    second = fetch_many(
        conn,
        (
            ref
            for res in first
            if res["resourceType"] in _SECOND_LEVEL
            for ref in references_in(res)
        ),
    )
    r = idx_reference
    back = [
        (t, i)
        for t, i in conn.execute(
            select(r.c.res_type, r.c.res_id).where(
                r.c.target_type == "CarePlan",
                r.c.target_id == pid,
                r.c.res_type.in_(("Task", "Provenance", "CarePlan", "Goal")),
            )
        )
    ]
    subject = split_reference((plan.get("subject") or {}).get("reference") or "")
    if subject[0] == "Patient":
        back += [
            (t, i)
            for t, i in conn.execute(
                select(r.c.res_type, r.c.res_id).where(
                    r.c.res_type == "Consent", r.c.param == "patient", r.c.target_id == subject[1]
                )
            )
        ]
    result: dict[tuple[str, str], Resource] = {("CarePlan", pid): plan}
    for res in [*first, *second, *fetch_many(conn, back)]:
        result.setdefault((res["resourceType"], res["id"]), res)
    return list(result.values())
