"""Search-index rows and the one-active-plan guard, written in the writer's transaction."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, delete, select
from sqlalchemy.exc import IntegrityError

from ipfhir.adapter.errors import Conflict, issue
from ipfhir.adapter.fhir.dates import FAR_PAST
from ipfhir.adapter.fhir.plan_rules import active_plan_subject
from ipfhir.adapter.fhir.search_params import (
    SEARCH_PARAMS,
    extract_dates,
    extract_references,
    extract_tokens,
)
from ipfhir.adapter.store.driver_sql import insert_rows
from ipfhir.adapter.store.schema import active_plans, idx_date, idx_reference, idx_token
from ipfhir.mappings.identifiers import DNR_SYSTEM, FNR_SYSTEM

__all__ = [
    "clear_index",
    "enforce_one_active_plan",
    "person_key",
    "rekey_person",
    "sort_date",
    "write_index",
]

_INDEX_TABLES = (idx_token, idx_reference, idx_date)


def clear_index(conn: Connection, rtype: str, rid: str) -> None:
    for table in _INDEX_TABLES:
        conn.execute(delete(table).where(table.c.res_type == rtype, table.c.res_id == rid))


def _rows(rtype: str, rid: str, resource: dict[str, Any]) -> dict[str, list[dict[str, Any]]]:
    rows: dict[str, list[dict[str, Any]]] = {"token": [], "reference": [], "date": []}
    own = {"res_type": rtype, "res_id": rid}
    for d in SEARCH_PARAMS.get(rtype, ()):
        if d.kind == "token":
            for system, code in set(extract_tokens(resource, d)):
                rows["token"].append({**own, "param": d.name, "system": system, "code": code[:255]})
        elif d.kind == "reference":
            for ttype, tid in set(extract_references(resource, d)):
                rows["reference"].append(
                    {**own, "param": d.name, "target_type": ttype, "target_id": tid[:64]}
                )
        elif d.kind == "date":
            for low, high in set(extract_dates(resource, d)):
                rows["date"].append({**own, "param": d.name, "low": low, "high": high})
    return rows


def write_index(conn: Connection, rtype: str, rid: str, resource: dict[str, Any]) -> None:
    """Index rows for the current version of ``rtype/rid`` (old rows must be cleared first)."""
    rows = _rows(rtype, rid, resource)
    for table, key in ((idx_token, "token"), (idx_reference, "reference"), (idx_date, "date")):
        if rows[key]:
            insert_rows(conn, table, rows[key])  # one executemany per table


def sort_date(rtype: str, resource: dict[str, Any]) -> str:
    """Low bound of the type's ``date`` parameter (for ``_sort=date``), FAR_PAST when absent."""
    for d in SEARCH_PARAMS.get(rtype, ()):
        if d.name == "date":
            lows = [low for low, _ in extract_dates(resource, d)]
            return min(lows) if lows else FAR_PAST
    return FAR_PAST


def enforce_one_active_plan(
    conn: Connection,
    plan_id: str,
    resource: dict[str, Any] | None,
    *,
    first_version: bool = False,
) -> None:
    """Keep ``active_plans`` in step with CarePlan/plan_id; a second active plan → Conflict.

    A person is keyed by their fødselsnummer or D-nummer (:func:`person_key`), not by the
    Patient id: Patient ids are scoped to a plan, so two plans for one person name two Patients.
    The primary key on ``patient_id`` (holding that key) is the guarantee: the row goes in with
    ``ON CONFLICT DO NOTHING`` (two racing writers: the second waits for the first, then inserts
    nothing), and only when nothing was inserted is the existing plan looked up for the message.
    A first version has no row of its own to remove.
    """
    if not first_version:
        conn.execute(delete(active_plans).where(active_plans.c.careplan_id == plan_id))
    patient = active_plan_subject(resource) if resource is not None else None
    if patient is None:
        return
    row = {"patient_id": person_key(conn, patient), "careplan_id": plan_id}
    try:
        if insert_rows(conn, active_plans, row, ignore_conflict=True):
            return
    except IntegrityError as err:  # careplan_id is unique too (cannot happen after the delete)
        raise _conflict(patient, "(written concurrently)") from err
    existing = conn.execute(
        select(active_plans.c.careplan_id).where(active_plans.c.patient_id == row["patient_id"])
    ).scalar_one_or_none()
    raise _conflict(patient, existing or "(written concurrently)")


def rekey_person(conn: Connection, patient_id: str) -> None:
    """After ``Patient/patient_id`` is written (its index rows already in place): its active
    plans move to the person key it now has — a changed fødselsnummer, or a Patient written
    after its CarePlan in one transaction — and a second active plan of that person → Conflict."""
    plans = select(idx_reference.c.res_id).where(
        idx_reference.c.res_type == "CarePlan",
        idx_reference.c.param == "subject",
        idx_reference.c.target_type == "Patient",
        idx_reference.c.target_id == patient_id,
    )
    key = person_key(conn, patient_id)
    rows = conn.execute(
        select(active_plans.c.patient_id, active_plans.c.careplan_id).where(
            active_plans.c.careplan_id.in_(plans)
        )
    ).all()
    for old_key, plan_id in rows:
        if old_key == key:
            continue
        conn.execute(delete(active_plans).where(active_plans.c.careplan_id == plan_id))
        if not insert_rows(
            conn, active_plans, {"patient_id": key, "careplan_id": plan_id}, ignore_conflict=True
        ):
            existing = conn.execute(
                select(active_plans.c.careplan_id).where(active_plans.c.patient_id == key)
            ).scalar_one_or_none()
            raise _conflict(patient_id, existing or "(written concurrently)")


def person_key(conn: Connection, patient_id: str) -> str:
    """The key of the person ``Patient/patient_id`` stands for: ``system|value`` of its
    fødselsnummer (else D-nummer) from the search index written in this transaction, or
    ``Patient/id`` for a Patient without one."""
    found = conn.execute(
        select(idx_token.c.system, idx_token.c.code).where(
            idx_token.c.res_type == "Patient",
            idx_token.c.res_id == patient_id,
            idx_token.c.param == "identifier",
            idx_token.c.system.in_((FNR_SYSTEM, DNR_SYSTEM)),
        )
    ).all()
    for system in (FNR_SYSTEM, DNR_SYSTEM):
        for row_system, code in found:
            if row_system == system:
                return f"{system}|{code}"
    return f"Patient/{patient_id}"


def _conflict(patient: str, existing: str) -> Conflict:
    return Conflict(
        [issue("IP-4401", "CarePlan.status", "business-rule", patient=patient, existing=existing)]
    )
