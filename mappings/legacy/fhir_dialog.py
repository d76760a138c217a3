"""MsgHead + Dialogmelding ↔ the FHIR message Bundle (pure: ids and times come from the message).

Three kinds, told apart by the content:

- the notice of need for an individual plan (``ip-notification``; forskrift om individuell plan
  § 6): the Bundle the FHIR path (``adapter.services.notify``) produces — MessageHeader, a Task
  (status requested, intent proposal) and the Patient. In XML: MsgHead ``DIALOG_NOTAT``, Patient,
  one Document whose RefDoc Id is the Task's identifier and IssueDate its ``authoredOn``, and a
  Dialogmelding whose first Notat has the Tema «Melding om behov for individuell plan og
  koordinator» (TemaKodet 6 of kodeverk 7322, the free text ``Task.reasonCode.text``, DokIdNotat
  the Task id) and one more Notat per structured part, its Tema the part's display in
  CodeSystem ``ip-exchange`` («Tjeneste som er involvert», «Midlertidig koordinator
  (kontaktperson)») and its text the part. A legacy system's notice is recognised by a Notat
  whose Tema names «behov for individuell plan»; the health personnel of its roles
  (RollerRelatertNotat) become temporary-coordinator contacts, other roles (e.g. a relative)
  have no place in the notification and are left out;
- its answer (``ip-notification-response``): the Task accepted or rejected, the coordinator
  appointed or the reason, as Notat «Svar på melding …» with the text «Akseptert» / «Avslått»;
- any other dialog message: a Bundle whose MessageHeader ``eventCoding`` is the MsgHead type
  (kodeverk 8279) focusing a Communication: each Notat / Foresporsel a ``payload`` string (its
  Tema first), each Base64 attachment a ``contentAttachment``.

Only what the Bundle carries is written: the writer reads nothing else, so what a Dialogmelding
carries out is what the consent-enforced notification carries (``adapter.services.notify``).
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from ipfhir.mappings.codes import EXCHANGE
from ipfhir.mappings.legacy.codes import Code
from ipfhir.mappings.legacy.fhir_common import (
    MSG_TYPE_SYSTEM,
    NOTIFICATION,
    NOTIFICATION_RESPONSE,
    TASK_IDENTIFIER_SYSTEM,
    Org,
    exchange_code,
    iso,
    org_of,
    organisation_of,
    parse_time,
    parties,
    patient_of,
    person_of,
)
from ipfhir.mappings.legacy.messages import refuse
from ipfhir.mappings.legacy.model import (
    Base64Content,
    Dialogmelding,
    Document,
    Message,
    Note,
    Party,
    Person,
    RichText,
)

__all__ = ["bundle_from_dialog", "dialog_from_bundle", "header_bundle", "is_notice"]

Resource = dict[str, Any]
TOPIC = Code(v="6", dn="Henvendelse om pasient", s="2.16.578.1.12.4.1.1.7322")
DESCRIPTION = "Behov for individuell plan og koordinator"
_ANSWER_TEXT = {"accepted": "Akseptert", "rejected": "Avslått"}
_PARTS = {"service-involved": "input", "temporary-coordinator": "input"}
_OUTPUTS = ("coordinator", "decline-reason")
_IDS = uuid.UUID("0b3f6c1e-7d1a-4c55-9f0e-1e9a7c2b5d10")  # names the ids a message implies


def _implied_id(message_id: str, what: str) -> str:
    return str(uuid.uuid5(_IDS, f"{message_id}/{what}"))


def is_notice(note: Note) -> bool:
    """Is this Notat a notice of need for an individual plan (see the module doc)?"""
    return "behov for individuell plan" in (note.topic or "").casefold()


def header_bundle(
    message_id: str,
    event: Resource,
    source: Org,
    destination: Org,
    timestamp: str,
    resources: list[Resource],
) -> Resource:
    """The message Bundle in the FHIR path's shape (``adapter.sync.messaging.message_bundle``)."""
    entries = [{"fullUrl": f"urn:uuid:{r['id']}", "resource": r} for r in resources]
    header = {
        "resourceType": "MessageHeader",
        "id": message_id,
        "eventCoding": event,
        "destination": [
            {
                "endpoint": destination.endpoint.rstrip("/") + "/$process-message",
                "receiver": destination.reference(),
            }
        ],
        "sender": source.reference(),
        "source": {"name": source.name, "endpoint": source.endpoint},
        "focus": [{"reference": entries[0]["fullUrl"]}] if entries else [],
    }
    return {
        "resourceType": "Bundle",
        "id": message_id,
        "type": "message",
        "timestamp": timestamp,
        "entry": [{"fullUrl": f"urn:uuid:{message_id}", "resource": header}, *entries],
    }


# --- XML model -> Bundle ------------------------------------------------------------------


