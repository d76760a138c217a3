"""The requesting side's transfer Tasks kept true to their messages, and the handover marks on
the plan being handed over.

:func:`settle_transfers` (run by the delivery worker every ``IPFHIR_TRANSFER_SETTLE_SECONDS``,
:mod:`adapter.sync.worker`, and by ``ipfhir transfer status``; it reads the open Tasks only,
:func:`open_transfers`): a Task whose message ended dead in the outbox (B never reached, retries
spent; or the consent stopped the plan before it left, IP-6056), or whose deadline for B's
answer (``Task.restriction.period.end``) passed without one, becomes ``failed`` with
``statusReason`` saying why (IP-6096–6098); a plan marked ``handover-pending`` for it is
writable again — the person's plan stays active with A (:func:`lift`). A plan message that may
have reached B (sent at least once, and not refused by B or held back unsent by the gate,
:func:`refused_unsent`) never fails its Task: B may have stored it, so the Task stays
``in-progress`` with ``statusReason`` "awaiting confirmation" and the plan stays pending —
never two active plans for the person — and A asks B (:func:`ask`): one ``ip-transfer-query``
per awaiting Task through the outbox, with its own message id (:func:`query_id`), another only
when the last one died (back-off doubling from 15 minutes to a day) or was delivered a day ago
without an answer. B answers from its own records (:mod:`adapter.sync.transfer_inbox`): its
confirmation (A completes as on any confirmation), or "not stored" after closing its side —
only then is the mark lifted and the Task failed (IP-6105, :mod:`adapter.sync.transfer_back`).
An operator may end an open transfer too (``ipfhir transfer abandon``, IP-6108), and a
revocation notice to B ends a request B has not answered (:func:`end_requests`, IP-6110).

:func:`mark_plan`: the CarePlan and the CareTeams and Goals it names get (or lose) a handover
mark (:mod:`adapter.fhir.handover`), written by the transfer only.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Iterator
from dataclasses import replace
from typing import Any

import orjson
from sqlalchemy import Connection, select

from ipfhir.adapter.directory.model import as_dict, dicts
from ipfhir.adapter.directory.store import SqlDirectory
from ipfhir.adapter.fhir.handover import HandoverState, handover_state, marked
from ipfhir.adapter.ports import SearchParam, SearchQuery
from ipfhir.adapter.store.driver_sql import read_current
from ipfhir.adapter.store.outbox import Message, Outbox
from ipfhir.adapter.store.repository import SqlRepository
from ipfhir.adapter.store.schema import idx_reference, resources
from ipfhir.adapter.store.writes import SystemClock, Writer
from ipfhir.adapter.sync.inbox import orgnr_in
from ipfhir.adapter.sync.messages import MESSAGES
from ipfhir.adapter.sync.messaging import TRANSFER_QUERY
from ipfhir.adapter.sync.recorded import record_write
from ipfhir.adapter.sync.transfer_tasks import (
    OPEN,
    is_transfer,
    message_id,
    party,
    queue,
    reason,
    save_task,
    task_message,
)

__all__ = [
    "AWAITING",
    "ask",
    "current",
    "end_requests",
    "lift",
    "mark_plan",
    "open_transfers",
    "plan_parts",
    "queries",
    "query_id",
    "refused_unsent",
    "settle_transfers",
]

AWAITING = "awaiting confirmation"
QUERY_BACKOFF = 900.0  # seconds after a dead query before the next; doubling
QUERY_BACKOFF_MAX = 86400.0

Resource = dict[str, Any]


def current(conn: Connection, rtype: str, rid: str) -> Resource | None:
    """The current version of ``rtype/rid`` as stored, or ``None`` (none, or deleted)."""
    row = read_current(conn, rtype, rid)
    return None if row is None or row[0] else dict(orjson.loads(row[1]))


def plan_parts(conn: Connection, plan_id: str) -> list[Resource]:
    """The CarePlan ``plan_id`` as stored, then the CareTeams and Goals it names."""
    plan = current(conn, "CarePlan", plan_id)
    if plan is None:
        return []
    parts = [plan]
    for field in ("careTeam", "goal"):
        for ref in dicts(plan.get(field)):
            rtype, _, rid = str(ref.get("reference", "")).partition("/")
            found = current(conn, rtype, rid) if rtype in ("CareTeam", "Goal") else None
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


def refused_unsent(error: str | None, attempts: int) -> bool:
    """Did a dead message end so that the receiver cannot have stored it: refused by the
    receiver (its ``fatal-error`` or an HTTP 4xx), or held back by the gate on its first
    attempt (IP-6056/IP-6057: never sent)? Anything else — retries spent on timeouts, lost
    answers — may have reached it."""
    why = error or ""
    if why.startswith(("IP-6056", "IP-6057")):
        return attempts <= 1
    return why.startswith(("the receiver answered fatal-error", "fatal-error", "HTTP 4"))


def _failure(task: Resource, outbox: Outbox, today: str) -> str | None:
    """Why the transfer ``task`` (this adapter's request) failed, ``AWAITING`` when its plan
    message may have reached B (the Task stays open for B's confirmation), or ``None``."""
    receiver = orgnr_in(task.get("owner")) or "?"
    status, tid = task.get("status"), str(task["id"])
    step = {"requested": "request", "in-progress": "plan"}.get(str(status))
    message = outbox.get(message_id(tid, step)) if step else None
    if (
        step == "plan"
        and message is not None
        and message.status == "dead"
        and not refused_unsent(message.last_error, message.attempts)
    ):
        return AWAITING
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


def _await(repository: SqlRepository, task: Resource) -> None:
    """``task`` (in progress) says it waits for B's confirmation; its plan stays pending."""
    text = (
        f"{AWAITING}: the plan message may have reached the receiving organisation; the plan "
        "stays pending until it confirms, refuses or, asked, says it has not stored it"
    )
    if as_dict(task.get("statusReason")).get("text") == text:
        return
    updated = {k: v for k, v in task.items() if k != "meta"}
    updated["statusReason"] = reason(text)
    with repository.begin_write() as conn:
        save_task(
            repository,
            conn,
            updated,
            organisation=orgnr_in(task.get("requester")) or "",
            patient=None,
            detail="ip-transfer: awaiting confirmation",
        )


def open_transfers(repository: SqlRepository) -> Iterator[Resource]:
    """The open transfer Tasks this adapter requested (``status`` searched in the index: the
    closed ones, however many, are never read), page by page."""
    query = SearchQuery("Task", (SearchParam("status", tuple(sorted(OPEN))),), count=200)
    while True:
        found = repository.search(query)
        for task in found.matches:
            if is_transfer(task) and "focus" in task:
                yield task
        if not found.next_cursor:
            return
        query = replace(query, cursor=found.next_cursor)


def settle_transfers(
    repository: SqlRepository, today: str | None = None, now: float | None = None
) -> list[str]:
    """Fail every open transfer this adapter requested whose message is dead or whose answer
    is overdue, and ask B about each whose plan message may have reached it (see the module
    doc); the ids of the Tasks failed. Cheap when nothing is open: one indexed search."""
    day = today or dt.date.today().isoformat()
    at = time.time() if now is None else now
    outbox = Outbox(repository.engine)
    failed = []
    for task in list(open_transfers(repository)):
        why = _failure(task, outbox, day)
        if why is None:
            continue
        if why == AWAITING:
            _await(repository, task)
            ask(repository, outbox, task, at)
            continue
        lift(repository, task, why, detail=f"ip-transfer failed: {why[:200]}")
        failed.append(str(task["id"]))
    return failed


def lift(
    repository: SqlRepository,
    task: Resource,
    why: str,
    *,
    detail: str,
    conn: Connection | None = None,
) -> Resource:
    """``task`` ``failed`` with ``why`` as its ``statusReason``, and its plan's pending mark
    lifted — on ``conn`` or a transaction of its own; the Task as written."""
    if conn is None:
        with repository.begin_write() as own:
            return lift(repository, task, why, detail=detail, conn=own)
    plan_id = str(as_dict(task.get("focus")).get("reference", "")).removeprefix("CarePlan/")
    parts = [p for p in plan_parts(conn, plan_id) if handover_state(p) == "handover-pending"]
    mark_plan(repository, conn, parts, None)
    updated = {k: v for k, v in task.items() if k != "meta"}
    updated.update(status="failed", statusReason=reason(why))
    return save_task(
        repository,
        conn,
        updated,
        organisation=orgnr_in(task.get("requester")) or "",
        patient=None,
        detail=detail,
    )


def end_requests(conn: Connection, person: str, orgnr: str, why: str) -> list[Resource]:
    """This adapter's transfer Tasks for ``person`` (``Patient/id``) still ``requested`` of
    ``orgnr`` failed with ``why``, each audited, on ``conn`` (the transaction that queues the
    revocation notice to ``orgnr``); the Tasks as written. A request not yet answered has
    marked no plan: nothing to lift."""
    rtype, _, pid = person.partition("/")
    r, i = resources.c, idx_reference.c
    rows = conn.execute(
        select(r.body)
        .join(idx_reference, (i.res_type == r.res_type) & (i.res_id == r.res_id))
        .where(
            r.res_type == "Task",
            r.deleted.is_(False),
            i.param == "patient",
            i.target_type == rtype,
            i.target_id == pid,
        )
    ).all()
    writer = Writer(_valid, SystemClock(), system=False)
    ended = []
    for (body,) in rows:
        task = dict(orjson.loads(body))
        if not (
            is_transfer(task)
            and "focus" in task
            and task.get("status") == "requested"
            and orgnr_in(task.get("owner")) == orgnr
        ):
            continue
        updated = {k: v for k, v in task.items() if k != "meta"}
        updated.update(status="failed", statusReason=reason(why))
        stored, _ = writer.update(conn, "Task", str(task["id"]), updated, None, checked=True)
        record_write(
            conn,
            organisation=orgnr_in(task.get("requester")) or "",
            interaction="update",
            patient=None,
            patient_ref=person,
            stored=[stored],
            detail=f"ip-transfer failed: {why[:200]}",
        )
        ended.append(stored)
    return ended


def _valid(_resource: Resource, _profile: str | None = None) -> dict[str, Any]:
    return {"issue": []}


def query_id(task_id: str, n: int) -> str:
    """The id of the ``n``-th query (from 1) about transfer ``task_id``."""
    return message_id(task_id, f"query|{n}")


def queries(outbox: Outbox, task_id: str) -> list[Message]:
    """The queries about transfer ``task_id`` queued so far, first to last."""
    found: list[Message] = []
    while (message := outbox.get(query_id(task_id, len(found) + 1))) is not None:
        found.append(message)
    return found


def _query_due(asked: list[Message], at: float) -> bool:
    if not asked:
        return True
    last = asked[-1]
    if last.status not in ("dead", "delivered") or last.finished_at is None:
        return False  # under way
    wait = min(QUERY_BACKOFF * 2.0 ** (len(asked) - 1), QUERY_BACKOFF_MAX)
    if last.status == "delivered":  # B's answer may be on its way: ask again far later
        wait = max(wait, QUERY_BACKOFF_MAX)
    return bool(at >= last.finished_at + wait)


def ask(repository: SqlRepository, outbox: Outbox, task: Resource, at: float) -> str | None:
    """Queue a query to B about ``task`` (awaiting confirmation) when one is due: the first at
    once, another only when the last one died (back-off doubling from
    :data:`QUERY_BACKOFF` to :data:`QUERY_BACKOFF_MAX`) or was delivered long ago without an
    answer; its message id, or ``None``."""
    tid = str(task["id"])
    asked = queries(outbox, tid)
    if not _query_due(asked, at):
        return None
    directory = SqlDirectory(repository.engine)
    me = orgnr_in(task.get("requester")) or ""
    mine, theirs = party(directory, me), party(directory, orgnr_in(task.get("owner")) or "")
    if mine is None or theirs is None:
        return None  # no route (now): asked at a later turn
    sent = task_message(task)
    for field in ("input", "output", "statusReason", "for"):
        sent.pop(field, None)  # the query names the transfer, nothing of the person
    mid = query_id(tid, len(asked) + 1)
    with repository.begin_write() as conn:
        queue(
            conn,
            event=TRANSFER_QUERY,
            mid=mid,
            source=mine,
            destination=theirs,
            timestamp=dt.datetime.fromtimestamp(at, dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
            resources=[sent],
            person=str(as_dict(task.get("for")).get("reference", "")),
        )
        record_write(
            conn,
            organisation=me,
            interaction="update",
            patient=None,
            patient_ref=str(as_dict(task.get("for")).get("reference", "")),
            stored=[],
            detail=f"ip-transfer-query {mid} to {theirs.orgnr} about Task/{tid}",
        )
    return mid
