"""Use case: the person moves, and their one individual plan moves with them from municipality A
to municipality B (forskrift om individuell plan: one plan wherever the person lives; the new
municipality takes over coordination). ``ipfhir transfer``.

The handover is a Task on each side (:mod:`adapter.sync.transfer_tasks`) and four messages,
each queued in the same transaction as the state change it announces:

1. :func:`request` (A): A's coordinating unit, owner of the person's active plan, asks B — routed
   by the directory from the person's new home address (or ``--to-kommune`` / ``--to-org``).
   The request carries the Patient as B may see it (``secure_factory(...).repository_for(
   Actor(organisation=B))``: judged, audited, ledgered); a consent that gives B nothing → IP-6051,
   nothing queued. A's plan stays active and writable.
2. :func:`respond` (B): accept (naming the coordinator B appoints — with their HPR number, B's
   stored CareTeam names them as a PractitionerRole at B, so their token holds the plan there;
   refused while B holds an active plan for the person, IP-6092) or decline with a reason.
3. On acceptance A reads the plan as B may see it, marks it ``handover-pending`` (read-only,
   still active) and sends it; B stores it as the person's active plan, owned by B, with
   coordination passed over the declared overlap, and confirms — all in B's one transaction
   (:mod:`adapter.sync.transfer_inbox`).
4. On B's confirmation A's plan becomes ``completed``, ``handed-over`` (read-only for good) and
   linked to B's plan by Provenance. Nothing is deleted; neither side ever holds two active
   plans for the person (the store's one-plan rule, IP-4401, is checked inside each transaction).

If B declines, never answers by the deadline, cannot be reached (a message dead-lettered), or
the consent stops the plan before it leaves, A's plan stays active (a pending mark is lifted)
and A's Task says why in ``statusReason`` — the delivery worker brings each Task up to date
with its messages every so often (:func:`~adapter.sync.transfer_state.settle_transfers`), and
:func:`status` does so at once. A plan message that died but may have reached B keeps A's plan
pending until B, asked (``ip-transfer-query``), confirms or says it has not stored it.

:func:`abandon` (A's operator, when B is gone for good): an open transfer A requested is ended
— the plan writable again, the Task ``failed`` with the operator's reason (IP-6108), audited;
a message of the transfer still queued is held back at the send-time gate
(:mod:`adapter.sync.gate`, IP-6111). B may hold a copy if the plan message reached it.
"""

from __future__ import annotations

import datetime as dt
import re
import uuid
from dataclasses import dataclass
from typing import Any

from ipfhir.adapter.consent.policy import OWNER_ROLE
from ipfhir.adapter.directory.model import as_dict, person_kommunenummer
from ipfhir.adapter.directory.store import SqlDirectory
from ipfhir.adapter.errors import NotFound
from ipfhir.adapter.ports import Actor, SearchParam, SearchQuery
from ipfhir.adapter.sync.content import receiver_actor, seen_by
from ipfhir.adapter.sync.inbox import TASK_IDENTIFIER_SYSTEM, orgnr_in
from ipfhir.adapter.sync.messages import MESSAGES, NotifyRefused, TransferRefused, issue_sync
from ipfhir.adapter.sync.messaging import TRANSFER, TRANSFER_RESPONSE, Party, code
from ipfhir.adapter.sync.transfer_state import lift, settle_transfers
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
from ipfhir.mappings.identifiers import HPR_SYSTEM

__all__ = ["Queued", "abandon", "request", "respond", "status"]

Resource = dict[str, Any]
MAX_OVERLAP = 90


@dataclass(frozen=True)
class Queued:
    message_id: str
    task_id: str
    destination: str
    receiver: str


def _now() -> str:
    return dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _route(directory: SqlDirectory, patient: Resource, kommune: str | None, org: str | None) -> Any:
    if kommune is None and org is None:
        kommune = person_kommunenummer(patient, dt.date.today().isoformat())
        if kommune is None:
            pid = str(patient.get("id"))
            raise NotifyRefused([issue_sync("IP-6052", None, "required", pid=pid)])
    return directory.route(kommunenummer=kommune, orgnr=org)


