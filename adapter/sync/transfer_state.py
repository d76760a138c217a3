"""The requesting side's transfer Tasks kept true to their messages, and the handover marks on
the plan being handed over.

:func:`settle_transfers` (run by ``ipfhir transfer status``): a Task whose message ended dead in
the outbox (B never reached, retries spent; or the consent stopped the plan before it left,
IP-6056), or whose deadline for B's answer (``Task.restriction.period.end``) passed without
one, becomes ``failed`` with ``statusReason`` saying why (IP-6096–6098); a plan marked
``handover-pending`` for it is writable again — the person's plan stays active with A.

:func:`mark_plan`: the CarePlan and the CareTeams and Goals it names get (or lose) a handover
mark (:mod:`adapter.fhir.handover`), written by the transfer only.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import orjson
from sqlalchemy import Connection

from ipfhir.adapter.directory.model import as_dict, dicts
from ipfhir.adapter.fhir.handover import HandoverState, handover_state, marked
from ipfhir.adapter.ports import SearchQuery
from ipfhir.adapter.store.driver_sql import read_current
from ipfhir.adapter.store.outbox import Outbox
from ipfhir.adapter.store.repository import SqlRepository
from ipfhir.adapter.sync.inbox import orgnr_in
from ipfhir.adapter.sync.messages import MESSAGES
from ipfhir.adapter.sync.transfer_tasks import is_transfer, message_id, reason, save_task

__all__ = ["mark_plan", "plan_parts", "settle_transfers"]

Resource = dict[str, Any]


def _current(conn: Connection, rtype: str, rid: str) -> Resource | None:
    row = read_current(conn, rtype, rid)
    return None if row is None or row[0] else dict(orjson.loads(row[1]))


def plan_parts(conn: Connection, plan_id: str) -> list[Resource]:
    """The CarePlan ``plan_id`` as stored, then the CareTeams and Goals it names."""
    plan = _current(conn, "CarePlan", plan_id)
    if plan is None:
        return []
    parts = [plan]
    for field in ("careTeam", "goal"):
        for ref in dicts(plan.get(field)):
            rtype, _, rid = str(ref.get("reference", "")).partition("/")
            found = _current(conn, rtype, rid) if rtype in ("CareTeam", "Goal") else None
            if found is not None:
                parts.append(found)
    return parts


def mark_plan(
    repository: SqlRepository,
    conn: Connection,
    parts: list[Resource],
    state: HandoverState | None,
) -> list[Resource]:
    """``parts`` (as :func:`plan_parts` gives them, possibly changed) written with the mark
    ``state`` (``None``: unmarked); returns what was written."""
    written = []
    for part in parts:
        if handover_state(part) == state:
            continue
        body = marked(part, state)
        stored, _ = repository.writer.update(
            conn, str(part["resourceType"]), str(part["id"]), body, None, handover=True
        )
        written.append(stored)
    return written


def _failure(task: Resource, outbox: Outbox, today: str) -> str | None:
    """Why the transfer ``task`` (this adapter's request) failed, or ``None``."""
    receiver = orgnr_in(task.get("owner")) or "?"
    status, tid = task.get("status"), str(task["id"])
    step = {"requested": "request", "in-progress": "plan"}.get(str(status))
    message = outbox.get(message_id(tid, step)) if step else None
    if message is not None and message.status == "dead":
        error = message.last_error or "dead"
        if error.startswith("IP-6056"):
            return "IP-6096: " + MESSAGES["IP-6096"].format(orgnr=receiver)
        why = " ".join(error.split())[:200]
        return "IP-6097: " + MESSAGES["IP-6097"].format(orgnr=receiver, why=why)
    by = str(as_dict(as_dict(task.get("restriction")).get("period")).get("end") or "")
    if status == "requested" and by and by[:10] < today:
        return "IP-6098: " + MESSAGES["IP-6098"].format(orgnr=receiver, date=by[:10])
    return None


def settle_transfers(repository: SqlRepository, today: str | None = None) -> list[str]:
    """Fail every open transfer this adapter requested whose message is dead or whose answer
    is overdue (see the module doc); the ids of the Tasks failed."""
    day = today or dt.date.today().isoformat()
    outbox = Outbox(repository.engine)
    failed = []
    tasks = repository.search(SearchQuery("Task", count=500)).matches
    for task in tasks:
        mine = is_transfer(task) and "focus" in task
        why = _failure(task, outbox, day) if mine else None
        if why is None:
            continue
        plan_id = str(as_dict(task.get("focus")).get("reference", "")).removeprefix("CarePlan/")
        with repository.begin_write() as conn:
            parts = [
                p for p in plan_parts(conn, plan_id) if handover_state(p) == "handover-pending"
            ]
            mark_plan(repository, conn, parts, None)
            updated = {k: v for k, v in task.items() if k != "meta"}
            updated.update(status="failed", statusReason=reason(why))
            save_task(
                repository,
                conn,
                updated,
                organisation=orgnr_in(task.get("requester")) or "",
                patient=None,
                detail=f"ip-transfer failed: {why[:200]}",
            )
        failed.append(str(task["id"]))
    return failed
