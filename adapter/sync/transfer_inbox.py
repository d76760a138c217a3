"""The plan transfer's messages as the new municipality (B) receives them, on the receiver's one
write transaction (:class:`~adapter.sync.receiver.Receiver` with these handlers): what a
message does and the row recording its answer commit together, and a refusal (IP-6075,
IP-6092, IP-6095) is answered ``fatal-error`` and changes nothing.

- ``ip-transfer`` (A → B): the request is filed in B's inbox like a notification (the Patient
  bound by fødselsnummer, the Organizations from B's directory), status ``requested``.
- ``ip-transfer-plan`` (A → B, after B accepted): the plan becomes the person's active plan
  here — every resource under the id the message gave it, references only among the carried
  resources (anything else is reduced to its display: A cannot point into B's store), owned by
  B (``CarePlan.author``, ``CareTeam.managingOrganization``), coordination passed over the
  declared overlap to the coordinator B appointed (named by HPR number when B gave one: a
  PractitionerRole at B of the Practitioner with that HPR number, so that practitioner's token
  holds the plan here), a Provenance naming the transfer; B's Task ``completed``; and the
  confirmation to A queued — all in one transaction. The message is about the one person B's
  Task is for: exactly one Patient (``Task.for``), its fødselsnummer / D-nummer that person's,
  and no reference naming anyone else by fødselsnummer (IP-6095 otherwise, nothing stored). A
  person with an active plan here already gets none (IP-6092: one plan per person, the store's
  IP-4401 checked in the same transaction).

- ``ip-transfer-query`` (A → B: A's plan message died, it may have reached B, no confirmation
  came): B answers from its own records, in one transaction. B's Task ``completed`` (the plan
  is stored): B's confirmation is queued again (a fresh message id). B's Task ``accepted`` (no
  plan stored): B's Task becomes ``failed`` (IP-6104) — a plan message arriving later for it is
  refused (``store_plan`` takes an ``accepted`` transfer only) — and "not stored" (the Task
  ``failed``) is queued to A; asked again, the same. Only the organisation that requested
  the transfer, asking the organisation it addressed, gets this; anyone else is refused exactly
  as for a transfer unknown here (IP-6095). A duplicate query (the same message id) gets the
  first answer from the receiver's de-duplication, nothing queued again.

What A does with B's answers is in :mod:`adapter.sync.transfer_back`.
"""

from __future__ import annotations

import copy
import datetime as dt
import uuid
from collections.abc import Callable
from typing import Any

from sqlalchemy import Connection

from ipfhir.adapter.directory.model import as_dict, dicts
from ipfhir.adapter.directory.store import SqlDirectory
from ipfhir.adapter.errors import Conflict
from ipfhir.adapter.ports import SearchParam, SearchQuery
from ipfhir.adapter.store.repository import SqlRepository
from ipfhir.adapter.sync.binding import bind_organisation, bind_patient
from ipfhir.adapter.sync.handover import CARRIED_TYPES, pass_coordination, rewrite_references
from ipfhir.adapter.sync.inbox import orgnr_in, task_identifier
from ipfhir.adapter.sync.messages import MESSAGES, MessageRefused, issue_sync
from ipfhir.adapter.sync.messaging import TRANSFER_PLAN, TRANSFER_RESPONSE, Incoming, Party, code
from ipfhir.adapter.sync.recorded import record_write
from ipfhir.adapter.sync.transfer_state import current
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
from ipfhir.mappings.identifiers import DNR_SYSTEM, FNR_SYSTEM, HPR_SYSTEM, ORGNR_SYSTEM

__all__ = ["Act", "answer_query", "refused", "store_request", "store_plan"]

Resource = dict[str, Any]
Act = Callable[[Connection], None]


def refused(detail: str, where: str = "Task") -> MessageRefused:
    return MessageRefused([issue_sync("IP-6095", where, "business-rule", detail=detail)])