def _owned_plan(factory: Any, owner: str, pid: str) -> Resource:
    """The person's active plan as ``owner``'s coordinating unit sees it, when ``owner`` owns
    it; IP-6090 otherwise (the same answer for a plan hidden from ``owner`` and none)."""
    actor = Actor(organisation=owner, roles=(OWNER_ROLE,), scopes=("system/*.rs",), purpose="COC")
    repo = factory.repository_for(actor)
    query = SearchQuery(
        "CarePlan",
        (SearchParam("subject", (f"Patient/{pid}",)), SearchParam("status", ("active",))),
        count=5,
    )
    for plan in repo.search(query).matches:
        author = str(as_dict(plan.get("author")).get("reference", ""))
        rtype, _, oid = author.partition("/")
        try:
            org = repo.read(rtype, oid) if rtype == "Organization" else {}
        except NotFound:
            org = {}
        if any(i.get("value") == owner for i in org.get("identifier") or []):
            return dict(plan)
    raise TransferRefused([issue_sync("IP-6090", None, "not-found", pid=pid, orgnr=owner)])


def _under_way(wiring: Any, plan_id: str) -> None:
    query = SearchQuery("Task", (SearchParam("focus", (f"CarePlan/{plan_id}",)),), count=50)
    for task in wiring.repository.search(query).matches:
        if is_transfer(task) and task.get("status") in OPEN:
            tid, state = str(task["id"]), str(task.get("status"))
            raise TransferRefused([issue_sync("IP-6093", None, "conflict", tid=tid, status=state)])


def request(
    wiring: Any,
    factory: Any,
    directory: SqlDirectory,
    *,
    sender: Party,
    patient_id: str,
    to_kommune: str | None = None,
    to_org: str | None = None,
    overlap_days: int = 14,
    answer_days: int = 14,
    why: str | None = None,
) -> Queued:
    """A asks B to take the person's plan over (step 1 of the module doc)."""
    if not 0 <= overlap_days <= MAX_OVERLAP:
        raise TransferRefused([issue_sync("IP-6099", None, "value", value=str(overlap_days))])
    plan = _owned_plan(factory, sender.orgnr, patient_id)
    patient = wiring.repository.read("Patient", patient_id)
    entry = _route(directory, patient, to_kommune, to_org)
    receiver = party(directory, entry.orgnr)
    assert receiver is not None  # a routed entry is routable
    _under_way(wiring, str(plan["id"]))
    actor = receiver_actor(receiver.orgnr)
    seen = seen_by(factory.repository_for(actor), patient_id, dt.date.today().isoformat())
    if seen is None:
        raise NotifyRefused([issue_sync("IP-6051", None, "forbidden", orgnr=receiver.orgnr)])
    task_id, now = str(uuid.uuid4()), _now()
    by = (dt.date.today() + dt.timedelta(days=answer_days)).isoformat()
    task: Resource = {
        "resourceType": "Task",
        "id": task_id,
        "identifier": [{"system": TASK_IDENTIFIER_SYSTEM, "value": f"urn:uuid:{task_id}"}],
        "status": "requested",
        "intent": "proposal",
        "code": code(TRANSFER),
        "description": "Overføring av individuell plan ved flytting",
        "focus": {"reference": f"CarePlan/{plan['id']}"},
        "for": {"reference": f"Patient/{patient_id}"},
        "authoredOn": now,
        "requester": sender.reference(),
        "owner": receiver.reference(),
        "restriction": {"period": {"end": by}},
        "input": [{"type": code("handover-overlap-days"), "valueInteger": overlap_days}],
    }
    if why:
        task["reasonCode"] = reason(why)
    sent = task_message(task, **{"for": {"reference": f"urn:uuid:{seen.patient['id']}"}})
    mid = message_id(task_id, "request")
    with wiring.repository.begin_write() as conn:
        save_task(
            wiring.repository,
            conn,
            task,
            organisation=sender.orgnr,
            patient=patient,
            detail=f"ip-transfer {mid} to {receiver.orgnr}",
            create=True,
        )
        queue(
            conn,
            event=TRANSFER,
            mid=mid,
            source=sender,
            destination=receiver,
            timestamp=now,
            resources=[sent, seen.patient],
            person=f"Patient/{patient_id}",
        )
    return Queued(mid, task_id, receiver.endpoint + "/$process-message", receiver.orgnr)


def _active_plan_here(wiring: Any, patient_ref: str) -> bool:
    query = SearchQuery(
        "CarePlan",
        (SearchParam("subject", (patient_ref,)), SearchParam("status", ("active",))),
        count=1,
    )
    return bool(wiring.repository.search(query).matches)


