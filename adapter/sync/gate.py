"""The consent checked again when a notification is about to leave.

A notification is built from what the consent allowed when it was queued; a consent withdrawn,
narrowed or expired since then must stop everything not yet shared. Just before each send the
worker asks :class:`ConsentGate`: the content is read again as the receiver may see it now,
through the server's enforcement (:func:`~adapter.sync.content.seen_by` over
``repository_for(Actor(organisation=<receiver>))``, audited like any disclosure), and the
queued message must carry nothing more — the same Patient, and only services and coordinator
contacts the receiver still sees. If it carries more (the receiver no longer sees the person,
or a measure, a contact or a detail of the person is refused now, or a practitioner is refused
outright whom the message does not name as refused), the message ends dead,
unsent, with IP-6056 — visible in ``ipfhir outbox list`` and replayable should the person
consent again (a new notification carries what the consent gives now).

The route is resolved again too, for every exchange message (a Bundle led by a MessageHeader
with an event: notifications and their answers alike): the directory must still route the
addressed organisation (``MessageHeader.destination.receiver``) to the message's destination,
with its endpoint active; an endpoint suspended or moved since queuing ends the message dead,
unsent, with IP-6057 (nothing goes to an address the directory no longer vouches for).

A plan transfer's request and plan (``ip-transfer``, ``ip-transfer-plan``) are held back the
same way when the receiver no longer sees the person at all (IP-6056; the requesting side's
Task then fails and its plan stays active, :mod:`adapter.sync.transfer_state`). The plan is
read again as the receiver may see it now (``$everything`` of the plan the requesting side's
Task is about, through the same enforcement, :func:`~adapter.sync.handover.carried_plan`):
a queued plan message carrying anything that read does not (a topic, an environment or an
individual refused since, a detail changed) is held back too (IP-6056) — as a notification is.

A transfer's request, plan or query (``ip-transfer-query``) leaves only while the sending
side's transfer Task is still open: one failed, abandoned (``ipfhir transfer abandon``) or
ended by a revocation notice since the message was queued holds it back, unsent (IP-6109) —
nothing reaches B once A's plan is writable again.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from ipfhir.adapter.directory.store import SqlDirectory
from ipfhir.adapter.errors import NotFound
from ipfhir.adapter.store.outbox import Message
from ipfhir.adapter.sync.content import Seen, receiver_actor, seen_by
from ipfhir.adapter.sync.handover import carried_plan, carries_no_more
from ipfhir.adapter.sync.inbox import orgnr_in, task_identifier
from ipfhir.adapter.sync.messages import MESSAGES
from ipfhir.adapter.sync.messaging import (
    EXCHANGE_SYSTEM,
    NOTIFICATION,
    TRANSFER,
    TRANSFER_PLAN,
    TRANSFER_QUERY,
)
from ipfhir.adapter.sync.refusals import carried_refusals, refused_individuals
from ipfhir.adapter.sync.transfer_tasks import OPEN

__all__ = ["ConsentGate"]

_INPUTS = {"service-involved": "services", "temporary-coordinator": "contacts"}


def _carried(payload: dict[str, Any], rtype: str) -> list[dict[str, Any]]:
    entries = payload.get("entry")
    return [
        resource
        for entry in (entries[1:] if isinstance(entries, list) else [])
        if isinstance(entry, dict)
        and isinstance(resource := entry.get("resource"), dict)
        and resource.get("resourceType") == rtype
    ]


def _receiver(payload: dict[str, Any]) -> str | None:
    tasks = _carried(payload, "Task")
    return orgnr_in(tasks[0].get("owner")) if len(tasks) == 1 else None


def _input_kind(item: Any) -> str | None:
    coding = (item.get("type") or {}).get("coding") if isinstance(item, dict) else None
    for c in coding if isinstance(coding, list) else []:
        if isinstance(c, dict) and c.get("system") == EXCHANGE_SYSTEM:
            return _INPUTS.get(str(c.get("code")), "unknown")
    return "unknown"


def _still_covered(payload: dict[str, Any], seen: Seen) -> bool:
    """Does the queued message carry nothing more than ``seen`` (what the receiver sees now)?"""
    patients = _carried(payload, "Patient")
    if len(patients) != 1 or len(_carried(payload, "Task")) != 1:
        return False
    now = {k: v for k, v in seen.patient.items() if k != "id"}
    if {k: v for k, v in patients[0].items() if k != "id"} != now:
        return False
    allowed = {"services": set(seen.services), "contacts": set(seen.contacts)}
    inputs = _carried(payload, "Task")[0].get("input") or []
    for item in inputs if isinstance(inputs, list) else [inputs]:
        kind = _input_kind(item)
        value = item.get("valueString") if isinstance(item, dict) else None
        if kind not in allowed or value not in allowed[kind]:
            return False
    return True


def _event(payload: dict[str, Any]) -> str | None:
    """The MessageHeader event of a message Bundle (what the message is, whatever its
    outbox ``kind`` says)."""
    entries = payload.get("entry")
    first = entries[0] if isinstance(entries, list) and entries else None
    header = first.get("resource") if isinstance(first, dict) else None
    if not isinstance(header, dict) or header.get("resourceType") != "MessageHeader":
        return None
    coding = header.get("eventCoding")
    return coding.get("code") if isinstance(coding, dict) else None


def _addressee(payload: dict[str, Any]) -> str | None:
    entries = payload.get("entry")
    first = entries[0] if isinstance(entries, list) and entries else None
    header = first.get("resource") if isinstance(first, dict) else None
    targets = header.get("destination") if isinstance(header, dict) else None
    if not isinstance(targets, list) or len(targets) != 1 or not isinstance(targets[0], dict):
        return None
    return orgnr_in(targets[0].get("receiver"))


def _transfer_id(payload: dict[str, Any]) -> str | None:
    tasks = _carried(payload, "Task")
    ident = task_identifier(tasks[0]) if len(tasks) == 1 else None
    return ident.removeprefix("urn:uuid:") if ident else None


class ConsentGate:
    """``factory``: ``secure_factory(wiring)`` of the sender's store; ``directory``: the
    sender's directory (by default the one in the factory's store database)."""

    def __init__(self, factory: Any, directory: SqlDirectory | None = None) -> None:
        self._factory = factory
        self._directory = directory or SqlDirectory(factory.enforcement.inner.engine)

    def __call__(self, message: Message) -> str | None:
        return self._route(message) or self._transfer_open(message) or self._consent(message)

    def _transfer_open(self, message: Message) -> str | None:
        """A transfer's request, plan or query leaves only while this adapter's transfer Task
        is open (not failed, abandoned or ended by a revocation since it was queued)."""
        if _event(message.payload) not in (TRANSFER, TRANSFER_PLAN, TRANSFER_QUERY):
            return None
        tid = _transfer_id(message.payload)
        try:
            task = self._factory.enforcement.inner.read("Task", tid) if tid else {}
        except NotFound:
            task = {}
        status = task.get("status") if isinstance(task, dict) else None
        if status in OPEN:
            return None
        return "IP-6109: " + MESSAGES["IP-6109"].format(tid=tid, status=status or "unknown")

    def _route(self, message: Message) -> str | None:
        if _event(message.payload) is None:
            return None  # no exchange message: nothing addressed to a directory organisation
        orgnr = _addressee(message.payload)
        entry = self._directory.get(orgnr) if orgnr is not None else None
        here = entry.endpoint.address.rstrip("/") if entry and entry.endpoint else None
        if entry is None or not entry.routable or message.destination != f"{here}/$process-message":
            return "IP-6057: " + MESSAGES["IP-6057"].format(orgnr=orgnr)
        return None

    def _consent(self, message: Message) -> str | None:
        event = _event(message.payload)
        if event not in (NOTIFICATION, TRANSFER, TRANSFER_PLAN):
            return None  # answers carry no person data
        receiver = _receiver(message.payload)
        rtype, _, pid = (message.person or "").partition("/")
        refusal = "IP-6056: " + MESSAGES["IP-6056"].format(orgnr=receiver)
        if receiver is None or rtype != "Patient" or not pid:
            return refusal
        actor = receiver_actor(receiver)
        repo = self._factory.repository_for(actor)
        today = dt.date.today().isoformat()
        seen = seen_by(repo, pid, today)
        if seen is None:
            return refusal
        if event == TRANSFER_PLAN and not self._plan_covered(message.payload, repo):
            return refusal
        if event == NOTIFICATION:
            if not _still_covered(message.payload, seen):
                return refusal
            refused_now = refused_individuals(self._factory.enforcement.inner, pid, today)
            if not set(refused_now) <= carried_refusals(_carried(message.payload, "Task")[0]):
                return refusal  # someone refused since: the message would not say so
        return None

    def _plan_covered(self, payload: dict[str, Any], repo: Any) -> bool:
        """Does the queued plan message carry nothing more than the plan its Task (this
        adapter's transfer Task) is about, as the receiver (``repo``) may see it now?"""
        tid = _transfer_id(payload)
        try:
            task = self._factory.enforcement.inner.read("Task", tid) if tid else {}
        except NotFound:
            task = {}
        focus = task.get("focus") if isinstance(task, dict) else None
        ref = str(focus.get("reference", "")) if isinstance(focus, dict) else ""
        if not ref.startswith("CarePlan/"):
            return False
        try:
            seen = repo.everything(ref.removeprefix("CarePlan/"))
        except NotFound:
            return False
        now, _fresh = carried_plan(seen)
        entries = payload.get("entry")
        queued = [
            resource
            for entry in (entries[1:] if isinstance(entries, list) else [])
            if isinstance(entry, dict)
            and isinstance(resource := entry.get("resource"), dict)
            and resource.get("resourceType") != "Task"
        ]
        return carries_no_more(queued, now)
