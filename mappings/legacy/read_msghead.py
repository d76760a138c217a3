"""MsgHead 1.2 (Hodemelding) → :class:`~ipfhir.mappings.legacy.model.Message`.

The patient's fødselsnummer (IP-6220) or D-nummer (IP-6221) is checked here, after the schema.
Organisasjonsnummer are kept as sent (Helsedirektoratet's own examples carry invalid ones such as
012345678): :attr:`Organisation.orgnr_valid` tells, the receiver decides.
"""

from __future__ import annotations

from typing import Any

from ipfhir.mappings.identifiers import is_valid_dnr, is_valid_fnr
from ipfhir.mappings.legacy.messages import refuse
from ipfhir.mappings.legacy.model import (
    AppRec,
    Base64Content,
    ConversationRef,
    Dialogmelding,
    Document,
    Message,
    Party,
)
from ipfhir.mappings.legacy.read_apprec import read_apprec
from ipfhir.mappings.legacy.read_common import (
    children,
    code,
    datetime_of,
    first,
    local,
    organisation,
    person,
    required_code,
    text,
    where,
)
from ipfhir.mappings.legacy.read_dialog import read_dialogmelding
from ipfhir.mappings.legacy.schemas import NS
from ipfhir.mappings.legacy.xmlnode import node_of

__all__ = ["read_msghead"]


def read_msghead(root: Any) -> Message:
    if first(root, "PatientReport") is not None:
        refuse("IP-6213", where(first(root, "PatientReport")), code="not-supported")
    info = first(root, "MsgInfo")
    signature = first(root, "Signature")
    assert info is not None  # the schema requires it
    conversation = first(info, "ConversationRef")
    message = Message(
        msg_type=required_code(info, "Type"),
        gen_date=datetime_of(text(info, "GenDate") or "", first(info, "GenDate")),
        msg_id=text(info, "MsgId") or "",
        sender=_party(first(info, "Sender")),
        receiver=_party(first(info, "Receiver")),
        documents=tuple(_document(d) for d in children(root, "Document")),
        patient=person(first(info, "Patient")),
        conversation=None
        if conversation is None
        else ConversationRef(
            parent=text(conversation, "RefToParent") or "",
            conversation=text(conversation, "RefToConversation") or "",
        ),
        processing_status=code(info, "ProcessingStatus"),
        requested_priority=code(info, "RequestedPriority"),
        ack=code(info, "Ack"),
        other_receivers=tuple(node_of(o, with_tail=False) for o in children(info, "OtherReceiver")),
        signature=None if signature is None else node_of(signature, with_tail=False),
    )
    _check_identifiers(info)
    return message


def _party(element: Any) -> Party:
    return Party(
        organisation=organisation(first(element, "Organisation")),
        com_method=code(element, "ComMethod"),
    )


def _ts(element: Any, name: str) -> str | None:
    child = first(element, name)
    return None if child is None else child.get("V")


def _document(element: Any) -> Document:
    ref = first(element, "RefDoc")
    assert ref is not None  # the schema requires it
    content = first(ref, "Content")
    return Document(
        msg_type=required_code(ref, "MsgType"),
        content=None if content is None else _content(content),
        issue_date=_ts(ref, "IssueDate"),
        id=text(ref, "Id"),
        mime_type=text(ref, "MimeType"),
        description=text(ref, "Description"),
        compression=code(ref, "Compression"),
        file_reference=text(ref, "FileReference"),
        connection=code(element, "DocumentConnection"),
        content_type=code(element, "ContentType"),
        content_description=text(element, "ContentDescription"),
        content_category=code(element, "ContentCategory"),
        consent=code(element, "Consent"),
        annotation=text(element, "Annotation"),
        from_date=_ts(element, "FromDate"),
        to_date=_ts(element, "ToDate"),
        oid_ref=text(element, "OidRef"),
        enquiry_ref_id=text(element, "EnquiryRefId"),
    )


def _content(element: Any) -> Dialogmelding | AppRec | Base64Content | None:
    parts = list(element)
    if not parts:
        return None
    if len(parts) > 1:
        refuse("IP-6212", where(parts[1]), "One content element per document.", "not-supported")
    part = parts[0]
    namespace, name = part.tag[1:].split("}")[0], local(part)
    if name == "Dialogmelding" and namespace in (NS["dia10"], NS["dia11"]):
        return read_dialogmelding(part)
    if name == "AppRec" and namespace in (NS["ar10"], NS["ar11"]):
        return read_apprec(part)
    if name == "Base64Container" and namespace == NS["b64"]:
        return Base64Content(data=part.text or "")
    refuse("IP-6212", where(part), f"Got {part.tag!r}.", "not-supported")


def _check_identifiers(info: Any) -> None:
    patient = first(info, "Patient")
    for ident in [] if patient is None else children(patient, "Ident"):
        kind = required_code(ident, "TypeId").v
        number = (text(ident, "Id") or "").strip()
        if kind == "FNR" and not is_valid_fnr(number):
            refuse("IP-6220", where(first(ident, "Id")), f"Got {number[:20]!r}.")
        if kind == "DNR" and not is_valid_dnr(number):
            refuse("IP-6221", where(first(ident, "Id")), f"Got {number[:20]!r}.")