def respond(
    wiring: Any,
    directory: SqlDirectory,
    *,
    responder: Party,
    task_id: str,
    accept: bool,
    text: str | None = None,
    coordinator_hpr: str | None = None,
) -> Queued:
    """B accepts (``text``: the coordinator it appoints; ``coordinator_hpr``: that
    practitioner's HPR number, so B's stored CareTeam names them as a PractitionerRole at B and
    their token holds the plan) or declines (``text``: why) the transfer request ``task_id``
    it received; the answer is queued to A in the same transaction. An HPR number that is not
    one (1–9 digits), or one given with a decline, is refused (IP-6111)."""
    if coordinator_hpr is not None and (
        not accept or not re.fullmatch(r"[0-9]{1,9}", coordinator_hpr, flags=re.ASCII)
    ):
        shown = coordinator_hpr[:20]
        raise TransferRefused([issue_sync("IP-6111", None, "value", value=shown)])
    try:
        task: Resource = wiring.repository.read("Task", task_id)
    except NotFound:
        task = {}
    requester = orgnr_in(task.get("requester"))
    received = orgnr_in(task.get("owner")) == responder.orgnr and requester != responder.orgnr
    if not is_transfer(task) or task.get("status") != "requested" or not received:
        # a Task not addressed to the responder answers exactly as a missing one
        shown = str(task.get("status")) if is_transfer(task) and received else "not found"
        raise TransferRefused([issue_sync("IP-6091", None, "not-found", tid=task_id, status=shown)])
    person = str(as_dict(task.get("for")).get("reference", ""))
    if accept and _active_plan_here(wiring, person):
        raise TransferRefused([issue_sync("IP-6092", "Task.for", "business-rule")])
    sender = party(directory, directory.route(orgnr=str(requester)).orgnr)
    assert sender is not None  # a routed entry is routable
    now = _now()
    answered = {k: v for k, v in task.items() if k != "meta"}
    answered.update(status="accepted" if accept else "rejected", lastModified=now)
    if accept and (text or coordinator_hpr):
        name = (text or f"HPR {coordinator_hpr}")[:300]
        answered["output"] = [{"type": code("coordinator"), "valueString": name}]
    if accept and coordinator_hpr:
        hpr = {"system": HPR_SYSTEM, "value": coordinator_hpr}
        answered["output"].append({"type": code("coordinator"), "valueIdentifier": hpr})
    if not accept:
        answered["statusReason"] = reason(text or "Avslått av mottakende kommune")
    ident = str(answered["identifier"][0]["value"]).removeprefix("urn:uuid:")
    mid = message_id(ident, "answer")
    with wiring.repository.begin_write() as conn:
        save_task(
            wiring.repository,
            conn,
            answered,
            organisation=responder.orgnr,
            patient=None,
            detail=f"ip-transfer-response {mid} ({answered['status']}) to {sender.orgnr}",
        )
        queue(
            conn,
            event=TRANSFER_RESPONSE,
            mid=mid,
            source=responder,
            destination=sender,
            timestamp=now,
            resources=[task_message(answered)],
            person=person,
        )
    return Queued(mid, task_id, sender.endpoint + "/$process-message", sender.orgnr)


def status(wiring: Any, task_id: str | None = None) -> list[Resource]:
    """The transfer Tasks here (or the one ``task_id``), each first brought up to date with its
    messages (a dead-lettered message or a passed deadline fails it, :mod:`adapter.sync
    .transfer_state`)."""
    settle_transfers(wiring.repository)
    if task_id is not None:
        try:
            task = wiring.repository.read("Task", task_id)
        except NotFound:
            task = {}
        if not is_transfer(task):
            raise TransferRefused([issue_sync("IP-6094", None, "not-found", tid=task_id)])
        return [task]
    query = SearchQuery("Task", count=500, sort=("-_lastUpdated",))
    return [t for t in wiring.repository.search(query).matches if is_transfer(t)]


def abandon(wiring: Any, *, orgnr: str, task_id: str, why: str) -> Resource:
    """A's operator ends the open transfer ``task_id`` that ``orgnr`` requested (module doc);
    the Task as written. IP-6106 for a Task that is not such a transfer (the same for none),
    IP-6107 for one already closed."""
    try:
        task: Resource = wiring.repository.read("Task", task_id)
    except NotFound:
        task = {}
    if not is_transfer(task) or "focus" not in task or orgnr_in(task.get("requester")) != orgnr:
        raise TransferRefused(
            [issue_sync("IP-6106", None, "not-found", tid=task_id[:64], orgnr=orgnr)]
        )
    if task.get("status") not in OPEN:
        shown = str(task.get("status"))
        raise TransferRefused(
            [issue_sync("IP-6107", "Task.status", "conflict", tid=task_id, status=shown)]
        )
    receiver = orgnr_in(task.get("owner")) or "?"
    text = " ".join(why.split())[:500]
    reason_text = "IP-6108: " + MESSAGES["IP-6108"].format(orgnr=orgnr, receiver=receiver, why=text)
    return lift(
        wiring.repository,
        task,
        reason_text,
        detail=f"ip-transfer {task_id} abandoned by {orgnr}: {text}"[:1000],
    )
