"""What a plan transfer carries and how coordination passes — pure: no I/O, no clock it does not
receive (:mod:`adapter.services.transfer` and :mod:`adapter.sync.transfer_inbox` do the I/O).

- :func:`carried_plan`: the plan as the new municipality (B) may see it — the ``$everything``
  of the person's plan read through ``repository_for(Actor(organisation=B))``, so refused
  topics, environments and individuals are gone before it gets here — as the resources of a
  message: each with a fresh id (the sender's ids stay home), the references among them
  rewritten to ``urn:uuid:<fresh id>``, references to anything not carried reduced to their
  display. Tasks, Provenance and AuditEvents stay home; so does a Consent B sees only in part
  (a redacted consent is not the person's consent: B's copy of the plan is then deny-by-default
  until the person consents there).
- :func:`pass_coordination`: the coordinator participants in force on the handover day keep
  their role until the end of the declared overlap (``period.end``); the coordinator the new
  municipality appointed starts that day (``period.start``).
"""

from __future__ import annotations

import copy
import datetime as dt
import json
import uuid
from collections import Counter
from collections.abc import Callable
from typing import Any

from ipfhir.mappings.codes import COORDINATOR_ROLE

__all__ = [
    "CARRIED_TYPES",
    "carried_plan",
    "carries_no_more",
    "pass_coordination",
    "rewrite_references",
]

Resource = dict[str, Any]
CARRIED_TYPES = frozenset(
    {
        "Patient",
        "CarePlan",
        "CareTeam",
        "Goal",
        "Consent",
        "RelatedPerson",
        "Organization",
        "Practitioner",
        "PractitionerRole",
    }
)
_REDACTED = "REDACTED"
NOT_CARRIED = "Ikke overført (hos forrige kommune)"  # a reference to what stayed home
_KEPT_META = ("profile", "security")
_COORDINATOR = COORDINATOR_ROLE[("koordinator", "kommune")]
COORDINATOR_CODES = frozenset((s, c) for s, c, _d in COORDINATOR_ROLE.values())


def _redacted(resource: Resource) -> bool:
    security = (resource.get("meta") or {}).get("security") or []
    return any(isinstance(s, dict) and s.get("code") == _REDACTED for s in security)


def rewrite_references(value: Any, replace: Callable[[str], Resource | None]) -> Any:
    """``value`` with every ``Reference`` (a dict with a string ``reference``) given to
    ``replace``: a dict to put in its place (its ``display`` and ``identifier`` are kept; a
    reference left with nothing says it was not carried), or ``None`` to keep it as it is."""
    if isinstance(value, list):
        return [rewrite_references(v, replace) for v in value]
    if not isinstance(value, dict):
        return value
    out = {k: rewrite_references(v, replace) for k, v in value.items()}
    ref = value.get("reference")
    if isinstance(ref, str):
        new = replace(ref)
        if new is not None:
            kept = {k: v for k, v in out.items() if k in ("display", "identifier", "extension")}
            out = {**kept, **new} or {"display": NOT_CARRIED}
    return out


def carried_plan(seen: list[Resource]) -> tuple[list[Resource], dict[str, str]]:
    """(the resources a transfer message carries, ``Type/old-id`` → fresh id) from ``seen``
    (the plan as the receiver may see it, the CarePlan first)."""
    kept = [
        r
        for r in seen
        if r.get("resourceType") in CARRIED_TYPES
        and not (r.get("resourceType") == "Consent" and _redacted(r))
    ]
    fresh = {f"{r['resourceType']}/{r['id']}": str(uuid.uuid4()) for r in kept}

    def replace(ref: str) -> Resource | None:
        new = fresh.get(ref)
        if new is not None:
            return {"reference": f"urn:uuid:{new}"}
        return {} if "/" in ref or ref.startswith("urn:") else None

    out = []
    for resource in kept:
        body = rewrite_references(
            {k: v for k, v in resource.items() if k not in ("id", "meta")}, replace
        )
        meta = {k: v for k, v in (resource.get("meta") or {}).items() if k in _KEPT_META}
        rid = fresh[f"{resource['resourceType']}/{resource['id']}"]
        out.append({"resourceType": resource["resourceType"], "id": rid, **body} | _meta(meta))
    return out, fresh


def _shapes(resources: list[Resource]) -> Counter[str]:
    """``resources`` (as :func:`carried_plan` gives them) without their fresh ids: each
    reference among them reduced to the type it points to, so two reads of the same plan
    compare equal whatever ids they were given."""
    types = {f"urn:uuid:{r.get('id')}": str(r.get("resourceType")) for r in resources}

    def replace(ref: str) -> Resource | None:
        return {"reference": f"carried:{types[ref]}"} if ref in types else None

    return Counter(
        json.dumps(
            rewrite_references({k: v for k, v in r.items() if k != "id"}, replace),
            sort_keys=True,
            ensure_ascii=False,
        )
        for r in resources
    )


def carries_no_more(queued: list[Resource], now: list[Resource]) -> bool:
    """Does ``queued`` (a plan message's resources, as :func:`carried_plan` gave them when it
    was queued) carry nothing that ``now`` (:func:`carried_plan` of the plan as the receiver
    may see it now) does not — every resource there, as it is there?"""
    return not _shapes(queued) - _shapes(now)


def _meta(meta: Resource) -> Resource:
    return {"meta": meta} if meta else {}


def _covers(period: Any, day: str) -> bool:
    period = period if isinstance(period, dict) else {}
    start, end = str(period.get("start") or ""), str(period.get("end") or "")
    return start[:10] <= day and (not end or day <= end[:10])


def _is_coordinator(participant: Any) -> bool:
    roles = participant.get("role") if isinstance(participant, dict) else None
    return any(
        (c.get("system"), c.get("code")) in COORDINATOR_CODES
        for role in (roles if isinstance(roles, list) else ())
        if isinstance(role, dict)
        for c in role.get("coding") or []
        if isinstance(c, dict)
    )


def pass_coordination(
    team: Resource,
    handover: dt.date,
    overlap_days: int,
    new_coordinator: str | None,
    member: Resource | None = None,
) -> Resource:
    """``team`` (a CareTeam) with coordination passed on ``handover`` (see the module doc);
    ``member``: the new coordinator's reference (a PractitionerRole), else named by display."""
    out = copy.deepcopy(team)
    day, until = handover.isoformat(), (handover + dt.timedelta(days=overlap_days)).isoformat()
    found = out.get("participant")
    participants: list[Any] = found if isinstance(found, list) else []
    for part in participants:
        if _is_coordinator(part) and _covers(part.get("period"), day):
            period = dict(part.get("period") or {})
            period["end"] = until
            part["period"] = period
    if new_coordinator:
        system, code, display = _COORDINATOR
        participants.append(
            {
                "role": [{"coding": [{"system": system, "code": code, "display": display}]}],
                "member": {**(member or {}), "display": new_coordinator[:300]},
                "period": {"start": day},
            }
        )
    if participants:
        out["participant"] = participants
    return out
