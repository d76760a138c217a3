"""B's answers as the municipality the person leaves (A) receives them (``ip-transfer-response``),
each carried out on the receiver's one write transaction; only the organisation A asked
(``Task.owner`` of A's own transfer Task, found by its identifier) can answer (IP-6095).

- **declined** (``rejected``): A's Task says so, with B's reason in ``statusReason``; the plan
  stays active and writable.
- **accepted**: A reads its plan as B may see it — ``$everything`` through ``repository_for(
  Actor(organisation=B))``, judged, audited and ledgered like any disclosure (before the
  transaction: the enforcement writes its own audit). In the transaction: the plan, its care
  team and goals marked ``handover-pending`` (read-only, still the active plan), the Task
  ``in-progress`` and the plan queued to B (:func:`~adapter.sync.handover.carried_plan`) — unless
  the plan changed between the read and the transaction (its versions differ): then nothing is
  written and B's worker is answered ``transient-error`` to retry. When the
  consent no longer lets B see the plan, nothing is sent: the Task fails with IP-6096.
- **completed** (B stored the plan): taken only when it names the plan B stored from A's plan
  message — ``<B's endpoint in A's directory>/CarePlan/<the id A gave the plan in that
  message>`` (B's receiver stores it under that id; nobody who has not received the message
  knows it) — and that message has left A (IP-6095 otherwise: nothing changes). A's plan
  becomes ``completed`` and ``handed-over`` (read-only for good), the coordinators' roles end
  after the declared overlap, a Provenance links it to B's plan, the Task is ``completed`` —
  nothing deleted, and the person has one active plan: B's.

- **failed** (B, asked by ``ip-transfer-query`` after A's plan message died, has not stored the
  plan and has closed its side, :mod:`adapter.sync.transfer_inbox`): taken only while A's Task
  is ``in-progress`` and only when A has sent a query about it (IP-6095 otherwise) — the
  pending mark is lifted and the Task ``failed`` with IP-6105, in one transaction.

A repeated answer that changes nothing (the same status again) is accepted and does nothing.
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from sqlalchemy import Connection

from ipfhir.adapter.directory.model import as_dict, dicts
from ipfhir.adapter.directory.store import SqlDirectory
from ipfhir.adapter.errors import NotFound
from ipfhir.adapter.store.outbox import Outbox
from ipfhir.adapter.store.repository import SqlRepository
from ipfhir.adapter.sync.content import receiver_actor
from ipfhir.adapter.sync.handover import carried_plan, pass_coordination
from ipfhir.adapter.sync.inbox import orgnr_in, task_identifier
from ipfhir.adapter.sync.messages import MESSAGES, TryAgain
from ipfhir.adapter.sync.messaging import (
    TRANSFER,
    TRANSFER_PLAN,
    TRANSFER_QUERY,
    TRANSFER_RESPONSE,
    Incoming,
    Party,
    code,
)
from ipfhir.adapter.sync.receiver import Handler
from ipfhir.adapter.sync.recorded import record_write
from ipfhir.adapter.sync.transfer_inbox import (
    Act,
    answer_query,
    refused,
    store_plan,
    store_request,
)
from ipfhir.adapter.sync.transfer_state import (
    lift,
    mark_plan,
    plan_parts,
    queries,
    refused_unsent,
)
from ipfhir.adapter.sync.transfer_tasks import (
    find_task,
    is_transfer,
    message_id,
    party,
    queue,
    reason,
    save_task,
    task_message,
)

__all__ = ["apply_answer", "transfer_handlers"]

Resource = dict[str, Any]
_BEFORE = {
    "accepted": "requested",
    "rejected": "requested",
    "completed": "in-progress",
    "failed": "in-progress",
}


def _now() -> str:
    return dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _nothing(_conn: Connection) -> None:
    return None


def apply_answer(
    repository: SqlRepository,
    directory: SqlDirectory,
    factory: Any,
    base: str,
    sender: str,
    incoming: Incoming,
) -> Act:
    answer = incoming.focus
    ident = task_identifier(answer)
    mine = find_task(repository, ident) if ident and is_transfer(answer) else {}
    if not mine or "focus" not in mine or orgnr_in(mine.get("owner")) != sender:
        raise refused("the answer names no transfer this adapter asked the answering organisation")
    status = str(answer.get("status"))
    if status not in _BEFORE:
        raise refused("an answer is accepted, rejected, completed or failed", "Task.status")
    if mine.get("status") == status or (status == "accepted" and mine["status"] == "in-progress"):
        return _nothing  # the same answer again
    if mine.get("status") != _BEFORE[status]:
        raise refused(f"the transfer is {mine.get('status')} here", "Task.status")
    tid = str(mine["id"])
    if status == "rejected":
        why = str(as_dict(answer.get("statusReason")).get("text") or "Avslått")
        return _update(repository, mine, sender, incoming, status="rejected", why=why)
    if status == "completed":
        return _completed(repository, directory, mine, sender, incoming)
    if status == "failed":
        return _not_stored(repository, mine, sender, incoming)
    return _accepted(repository, directory, factory, base, mine, sender, incoming, tid)


def _update(
    repository: SqlRepository,
    task: Resource,
    sender: str,
    incoming: Incoming,
    *,
    status: str,
    why: str | None = None,
    output: list[Resource] | None = None,
) -> Act:
    def act(conn: Connection) -> None:
        _save(repository, conn, task, sender, incoming, status=status, why=why, output=output)

    return act


def _save(
    repository: SqlRepository,
    conn: Connection,
    task: Resource,
    sender: str,
    incoming: Incoming,
    *,
    status: str,
    why: str | None = None,
    output: list[Resource] | None = None,
) -> Resource:
    updated = {k: v for k, v in task.items() if k != "meta"}
    updated.update(status=status, lastModified=_now())
    if why is not None:
        updated["statusReason"] = reason(why)
    if output:  # a successor named again replaces the one named before
        kinds = {c.get("code") for o in output for c in dicts(as_dict(o.get("type")).get("coding"))}
        kept = [
            o
            for o in dicts(task.get("output"))
            if not {c.get("code") for c in dicts(as_dict(o.get("type")).get("coding"))} & kinds
        ]
        updated["output"] = [*kept, *output]
    return save_task(
        repository,
        conn,
        updated,
        organisation=sender,
        patient=None,
        detail=f"received ip-transfer-response {incoming.message_id}: {status}",
    )


def _accepted(
    repository: SqlRepository,
    directory: SqlDirectory,
    factory: Any,
    base: str,
    mine: Resource,
    sender: str,
    incoming: Incoming,
    tid: str,
) -> Act:
    plan_id = str(as_dict(mine.get("focus")).get("reference", "")).removeprefix("CarePlan/")
    coordinator = [
        o for o in dicts(incoming.focus.get("output")) if isinstance(o.get("valueString"), str)
    ][:1]
    accepted = [
        {"type": code("coordinator"), "valueString": o["valueString"][:300]} for o in coordinator
    ]
    repo = factory.repository_for(receiver_actor(sender))
    try:
        seen = repo.everything(plan_id)
    except NotFound:
        seen = []
    carried, fresh = carried_plan(seen)
    patient = next((r for r in carried if r["resourceType"] == "Patient"), None)
    if patient is None or f"CarePlan/{plan_id}" not in fresh:
        why = "IP-6096: " + MESSAGES["IP-6096"].format(orgnr=sender)
        return _update(
            repository, mine, sender, incoming, status="failed", why=why, output=accepted
        )
    successor = fresh[f"CarePlan/{plan_id}"]
    me = orgnr_in(mine.get("requester")) or ""
    source = Party(me, str(as_dict(mine.get("requester")).get("display") or me), base.rstrip("/"))
    destination = party(directory, sender)
    if destination is None:
        raise refused("the answering organisation is not routable in this adapter's directory")

    read = {_key(r): _version(r) for r in seen}

    def act(conn: Connection) -> None:
        parts = plan_parts(conn, plan_id)
        if any(read.get(_key(p), _version(p)) != _version(p) for p in parts):
            raise TryAgain(f"CarePlan/{plan_id} changed while it was read for {sender}")
        written = mark_plan(repository, conn, parts, "handover-pending")
        output = [
            *accepted,
            {"type": code("successor-plan"), "valueString": f"urn:uuid:{successor}"},
        ]
        task = _save(repository, conn, mine, sender, incoming, status="in-progress", output=output)
        record_write(
            conn,
            organisation=me,
            interaction="update",
            patient=None,
            patient_ref=str(as_dict(mine.get("for")).get("reference", "")),
            stored=written,
            detail=f"ip-transfer {tid}: the plan is handed over to {sender} (pending)",
        )
        sent = task_message(task, **{"for": {"reference": f"urn:uuid:{patient['id']}"}})
        queue(
            conn,
            event=TRANSFER_PLAN,
            mid=message_id(tid, "plan"),
            source=source,
            destination=destination,
            timestamp=_now(),
            resources=[sent, *carried],
            person=str(as_dict(mine.get("for")).get("reference", "")),
        )

    return act


def _key(resource: Resource) -> str:
    return f"{resource.get('resourceType')}/{resource.get('id')}"


def _version(resource: Resource) -> str:
    return str(as_dict(resource.get("meta")).get("versionId"))


def _overlap(task: Resource) -> int:
    for item in dicts(task.get("input")):
        value = item.get("valueInteger")
        if isinstance(value, int):
            return value
    return 0


def _successor(task: Resource) -> str | None:
    """The id A gave its plan in the plan message (``urn:uuid:<id>``, B stores it under it)."""
    for o in dicts(task.get("output")):
        codes = {c.get("code") for c in dicts(as_dict(o.get("type")).get("coding"))}
        value = o.get("valueString")
        if "successor-plan" in codes and isinstance(value, str):
            return value.removeprefix("urn:uuid:")
    return None


def _sent(repository: SqlRepository, tid: str) -> bool:
    """Has the plan message of transfer ``tid`` left (at least one attempt, not refused by the
    receiver or held back unsent by the gate)?"""
    message = Outbox(repository.engine).get(message_id(tid, "plan"))
    if message is None or message.attempts < 1:
        return False
    return message.status != "dead" or not refused_unsent(message.last_error, message.attempts)


def _completed(
    repository: SqlRepository,
    directory: SqlDirectory,
    mine: Resource,
    sender: str,
    incoming: Incoming,
) -> Act:
    plan_id = str(as_dict(mine.get("focus")).get("reference", "")).removeprefix("CarePlan/")
    address = next(
        (
            str(as_dict(o.get("valueReference")).get("reference"))
            for o in dicts(incoming.focus.get("output"))
            if isinstance(as_dict(o.get("valueReference")).get("reference"), str)
        ),
        None,
    )
    entry = directory.get(sender)
    endpoint = entry.endpoint.address.rstrip("/") if entry and entry.endpoint else None
    successor = _successor(mine)
    if (
        address is None
        or endpoint is None
        or successor is None
        or address != f"{endpoint}/CarePlan/{successor}"
        or not _sent(repository, str(mine["id"]))
    ):
        raise refused(
            "a completed transfer names the plan stored from this adapter's plan message, "
            "at the answering organisation's endpoint",
            "Task.output",
        )
    today = dt.date.today()

    def act(conn: Connection) -> None:
        parts = plan_parts(conn, plan_id)
        for part in parts:
            if part["resourceType"] == "CarePlan":
                part["status"] = "completed"
                part["period"] = {**as_dict(part.get("period")), "end": today.isoformat()}
            elif part["resourceType"] == "CareTeam":
                part.update(pass_coordination(part, today, _overlap(mine), None))
        written = mark_plan(repository, conn, parts, "handed-over")
        me = orgnr_in(mine.get("requester")) or ""
        provenance = {
            "resourceType": "Provenance",
            "target": [{"reference": f"CarePlan/{plan_id}"}],
            "recorded": _now(),
            "activity": code(TRANSFER_PLAN),
            "agent": [{"who": as_dict(mine.get("requester"))}, {"who": as_dict(mine.get("owner"))}],
            "entity": [{"role": "revision", "what": {"reference": address[:500]}}],
        }
        written.append(repository.writer.create(conn, provenance, str(uuid.uuid4())))
        output = [{"type": code("successor-plan"), "valueReference": {"reference": address[:500]}}]
        written.append(
            _save(repository, conn, mine, sender, incoming, status="completed", output=output)
        )
        record_write(
            conn,
            organisation=me,
            interaction="update",
            patient=None,
            patient_ref=str(as_dict(mine.get("for")).get("reference", "")),
            stored=written,
            detail=f"ip-transfer {mine['id']}: handed over to {sender}, {address[:120]}",
        )

    return act


def _not_stored(repository: SqlRepository, mine: Resource, sender: str, incoming: Incoming) -> Act:
    """B, asked, has not stored the plan and has closed its side: the plan is writable again
    and the Task failed (IP-6105). Taken only as the answer to a query this adapter sent."""
    tid = str(mine["id"])
    if not queries(Outbox(repository.engine), tid):
        raise refused("a transfer is failed by the receiver only when asked", "Task.status")
    why = "IP-6105: " + MESSAGES["IP-6105"].format(orgnr=sender)

    def act(conn: Connection) -> None:
        current_task = find_task(repository, str(task_identifier(mine)), conn)
        if current_task.get("status") != "in-progress":
            raise refused(f"the transfer is {current_task.get('status')} here", "Task.status")
        detail = f"received ip-transfer-response {incoming.message_id}: not stored, failed"
        lift(repository, current_task, why, detail=detail, conn=conn)

    return act


def transfer_handlers(
    repository: SqlRepository, directory: SqlDirectory, base: str, factory: Any
) -> dict[str, Handler]:
    """The receiver's handlers of the plan transfer's four events (``factory``: the
    consent-enforcing ``secure_factory`` of this adapter's store, for the plan as B may see
    it)."""

    def request(sender: str, incoming: Incoming) -> Act:
        return store_request(repository, directory, sender, incoming)

    def plan(sender: str, incoming: Incoming) -> Act:
        return store_plan(repository, directory, base, sender, incoming)

    def answer(sender: str, incoming: Incoming) -> Act:
        return apply_answer(repository, directory, factory, base, sender, incoming)

    def query(sender: str, incoming: Incoming) -> Act:
        return answer_query(repository, directory, base, sender, incoming)

    return {
        TRANSFER: request,
        TRANSFER_PLAN: plan,
        TRANSFER_RESPONSE: answer,
        TRANSFER_QUERY: query,
    }