def bundle_from_dialog(
    message: Message, sender: Org | None = None, receiver: Org | None = None
) -> Resource:
    """The Bundle of a MsgHead (see the module doc); ``sender``/``receiver``: the parties as the
    directory knows them (by default as the XML names them)."""
    source = sender or org_of(message.sender.organisation)
    target = receiver or org_of(message.receiver.organisation)
    dialogs = [d.content for d in message.documents if isinstance(d.content, Dialogmelding)]
    notes = [n for d in dialogs for n in d.notes]
    main = next((n for n in notes if n.topic == EXCHANGE[NOTIFICATION_RESPONSE]), None)
    if main is not None:
        return _answer_bundle(message, main, notes, source, target)
    main = next((n for n in notes if is_notice(n)), None)
    if main is not None:
        return _notice_bundle(message, main, notes, source, target)
    return _communication_bundle(message, source, target)


def _timestamp(message: Message) -> str:
    return iso(message.gen_date)


def _issued(message: Message) -> str:
    first = message.documents[0]
    return first.issue_date or _timestamp(message)


def _part(note: Note) -> str | None:
    return next((k for k, v in EXCHANGE.items() if v == note.topic), None)


def _notice_bundle(
    message: Message, main: Note, notes: list[Note], source: Org, target: Org
) -> Resource:
    if message.patient is None or message.patient.person_number is None:
        refuse("IP-6144", "/MsgHead/MsgInfo/Patient")
    document = message.documents[0]
    ident = document.id if (document.id or "").startswith("urn:uuid:") else None
    task_id = main.doc_id if main.doc_id and ident else _implied_id(message.msg_id, "Task")
    patient = patient_of(message.patient, _implied_id(message.msg_id, "Patient"))
    task: Resource = {
        "resourceType": "Task",
        "id": task_id,
        "identifier": [{"system": TASK_IDENTIFIER_SYSTEM, "value": ident or f"urn:uuid:{task_id}"}],
        "status": "requested",
        "intent": "proposal",
        "priority": "asap",
        "code": {"coding": [exchange_code(NOTIFICATION)]},
        "description": DESCRIPTION,
        "for": {"reference": f"urn:uuid:{patient['id']}"},
        "authoredOn": _issued(message),
        "requester": source.reference(),
        "owner": target.reference(),
    }
    reason = main.text.plain.strip() if main.text is not None else ""
    if reason:
        task["reasonCode"] = {"text": reason[:1000]}
    inputs = [
        {"type": {"coding": [exchange_code(kind)]}, "valueString": n.text.plain[:300]}
        for n in notes
        if (kind := _part(n)) in _PARTS and n.text is not None
    ]
    inputs += [
        {"type": {"coding": [exchange_code("temporary-coordinator")]}, "valueString": contact}
        for role in main.roles
        if role.professional is not None and (contact := _contact(role.professional))
    ]
    if inputs:
        task["input"] = inputs
    event = exchange_code(NOTIFICATION)
    return header_bundle(
        message.msg_id, event, source, target, _timestamp(message), [task, patient]
    )


def _contact(person: Person) -> str | None:
    """«Name, phone: …» as the FHIR path writes a coordinator's contact."""
    name = " ".join(p for p in (person.given_name, person.middle_name, person.family_name) if p)
    labels = {"tel:": "phone", "mailto:": "email", "fax:": "fax"}
    telecom = [
        f"{label}: {t.address[len(prefix) :]}"
        for t in person.telecoms
        for prefix, label in labels.items()
        if t.address and t.address.startswith(prefix)
    ]
    return ", ".join([name, *telecom])[:300] if name else None


def _answer_bundle(
    message: Message, main: Note, notes: list[Note], source: Org, target: Org
) -> Resource:
    text = main.text.plain.strip() if main.text is not None else ""
    status = next((k for k, v in _ANSWER_TEXT.items() if v == text), None)
    ident = message.documents[0].id or ""
    if status is None or not ident.startswith("urn:uuid:"):
        refuse("IP-6145", "/MsgHead/Document/RefDoc", "Tekst «Akseptert» eller «Avslått» ventet.")
    task: Resource = {
        "resourceType": "Task",
        "identifier": [{"system": TASK_IDENTIFIER_SYSTEM, "value": ident}],
        "status": status,
        "intent": "proposal",
        "code": {"coding": [exchange_code(NOTIFICATION)]},
        "lastModified": _issued(message),
        "id": main.doc_id or _implied_id(message.msg_id, "Task"),
        "requester": target.reference(),
        "owner": source.reference(),
    }
    outputs = [
        {"type": {"coding": [exchange_code(kind)]}, "valueString": n.text.plain[:500]}
        for n in notes
        if (kind := _part(n)) in _OUTPUTS and n.text is not None
    ]
    if outputs:
        task["output"] = outputs
    event = exchange_code(NOTIFICATION_RESPONSE)
    return header_bundle(message.msg_id, event, source, target, _timestamp(message), [task])


