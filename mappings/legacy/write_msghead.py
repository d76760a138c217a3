"""Message model → MsgHead 1.2 XML carrying Dialogmelding 1.1 / AppRec 1.1 / Base64 documents.

Everything written comes from the model (ids, GenDate): nothing is generated here. A kept
``ds:Signature`` is written back as it was: it no longer verifies once the content changed.
"""

from __future__ import annotations

from typing import Any

from lxml import etree  # type: ignore[import-untyped]  # no stubs installed

from ipfhir.mappings.legacy.messages import refuse
from ipfhir.mappings.legacy.model import (
    AppRec,
    Base64Content,
    Dialogmelding,
    Document,
    Message,
    Party,
)
from ipfhir.mappings.legacy.schemas import NS
from ipfhir.mappings.legacy.write_apprec import append_apprec, write_apprec
from ipfhir.mappings.legacy.write_common import (
    finish,
    put,
    put_code,
    put_organisation,
    put_person,
    sub,
)
from ipfhir.mappings.legacy.write_dialog import append_dialogmelding
from ipfhir.mappings.legacy.xmlnode import append_node

__all__ = ["write", "write_message"]

_NS = NS["mh"]
MIG_VERSION = "v1.2 2006-05-24"


def write(model: Message | AppRec) -> bytes:
    """A :class:`Message` as MsgHead 1.2 or an :class:`AppRec` as AppRec 1.1 (UTF-8 bytes)."""
    return write_message(model) if isinstance(model, Message) else write_apprec(model)


def write_message(message: Message) -> bytes:
    """MsgHead 1.2 as UTF-8 bytes, checked against the schemas (IP-6230 otherwise)."""
    try:
        root = etree.Element(f"{{{_NS}}}MsgHead", nsmap={None: _NS})
        _put_info(root, message)
        for document in message.documents:
            _put_document(root, document)
        if message.signature is not None:
            append_node(root, message.signature)
    except ValueError as error:  # lxml refuses text that XML cannot carry (control characters)
        refuse("IP-6230", "", str(error))
    return finish(root)


def _put_party(parent: Any, name: str, party: Party) -> None:
    element = sub(parent, _NS, name)
    put_code(element, _NS, "ComMethod", party.com_method)
    put_organisation(element, _NS, "Organisation", party.organisation, fk1=False)


def _put_info(root: Any, message: Message) -> None:
    info = sub(root, _NS, "MsgInfo")
    put_code(info, _NS, "Type", message.msg_type)
    put(info, _NS, "MIGversion", MIG_VERSION)
    put(info, _NS, "GenDate", message.gen_date)
    put(info, _NS, "MsgId", message.msg_id)
    put_code(info, _NS, "ProcessingStatus", message.processing_status)
    put_code(info, _NS, "RequestedPriority", message.requested_priority)
    put_code(info, _NS, "Ack", message.ack)
    if message.conversation is not None:
        conversation = sub(info, _NS, "ConversationRef")
        put(conversation, _NS, "RefToParent", message.conversation.parent)
        put(conversation, _NS, "RefToConversation", message.conversation.conversation)
    _put_party(info, "Sender", message.sender)
    _put_party(info, "Receiver", message.receiver)
    for other in message.other_receivers:
        append_node(info, other)
    put_person(info, _NS, "Patient", message.patient, "msghead")


def _put_ts(parent: Any, name: str, value: str | None) -> None:
    if value is not None:
        sub(parent, _NS, name).set("V", value)


def _put_document(root: Any, document: Document) -> None:
    element = sub(root, _NS, "Document")
    put_code(element, _NS, "DocumentConnection", document.connection)
    put_code(element, _NS, "ContentType", document.content_type)
    put(element, _NS, "ContentDescription", document.content_description)
    put_code(element, _NS, "ContentCategory", document.content_category)
    put_code(element, _NS, "Consent", document.consent)
    put(element, _NS, "Annotation", document.annotation)
    _put_ts(element, "FromDate", document.from_date)
    _put_ts(element, "ToDate", document.to_date)
    put(element, _NS, "OidRef", document.oid_ref)
    put(element, _NS, "EnquiryRefId", document.enquiry_ref_id)
    ref = sub(element, _NS, "RefDoc")
    _put_ts(ref, "IssueDate", document.issue_date)
    put_code(ref, _NS, "MsgType", document.msg_type)
    put(ref, _NS, "Id", document.id)
    put(ref, _NS, "MimeType", document.mime_type)
    put(ref, _NS, "Description", document.description)
    put_code(ref, _NS, "Compression", document.compression)
    put(ref, _NS, "FileReference", document.file_reference)
    _put_content(ref, document.content)


def _put_content(ref: Any, content: Dialogmelding | AppRec | Base64Content | None) -> None:
    if content is None:
        return
    holder = sub(ref, _NS, "Content")
    if isinstance(content, Dialogmelding):
        append_dialogmelding(holder, content)
    elif isinstance(content, AppRec):
        append_apprec(holder, content)
    else:
        b64 = etree.SubElement(holder, f"{{{NS['b64']}}}Base64Container", nsmap={None: NS["b64"]})
        b64.text = content.data