def _org_ref(
    repository: SqlRepository, conn: Connection, directory: SqlDirectory, orgnr: str
) -> tuple[Resource, list[Resource]]:
    entry = directory.get(orgnr)
    name = entry.name[:200] if entry is not None else orgnr
    ref, written = bind_organisation(repository, conn, orgnr, name)
    return {
        "reference": ref,
        "identifier": {"system": ORGNR_SYSTEM, "value": orgnr},
        "display": name,
    }, written


def _patient_of(incoming: Incoming) -> Resource:
    patient = incoming.resources.get(str(as_dict(incoming.focus.get("for")).get("reference")))
    if patient is None or patient.get("resourceType") != "Patient":
        raise refused("Task.for must name a Patient in the Bundle", "Task.for")
    return patient


def store_request(
    repository: SqlRepository, directory: SqlDirectory, sender: str, incoming: Incoming
) -> Act:
    """``ip-transfer``: the request into B's inbox (see the module doc)."""
    task = copy.deepcopy(incoming.focus)
    ident = task_identifier(task)
    if not is_transfer(task) or ident is None:
        raise refused("Task.code must be ip-exchange ip-transfer, with an identifier")
    if orgnr_in(task.get("owner")) != incoming.receiver_orgnr:
        raise refused("Task.owner must be the organisation the message is addressed to")
    if orgnr_in(task.get("requester")) != sender:
        raise refused("Task.requester must be the sending organisation", "Task.requester")
    if task.get("status") != "requested" or task.get("intent") != "proposal":
        raise refused("a transfer request is status requested, intent proposal", "Task.status")
    patient = _patient_of(incoming)

    def act(conn: Connection) -> None:
        if find_task(repository, ident, conn):
            raise refused("this transfer is filed here already", "Task.identifier")
        patient_ref, stored_patient, written = bind_patient(repository, conn, patient)
        owner, owner_written = _org_ref(repository, conn, directory, str(incoming.receiver_orgnr))
        requester, sender_written = _org_ref(repository, conn, directory, sender)
        body = {k: v for k, v in task.items() if k not in ("meta", "focus")}
        body.update({"for": {"reference": patient_ref}, "owner": owner, "requester": requester})
        stored = repository.writer.create(conn, body, str(uuid.uuid4()))
        record_write(
            conn,
            organisation=sender,
            interaction="create",
            patient=stored_patient,
            patient_ref=patient_ref,
            stored=[stored, *written, *owner_written, *sender_written],
            detail=f"received ip-transfer {incoming.message_id}",
        )

    return act


def _overlap(task: Resource) -> int:
    for item in dicts(task.get("input")):
        codes = {c.get("code") for c in dicts(as_dict(item.get("type")).get("coding"))}
        value = item.get("valueInteger")
        if "handover-overlap-days" in codes and isinstance(value, int) and 0 <= value <= 90:
            return value
    return 0


def _output(task: Resource, kind: str) -> str | None:
    for item in dicts(task.get("output")):
        codes = {c.get("code") for c in dicts(as_dict(item.get("type")).get("coding"))}
        if kind in codes and isinstance(item.get("valueString"), str):
            return str(item["valueString"])
    return None


def _coordinator_hpr(task: Resource) -> str | None:
    """The HPR number of the coordinator B appointed (``transfer respond --coordinator-hpr``)."""
    for item in dicts(task.get("output")):
        ident = as_dict(item.get("valueIdentifier"))
        if ident.get("system") == HPR_SYSTEM and isinstance(ident.get("value"), str):
            return str(ident["value"])
    return None


def _coordinator_role(
    repository: SqlRepository, conn: Connection, hpr: str, name: str, organisation: str
) -> tuple[Resource, list[Resource]]:
    """The CareTeam member naming B's coordinator: a PractitionerRole at ``organisation``
    (B's Organization) of the Practitioner with HPR number ``hpr`` (the one stored here, or
    a new one named ``name``) — how the consent policy recognises a coordinator — and what
    was written for it."""
    query = SearchQuery(
        "Practitioner", (SearchParam("identifier", (f"{HPR_SYSTEM}|{hpr}",)),), count=2
    )
    found = repository._search(conn, query).matches
    written = []
    if len(found) == 1:
        practitioner_id = str(found[0]["id"])
    else:
        practitioner_id = str(uuid.uuid4())
        body = {
            "resourceType": "Practitioner",
            "identifier": [{"system": HPR_SYSTEM, "value": hpr}],
            "name": [{"text": name[:200]}],
        }
        written.append(repository.writer.create(conn, body, practitioner_id))
    role = {
        "resourceType": "PractitionerRole",
        "practitioner": {"reference": f"Practitioner/{practitioner_id}"},
        "organization": {"reference": organisation},
    }
    stored = repository.writer.create(conn, role, str(uuid.uuid4()))
    written.append(stored)
    return {"reference": f"PractitionerRole/{stored['id']}"}, written