def _communication_bundle(message: Message, source: Org, target: Org) -> Resource:
    payload: list[Resource] = []
    for document in message.documents:
        content = document.content
        if isinstance(content, Dialogmelding):
            for request in content.requests:
                text = request.question.plain if request.question else ""
                payload.append({"contentString": _labelled(request.subject, text)})
            for note in content.notes:
                text = note.text.plain if note.text else ""
                payload.append({"contentString": _labelled(note.topic, text)})
        elif isinstance(content, Base64Content):
            attachment: Resource = {"data": content.data}
            if document.mime_type:
                attachment["contentType"] = document.mime_type
            if document.description:
                attachment["title"] = document.description
            payload.append({"contentAttachment": attachment})
    communication: Resource = {
        "resourceType": "Communication",
        "id": _implied_id(message.msg_id, "Communication"),
        "status": "completed",
        "sent": _timestamp(message),
        "sender": source.reference(),
        "recipient": [target.reference()],
    }
    resources = [communication]
    if message.patient is not None and message.patient.person_number is not None:
        patient = patient_of(message.patient, _implied_id(message.msg_id, "Patient"))
        communication["subject"] = {"reference": f"urn:uuid:{patient['id']}"}
        resources.append(patient)
    if payload:
        communication["payload"] = payload
    kind = message.msg_type
    event = {"system": MSG_TYPE_SYSTEM, "code": kind.v or "DIALOG_NOTAT"}
    if kind.dn:
        event["display"] = kind.dn
    return header_bundle(message.msg_id, event, source, target, _timestamp(message), resources)


def _labelled(topic: str | None, text: str) -> str:
    return f"{topic}\n\n{text}" if topic else text


# --- Bundle -> XML model ------------------------------------------------------------------


def _resources(bundle: Resource) -> tuple[Resource, dict[str, Resource]]:
    entries = bundle.get("entry")
    if bundle.get("type") != "message" or not isinstance(entries, list) or not entries:
        refuse("IP-6140", "Bundle.type", "A message Bundle led by a MessageHeader is expected.")
    header = entries[0].get("resource") if isinstance(entries[0], dict) else None
    if not isinstance(header, dict) or header.get("resourceType") != "MessageHeader":
        refuse("IP-6140", "Bundle.entry[0]", "The first entry must be a MessageHeader.")
    carried = {
        str(e.get("fullUrl")): e["resource"]
        for e in entries[1:]
        if isinstance(e, dict) and isinstance(e.get("resource"), dict)
    }
    return header, carried


def dialog_from_bundle(bundle: Resource, her_ids: dict[str, str] | None = None) -> Message:
    """The MsgHead + Dialogmelding 1.1 of a message Bundle (``her_ids``: organisasjonsnummer →
    HER-id from the directory); IP-6140–6145 when the Bundle cannot be written."""
    header, carried = _resources(bundle)
    sender, receiver = parties(header, her_ids or {})
    event = _d(header.get("eventCoding"))
    focus = carried.get(str(_d(_first(header.get("focus"))).get("reference")))
    if focus is None:
        refuse("IP-6141", "MessageHeader.focus", "The focus is not in the Bundle.")
    message_id = str(header.get("id") or "")
    if not message_id:
        refuse("IP-6141", "MessageHeader.id", "The message has no id.")
    gen_date = parse_time(bundle.get("timestamp"), "Bundle.timestamp")
    code = event.get("code")
    if event.get("system") == MSG_TYPE_SYSTEM and focus.get("resourceType") == "Communication":
        return _communication_message(message_id, gen_date, event, focus, carried, sender, receiver)
    if code == NOTIFICATION and focus.get("resourceType") == "Task":
        return _notice_message(message_id, gen_date, focus, carried, sender, receiver)
    if code == NOTIFICATION_RESPONSE and focus.get("resourceType") == "Task":
        return _answer_message(message_id, gen_date, focus, sender, receiver)
    refuse("IP-6141", "MessageHeader.eventCoding", f"Event {str(code)[:40]!r} has no XML form.")


def _envelope(
    message_id: str,
    gen_date: dt.datetime,
    sender: Org,
    receiver: Org,
    document: Document,
    patient: Person | None,
    kind: Code | None = None,
) -> Message:
    return Message(
        msg_type=kind or Code(v="DIALOG_NOTAT", dn="Notat"),
        gen_date=gen_date,
        msg_id=message_id,
        sender=Party(organisation_of(sender)),
        receiver=Party(organisation_of(receiver)),
        documents=(document,),
        patient=patient,
    )


