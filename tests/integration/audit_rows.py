"""What the store holds, read straight from its tables (not through the server): the versions of
a resource and the AuditEvents naming it."""

from __future__ import annotations

from typing import Any

import orjson
from sqlalchemy import Engine, select

from ipfhir.adapter.store.schema import audit_log, resource_versions, resources

__all__ = ["all_audit_events", "audit_events", "stored_versions"]


def stored_versions(engine: Engine, ref: str) -> set[str]:
    rtype, _, rid = ref.partition("/")
    v = resource_versions
    with engine.connect() as conn:
        rows = conn.execute(select(v.c.version).where(v.c.res_type == rtype, v.c.res_id == rid))
        return {str(r[0]) for r in rows}


def all_audit_events(engine: Engine) -> list[dict[str, Any]]:
    """AuditEvent resources and the audit log's rows not yet made resources."""
    with engine.connect() as conn:
        rows = conn.execute(select(resources.c.body).where(resources.c.res_type == "AuditEvent"))
        logged = conn.execute(select(audit_log.c.body))
        return [orjson.loads(r[0]) for r in [*rows, *logged]]


def audit_events(engine: Engine, ref: str) -> dict[str, dict[str, Any]]:
    """The AuditEvents whose entities name a version of ``ref`` ("Type/id"), keyed by that
    versioned reference plus the event's action (a version is read more than once)."""
    out: dict[str, dict[str, Any]] = {}
    for event in all_audit_events(engine):
        for entity in event.get("entity", []):
            what = str((entity.get("what") or {}).get("reference", ""))
            if what.startswith(f"{ref}/_history/"):
                key = what if event["action"] in "CUD" else f"{what} {event['action']} {len(out)}"
                out[key] = event
    return out
