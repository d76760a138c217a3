"""Write primitives on an open write transaction: validate, version, store, index.

Callers (the repository, the Bundle processor) own the transaction; a raised error rolls it back,
so an invalid resource or a broken rule leaves nothing stored.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from collections.abc import Set as AbstractSet
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import orjson
from sqlalchemy import Connection, insert, select, update
from sqlalchemy.exc import IntegrityError

from ipfhir.adapter.errors import Conflict, Gone, NotAllowed, NotFound, PreconditionFailed, issue
from ipfhir.adapter.fhir.handover import handover_state
from ipfhir.adapter.fhir.plan_rules import DELETABLE_TYPES, READ_ONLY_TYPES
from ipfhir.adapter.fhir.validation import ensure_valid
from ipfhir.adapter.ports import Written
from ipfhir.adapter.store.driver_sql import insert_rows
from ipfhir.adapter.store.indexer import (
    clear_index,
    enforce_one_active_plan,
    rekey_person,
    sort_date,
    write_index,
)
from ipfhir.adapter.store.retry import RaceLost
from ipfhir.adapter.store.schema import resource_versions, resources
from ipfhir.adapter.store.stamps import record, ties
from ipfhir.adapter.store.unit import note_write

__all__ = ["SystemClock", "Writer"]

Resource = dict[str, Any]
_FMT = "%Y-%m-%dT%H:%M:%S.%f"


def _decimal(value: Any) -> Any:
    """FHIR decimals (read as Decimal to keep precision) are written in their lexical form."""
    if isinstance(value, Decimal):
        from ipfhir.mappings.fhirjson import number_text

        return orjson.Fragment(number_text(value))
    raise TypeError(f"cannot store {type(value).__name__} as JSON")


class SystemClock:
    """UTC wall clock, microsecond precision."""

    def now_iso(self) -> str:
        return datetime.now(UTC).strftime(_FMT) + "Z"


class Writer:
    """Creates, updates and deletes resources on a connection inside a write transaction."""

    def __init__(self, validate: Callable[..., Resource], clock: Any, *, system: bool) -> None:
        self._validate = validate
        self._clock = clock
        self._system = system  # system writers may write read-only types (the audit trail)

    def _writable(self, rtype: str, interaction: str) -> None:
        if rtype in READ_ONLY_TYPES and not self._system:
            raise NotAllowed(
                [
                    issue(
                        "IP-4301",
                        rtype,
                        "forbidden",
                        interaction=interaction,
                        rtype=rtype,
                        reason="it is written by the server only",
                    )
                ]
            )

    def _store(
        self,
        conn: Connection,
        rtype: str,
        rid: str,
        version: int,
        resource: Resource,
        method: str,
        before: AbstractSet[str] = frozenset(),  # stamp keys of the version replaced
    ) -> Resource:
        now = self._clock.now_iso()
        meta = {**(resource.get("meta") or {}), "versionId": str(version), "lastUpdated": now}
        stored = {"resourceType": rtype, "id": rid, "meta": meta}
        stored.update((k, v) for k, v in resource.items() if k not in stored)
        body = orjson.dumps(stored, default=_decimal).decode()
        stamp = now.rstrip("Z")
        insert_rows(
            conn,
            resource_versions,
            {
                "res_type": rtype,
                "res_id": rid,
                "version": version,
                "last_updated": stamp,
                "method": method,
                "body": body,
            },
        )
        values = {
            "version": version,
            "last_updated": stamp,
            "deleted": False,
            "body": body,
            "sort_date": sort_date(rtype, stored),
        }
        if version == 1:
            insert_rows(conn, resources, {"res_type": rtype, "res_id": rid, **values})
        else:
            conn.execute(
                update(resources)
                .where(resources.c.res_type == rtype, resources.c.res_id == rid)
                .values(**values)
            )
            clear_index(conn, rtype, rid)
        write_index(conn, rtype, rid, stored)
        if rtype == "CarePlan":
            enforce_one_active_plan(conn, rid, stored, first_version=version == 1)
        elif rtype == "Patient":
            rekey_person(conn, rid)
        record(conn, ties(rtype, rid, stored) | before)
        self._note(conn, "create" if version == 1 else "update", stored)
        return stored

    def _note(self, conn: Connection, action: Any, resource: Resource) -> None:
        """Tell the unit of work's pre-commit hooks (the write audit); the server's own writes
        (the audit trail itself) are not noted."""
        if not self._system:
            meta = resource.get("meta") or {}
            rtype, rid = str(resource["resourceType"]), str(resource["id"])
            note_write(conn, Written(action, rtype, rid, str(meta.get("versionId")), resource))

    @staticmethod
    def _guard_handover(
        rtype: str, rid: str, old: Resource | None, new: Resource | None, handover: bool
    ) -> None:
        """A plan handed over (or being handed over) is read-only, and only the transfer sets
        its marks (adapter/fhir/handover.py): IP-4490 / IP-4491 otherwise."""
        if handover:
            return
        state = handover_state(old)
        if state is not None:
            raise Conflict(
                [
                    issue(
                        "IP-4490",
                        "Resource.meta.tag",
                        "business-rule",
                        rtype=rtype,
                        rid=rid,
                        state=state,
                    )
                ]
            )
        code = handover_state(new)
        if code is not None:
            raise Conflict([issue("IP-4491", "Resource.meta.tag", "business-rule", tag=code)])

    def check(self, resource: Resource, rid: str | None = None) -> None:
        """Validate before the write transaction starts (keeps locks short)."""
        self._writable(resource["resourceType"], "create" if rid is None else "update")
        ensure_valid(self._validate, {**resource, "id": rid} if rid else resource)

    def create(
        self,
        conn: Connection,
        resource: Resource,
        rid: str | None = None,
        *,
        checked: bool = False,
        handover: bool = False,
    ) -> Resource:
        rtype = resource["resourceType"]
        self._writable(rtype, "create")
        rid = rid or str(uuid.uuid4())
        self._guard_handover(rtype, rid, None, resource, handover)
        if not checked:
            ensure_valid(self._validate, {**resource, "id": rid})
        try:
            return self._store(conn, rtype, rid, 1, resource, "POST")
        except IntegrityError as err:
            raise Conflict([issue("IP-4404", "Resource.id", "conflict")]) from err

    @staticmethod
    def lock(conn: Connection, refs: AbstractSet[tuple[str, str]]) -> None:
        """Lock the current rows of ``refs`` in one fixed (sorted) order (PostgreSQL; SQLite's
        writers queue anyway), so that writers touching the same resources in different orders
        wait for each other instead of deadlocking."""
        if conn.dialect.name != "postgresql":
            return
        for rtype, rid in sorted(refs):
            conn.execute(
                select(resources.c.version)
                .where(resources.c.res_type == rtype, resources.c.res_id == rid)
                .with_for_update()
            )

    def _current(
        self, conn: Connection, rtype: str, rid: str
    ) -> tuple[int, bool, set[str], Resource] | None:
        """(version, deleted, stamp keys of the stored body, the body) of ``rtype/rid``, locked
        on PostgreSQL until the transaction ends."""
        q = select(resources.c.version, resources.c.deleted, resources.c.body).where(
            resources.c.res_type == rtype, resources.c.res_id == rid
        )
        if conn.dialect.name == "postgresql":
            q = q.with_for_update()
        row = conn.execute(q).first()
        if row is None:
            return None
        body = orjson.loads(row[2])
        return int(row[0]), bool(row[1]), ties(rtype, rid, body), body

    @staticmethod
    def _check_match(if_match: str | None, current: int | None) -> None:
        if if_match is not None and str(current) != if_match:
            raise PreconditionFailed(
                [
                    issue(
                        "IP-4402",
                        "Resource.meta.versionId",
                        "conflict",
                        expected=if_match,
                        current=current,
                    )
                ]
            )

    def update(
        self,
        conn: Connection,
        rtype: str,
        rid: str,
        resource: Resource,
        if_match: str | None,
        *,
        checked: bool = False,
        create_only: bool = False,
        handover: bool = False,
    ) -> tuple[Resource, bool]:
        """(stored, created): update, or create with the client's id when absent (or deleted).
        ``create_only``: the write was authorised as a creation, so a current version there
        (written since, by a concurrent writer) ends it as a conflict (409 IP-4404) instead of
        being overwritten by an update no one authorised; a lost insert race reruns into the
        same conflict. ``handover``: the plan transfer's own write, which alone may write a
        resource carrying a handover mark (adapter/fhir/handover.py)."""
        self._writable(rtype, "update")
        if not checked:
            ensure_valid(self._validate, {**resource, "id": rid})
        current = self._current(conn, rtype, rid)
        old = current[3] if current is not None and not current[1] else None
        self._guard_handover(rtype, rid, old, resource, handover)
        self._check_match(if_match, current[0] if current else None)
        if create_only and current is not None and not current[1]:
            raise Conflict([issue("IP-4404", "Resource.id", "conflict")])
        if current is None:
            try:
                return self._store(conn, rtype, rid, 1, resource, "PUT"), True
            except IntegrityError as err:  # another PUT created it first: rerun as an update
                raise RaceLost([issue("IP-4404", "Resource.id", "conflict")]) from err
        stored = self._store(conn, rtype, rid, current[0] + 1, resource, "PUT", current[2])
        return stored, current[1]

    def delete(self, conn: Connection, rtype: str, rid: str, if_match: str | None) -> None:
        if rtype not in DELETABLE_TYPES:
            reason = (
                "a plan is never deleted; change its status"
                if rtype == "CarePlan"
                else "it is kept as part of the plan's record; change its status"
            )
            raise NotAllowed(
                [
                    issue(
                        "IP-4301",
                        rtype,
                        "forbidden",
                        interaction="delete",
                        rtype=rtype,
                        reason=reason,
                    )
                ]
            )
        current = self._current(conn, rtype, rid)
        if current is None:
            raise NotFound([issue("IP-4201", rtype, "not-found", rtype=rtype, rid=rid)])
        self._check_match(if_match, current[0])
        if current[1]:
            return  # already deleted: idempotent, as in HAPI
        self._guard_handover(rtype, rid, current[3], None, False)
        version, stamp = current[0] + 1, self._clock.now_iso().rstrip("Z")
        conn.execute(
            insert(resource_versions).values(
                res_type=rtype,
                res_id=rid,
                version=version,
                last_updated=stamp,
                method="DELETE",
                body=None,
            )
        )
        conn.execute(
            update(resources)
            .where(resources.c.res_type == rtype, resources.c.res_id == rid)
            .values(version=version, last_updated=stamp, deleted=True)
        )
        clear_index(conn, rtype, rid)
        record(conn, current[2])
        ended = {
            **current[3],
            "meta": {**(current[3].get("meta") or {}), "versionId": str(version)},
        }
        self._note(conn, "delete", ended)


def gone(rtype: str, rid: str) -> Gone:
    return Gone([issue("IP-4202", rtype, "deleted", rtype=rtype, rid=rid)])


__all__ += ["gone"]