def _carried(incoming: Incoming) -> tuple[list[tuple[str, Resource]], str]:
    """(fullUrl, resource) of every carried resource but the Task and the Patient, and the
    Patient's fullUrl; IP-6095 for anything a plan transfer does not carry."""
    patient_url = str(as_dict(incoming.focus.get("for")).get("reference"))
    _patient_of(incoming)
    out = []
    for url, res in incoming.resources.items():
        rtype = res.get("resourceType")
        if res is incoming.focus or url == patient_url:
            continue
        rid = str(res.get("id", ""))
        if rtype == "Patient":
            raise refused("a plan transfer carries one Patient: the person of Task.for", "Bundle")
        if rtype not in CARRIED_TYPES or url != f"urn:uuid:{rid}" or len(rid) != 36:
            raise refused(f"a plan transfer carries no {str(rtype)[:40]} at {url[:80]}", "Bundle")
        out.append((url, res))
    plans = [r for _u, r in out if r.get("resourceType") == "CarePlan"]
    if len(plans) != 1 or plans[0].get("status") != "active":
        raise refused("a plan transfer carries exactly one active CarePlan", "Bundle")
    person = _person_ids(incoming.resources[patient_url])
    for url, res in out:
        if not _names_only(res, person):
            raise refused(f"the resource at {url[:80]} names another person", "Bundle")
    return out, patient_url


def _person_ids(patient: Resource) -> set[tuple[str, str]]:
    """The fødselsnummer and D-nummer identifiers of ``patient``."""
    return {
        (str(i.get("system")), str(i.get("value")))
        for i in dicts(patient.get("identifier"))
        if i.get("system") in (FNR_SYSTEM, DNR_SYSTEM)
    }


def _names_only(value: Any, person: set[tuple[str, str]]) -> bool:
    """Does every reference in ``value`` that names a person by fødselsnummer or D-nummer
    (``Reference.identifier``) name ``person``?"""
    if isinstance(value, list):
        return all(_names_only(v, person) for v in value)
    if not isinstance(value, dict):
        return True
    named = value.get("identifier")
    if (
        isinstance(named, dict)
        and named.get("system") in (FNR_SYSTEM, DNR_SYSTEM)
        and (str(named.get("system")), str(named.get("value"))) not in person
    ):
        return False
    return all(_names_only(v, person) for v in value.values())