def _values(task: Resource, field: str, kinds: tuple[str, ...]) -> list[tuple[str, str]]:
    out = []
    for item in _dicts(task.get(field)):
        coding = _d(_first(_d(item.get("type")).get("coding")))
        if coding.get("code") in kinds and isinstance(item.get("valueString"), str):
            out.append((str(coding["code"]), item["valueString"]))
    return out


def _d(value: Any) -> Resource:
    return value if isinstance(value, dict) else {}


def _dicts(value: Any) -> list[Resource]:
    return [v for v in value if isinstance(v, dict)] if isinstance(value, list) else []


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def _first(value: Any) -> Any:
    return value[0] if isinstance(value, list) and value else None


def _rich(value: str) -> RichText:
    return RichText(text=value)


def _identifier(task: Resource) -> str:
    for ident in _dicts(task.get("identifier")):
        if ident.get("system") == TASK_IDENTIFIER_SYSTEM and isinstance(ident.get("value"), str):
            return str(ident.get("value"))
    refuse("IP-6141", "Task.identifier", "The Task has no identifier.")


def _notice_message(
    message_id: str,
    gen_date: dt.datetime,
    task: Resource,
    carried: dict[str, Resource],
    sender: Org,
    receiver: Org,
) -> Message:
    patient = carried.get(str(_d(task.get("for")).get("reference")))
    if patient is None or patient.get("resourceType") != "Patient":
        refuse("IP-6144", "Task.for")
    reason = _d(task.get("reasonCode")).get("text")
    main = Note(
        topic_code=TOPIC,
        topic=EXCHANGE[NOTIFICATION],
        text=_rich(reason) if isinstance(reason, str) and reason else None,
        doc_id=_text(task.get("id")),
    )
    parts = [
        Note(topic_code=TOPIC, topic=EXCHANGE[kind], text=_rich(value))
        for kind, value in _values(task, "input", tuple(_PARTS))
    ]
    document = Document(
        msg_type=Code(v="XML", dn="XML-instans"),
        content=Dialogmelding(notes=(main, *parts)),
        issue_date=_text(task.get("authoredOn")) or iso(gen_date),
        id=_identifier(task),
    )
    return _envelope(message_id, gen_date, sender, receiver, document, person_of(patient))


def _answer_message(
    message_id: str, gen_date: dt.datetime, task: Resource, sender: Org, receiver: Org
) -> Message:
    status = task.get("status")
    if status not in _ANSWER_TEXT:
        refuse("IP-6141", "Task.status", f"An answer is accepted or rejected, not {status!r}.")
    main = Note(
        topic_code=TOPIC,
        topic=EXCHANGE[NOTIFICATION_RESPONSE],
        text=_rich(_ANSWER_TEXT[str(status)]),
        doc_id=_text(task.get("id")),
    )
    parts = [
        Note(topic_code=TOPIC, topic=EXCHANGE[kind], text=_rich(value))
        for kind, value in _values(task, "output", _OUTPUTS)
    ]
    document = Document(
        msg_type=Code(v="XML", dn="XML-instans"),
        content=Dialogmelding(notes=(main, *parts)),
        issue_date=_text(task.get("lastModified")) or iso(gen_date),
        id=_identifier(task),
    )
    return _envelope(message_id, gen_date, sender, receiver, document, None)


def _communication_message(
    message_id: str,
    gen_date: dt.datetime,
    event: Resource,
    communication: Resource,
    carried: dict[str, Resource],
    sender: Org,
    receiver: Org,
) -> Message:
    notes: list[Note] = []
    attachments: list[Document] = []
    for item in _dicts(communication.get("payload")):
        if isinstance(item.get("contentString"), str):
            topic, _, text = item["contentString"].partition("\n\n")
            if not text:
                topic, text = "", topic
            notes.append(Note(topic_code=TOPIC, topic=topic or None, text=_rich(text)))
        attachment = item.get("contentAttachment")
        if isinstance(attachment, dict) and isinstance(attachment.get("data"), str):
            attachments.append(
                Document(
                    msg_type=Code(v="A", dn="Vedlegg"),
                    content=Base64Content(attachment["data"]),
                    mime_type=_text(attachment.get("contentType")) or "application/octet-stream",
                    description=_text(attachment.get("title")),
                )
            )
    subject = carried.get(str(_d(communication.get("subject")).get("reference")))
    patient = person_of(subject) if subject is not None else None
    document = Document(
        msg_type=Code(v="XML", dn="XML-instans"),
        content=Dialogmelding(notes=tuple(notes)),
        issue_date=_text(communication.get("sent")) or iso(gen_date),
    )
    kind = Code(v=str(event.get("code")), dn=_text(event.get("display")))
    message = _envelope(message_id, gen_date, sender, receiver, document, patient, kind)
    return Message(**{**message.__dict__, "documents": (document, *attachments)})
