"""The AuditEvent of an exchange's write, on the write's own transaction (both or neither).

Every Task an exchange stores or changes — the sender's notification, a received one, an
answer applied — is audited like a write through the API: who (the organisation acting: the
sender of a received message, this adapter's organisation for its own commands), which person,
which resources and versions, and the message it came with. A refused message is audited
too (:func:`record_refusal`): who tried, what was refused and why. When the store's unit of work
(pre-commit hooks, the audit in the write transaction) is in place, this becomes its hook.
"""

from __future__ import annotations

from typing import Any, Literal

from sqlalchemy import Connection

from ipfhir.adapter.audit.events import Disclosure, audit_event
from ipfhir.adapter.ports import Actor
from ipfhir.adapter.store.writes import SystemClock, Writer
from ipfhir.mappings.identifiers import DNR_SYSTEM, FNR_SYSTEM

__all__ = ["record_operation", "record_refusal", "record_write"]

Resource = dict[str, Any]


def _identifier(patient: Resource | None) -> dict[str, str] | None:
    for ident in (patient or {}).get("identifier") or []:
        if ident.get("system") in (FNR_SYSTEM, DNR_SYSTEM) and isinstance(ident.get("value"), str):
            return {"system": ident["system"], "value": ident["value"]}
    return None


def _version(resource: Resource) -> str:
    version = (resource.get("meta") or {}).get("versionId", "1")
    return f"{resource['resourceType']}/{resource['id']}/_history/{version}"


def record_write(
    conn: Connection,
    *,
    organisation: str,
    interaction: str,
    patient: Resource | None,
    patient_ref: str,
    stored: list[Resource],
    detail: str,
) -> None:
    """An AuditEvent on ``conn``: ``organisation`` did ``interaction`` (create, update) of
    ``stored`` (as stored: ids and versions) for the person ``patient_ref``."""
    item = Disclosure(
        interaction=interaction,
        patient=patient_ref,
        patient_identifier=_identifier(patient),
        outcome="disclosed",
        resources=[_version(r) for r in stored],
        basis="message",
        detail=detail[:300],
    )
    clock = SystemClock()
    event = audit_event(Actor(organisation=organisation), item, clock.now_iso())
    Writer(lambda _r, _p=None: {"issue": []}, clock, system=True).create(conn, event, checked=True)


def record_refusal(conn: Connection, *, organisation: str | None, detail: str) -> None:
    """An AuditEvent on ``conn``: ``$process-message`` from ``organisation`` (the verified
    token's; ``None``: unidentified) was refused (``detail``: the message ids and why)."""
    item = Disclosure(
        interaction="operation",
        patient="",
        patient_identifier=None,
        outcome="refused",
        basis="message",
        detail=detail[:300],
    )
    clock = SystemClock()
    event = audit_event(Actor(organisation=organisation), item, clock.now_iso())
    Writer(lambda _r, _p=None: {"issue": []}, clock, system=True).create(conn, event, checked=True)


def record_operation(
    conn: Connection,
    *,
    organisation: str | None,
    outcome: Literal["stored", "refused"],
    detail: str,
) -> None:
    """An AuditEvent on ``conn`` of an operation on no person's data that decides who is
    trusted: a directory load (``organisation`` ``None``: the operator at this machine) or an
    access token granted or refused to ``organisation`` at the token endpoint."""
    item = Disclosure(
        interaction="operation",
        patient="",
        patient_identifier=None,
        outcome=outcome,
        basis="trust",
        detail=detail[:1000],
    )
    clock = SystemClock()
    event = audit_event(Actor(organisation=organisation), item, clock.now_iso())
    Writer(lambda _r, _p=None: {"issue": []}, clock, system=True).create(conn, event, checked=True)