def store_plan(
    repository: SqlRepository, directory: SqlDirectory, base: str, sender: str, incoming: Incoming
) -> Act:
    """``ip-transfer-plan``: the plan becomes the person's active plan here (module doc)."""
    ident = task_identifier(incoming.focus)
    if not is_transfer(incoming.focus) or ident is None:
        raise refused("Task.code must be ip-exchange ip-transfer, with an identifier")
    carried, patient_url = _carried(incoming)
    patient = incoming.resources[patient_url]
    overlap = _overlap(incoming.focus)

    def act(conn: Connection) -> None:
        mine = find_task(repository, ident, conn)
        me = orgnr_in(mine.get("owner"))
        if orgnr_in(mine.get("requester")) != sender or mine.get("status") != "accepted":
            raise refused("no accepted transfer from this organisation has this identifier")
        patient_ref = str(as_dict(mine.get("for")).get("reference", ""))
        rtype, _, pid = patient_ref.partition("/")
        stored_patient = current(conn, rtype, pid) if rtype == "Patient" else None
        known = _person_ids(stored_patient or {})
        carried_ids = _person_ids(patient)
        if stored_patient is None or not carried_ids <= known or (known and not carried_ids):
            raise refused("the plan is not for the person the transfer was accepted for", "Patient")
        written: list[Resource] = []
        owner, owner_written = _org_ref(repository, conn, directory, str(me))
        local = {url: f"{r['resourceType']}/{r['id']}" for url, r in carried}
        local[patient_url] = patient_ref

        def replace(ref: str) -> Resource:
            return {"reference": local[ref]} if ref in local else {}

        today = dt.date.today()
        stored = [*written, *owner_written]
        member: Resource | None = None
        for _url, res in carried:
            body = rewrite_references(
                {k: v for k, v in res.items() if k not in ("id", "meta")}, replace
            )
            security = as_dict(res.get("meta")).get("security")
            if security:
                body["meta"] = {"security": security}
            if body["resourceType"] == "CarePlan":
                body["author"] = owner
                plan_id = str(res["id"])
            if body["resourceType"] == "CareTeam":
                body["managingOrganization"] = [owner]
                name = _output(mine, "coordinator")
                if member is None and name and (hpr := _coordinator_hpr(mine)):
                    member, role_written = _coordinator_role(
                        repository, conn, hpr, name, owner["reference"]
                    )
                    stored += role_written
                body = pass_coordination(body, today, overlap, name, member)
            stored.append(_create(repository, conn, body, str(res["id"])))
        stored.append(_provenance(repository, conn, plan_id, patient_ref, owner, mine, ident))
        done = {k: v for k, v in mine.items() if k != "meta"}
        done.update(status="completed", lastModified=_now())
        done["output"] = [
            *dicts(mine.get("output")),
            {
                "type": code("successor-plan"),
                "valueReference": {"reference": f"CarePlan/{plan_id}"},
            },
        ]
        stored.append(
            save_task(
                repository,
                conn,
                done,
                organisation=sender,
                patient=stored_patient,
                detail=f"received ip-transfer-plan {incoming.message_id}",
            )
        )
        record_write(
            conn,
            organisation=sender,
            interaction="create",
            patient=stored_patient,
            patient_ref=patient_ref,
            stored=stored,
            detail=f"received ip-transfer-plan {incoming.message_id}: the person's active plan",
        )
        _confirm(conn, directory, base, done, ident, sender, plan_id, patient_ref)

    return act


def _now() -> str:
    return dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _create(repository: SqlRepository, conn: Connection, body: Resource, rid: str) -> Resource:
    try:
        return repository.writer.create(conn, body, rid)
    except Conflict as err:
        if any(i.message_id == "IP-4401" for i in err.issues):
            raise MessageRefused(
                [issue_sync("IP-6092", "CarePlan.status", "business-rule")]
            ) from None
        raise refused(f"{body['resourceType']}/{rid} exists here already", "Bundle") from None


def _provenance(
    repository: SqlRepository,
    conn: Connection,
    plan_id: str,
    patient_ref: str,
    owner: Resource,
    task: Resource,
    ident: str,
) -> Resource:
    previous = as_dict(task.get("requester"))
    body = {
        "resourceType": "Provenance",
        "target": [{"reference": f"CarePlan/{plan_id}"}, {"reference": patient_ref}],
        "recorded": _now(),
        "activity": code(TRANSFER_PLAN),
        "agent": [{"who": owner}, {"who": previous}],
        "entity": [
            {
                "role": "source",
                "what": {
                    "identifier": {"system": "urn:ietf:rfc:3986", "value": ident},
                    "display": f"Individuell plan overført fra {previous.get('display', '')}"[:300],
                },
            }
        ],
    }
    return repository.writer.create(conn, body, str(uuid.uuid4()))


def _confirm(
    conn: Connection,
    directory: SqlDirectory,
    base: str,
    done: Resource,
    ident: str,
    sender: str,
    plan_id: str,
    patient_ref: str,
    mid: str | None = None,
) -> None:
    """B's confirmation to A: the plan is stored (Task completed, the new plan's address);
    ``mid``: its message id (by default the transfer's one confirmation id)."""
    me = str(orgnr_in(done.get("owner")))
    entry = directory.get(me)
    source = Party(me, entry.name if entry else me, base.rstrip("/"))
    destination = party(directory, sender)
    if destination is None:
        raise refused("the sending organisation is not routable in this adapter's directory")
    address = f"{base.rstrip('/')}/CarePlan/{plan_id}"
    answer = task_message(
        done,
        output=[{"type": code("successor-plan"), "valueReference": {"reference": address}}],
    )
    answer.pop("input", None)
    queue(
        conn,
        event=TRANSFER_RESPONSE,
        mid=mid or message_id(ident.removeprefix("urn:uuid:"), "stored"),
        source=source,
        destination=destination,
        timestamp=_now(),
        resources=[answer],
        person=patient_ref,
    )


_UNKNOWN = "no transfer from this organisation has this identifier"


def answer_query(
    repository: SqlRepository, directory: SqlDirectory, base: str, sender: str, incoming: Incoming
) -> Act:
    """``ip-transfer-query``: did B store the plan? Answered from B's records (module doc)."""
    ident = task_identifier(incoming.focus)
    if not is_transfer(incoming.focus) or ident is None:
        raise refused(_UNKNOWN)

    def act(conn: Connection) -> None:
        mine = find_task(repository, ident, conn)
        status = mine.get("status")
        if (
            not mine
            or "focus" in mine  # a transfer this adapter requested: not asked about here
            or orgnr_in(mine.get("requester")) != sender
            or orgnr_in(mine.get("owner")) != incoming.receiver_orgnr
            or status not in ("accepted", "completed", "failed")
            or (status == "failed" and not _closed_by_query(mine))
        ):
            raise refused(_UNKNOWN)
        patient_ref = str(as_dict(mine.get("for")).get("reference", ""))
        tid = ident.removeprefix("urn:uuid:")
        if status == "completed":
            plan_ref = next(
                (
                    str(as_dict(o.get("valueReference")).get("reference"))
                    for o in dicts(mine.get("output"))
                    if str(as_dict(o.get("valueReference")).get("reference")).startswith(
                        "CarePlan/"
                    )
                ),
                "",
            )
            plan_id = plan_ref.removeprefix("CarePlan/")
            mid = message_id(tid, f"stored|{incoming.message_id}")
            done = {k: v for k, v in mine.items() if k != "meta"}
            _confirm(conn, directory, base, done, ident, sender, plan_id, patient_ref, mid)
            return
        closed = {k: v for k, v in mine.items() if k != "meta"}
        if status == "accepted":
            why = "IP-6104: " + MESSAGES["IP-6104"].format(orgnr=sender)
            closed.update(status="failed", statusReason=reason(why), lastModified=_now())
            closed = save_task(
                repository,
                conn,
                closed,
                organisation=sender,
                patient=None,
                detail=f"received ip-transfer-query {incoming.message_id}: closed, not stored",
            )
        _not_stored(conn, directory, base, closed, sender, patient_ref, incoming.message_id)

    return act


def _closed_by_query(task: Resource) -> bool:
    return str(as_dict(task.get("statusReason")).get("text", "")).startswith("IP-6104")


def _not_stored(
    conn: Connection,
    directory: SqlDirectory,
    base: str,
    closed: Resource,
    sender: str,
    patient_ref: str,
    query: str,
) -> None:
    """B's answer to A's query: the plan is not stored here and the transfer is closed."""
    me = str(orgnr_in(closed.get("owner")))
    entry = directory.get(me)
    source = Party(me, entry.name if entry else me, base.rstrip("/"))
    destination = party(directory, sender)
    if destination is None:
        raise refused("the sending organisation is not routable in this adapter's directory")
    answer = task_message(closed)
    for field in ("input", "output"):
        answer.pop(field, None)
    ident = str(task_identifier(closed))
    queue(
        conn,
        event=TRANSFER_RESPONSE,
        mid=message_id(ident.removeprefix("urn:uuid:"), f"not-stored|{query}"),
        source=source,
        destination=destination,
        timestamp=_now(),
        resources=[answer],
        person=patient_ref,
    )
