"""Catalogue of the legacy-messaging layer's message ids (IP-62xx) and the one way to raise them.

- IP-6200–6209: hostile or unreadable input (size, declarations, depth, syntax, encoding).
- IP-6210–6219: the wrong message (root element, namespace) or a schema violation.
- IP-6220–6239: content the schema allows but the model refuses (identifiers, dates, kinds).
- IP-6240–6249: the JSON form of the model (``ipfhir legacy write``).
- IP-6140–6154: legacy XML ↔ the FHIR message Bundle (``ipfhir legacy read|write``).
- IP-6155–6169: transports and the legacy inbox (folder, AMQP; ``adapter.sync.transports``).

Expressions are XPath locations in the XML (``/MsgHead/MsgInfo/Patient/Ident[1]/Id``) or
JSON paths in the model's JSON form (``$.documents[0].content``).
"""

from __future__ import annotations

from typing import NoReturn

from ipfhir.mappings.errors import FormatError, MappingError, catalogue_issue

__all__ = ["MESSAGES", "fail", "refuse"]

MESSAGES: dict[str, str] = {
    "IP-6140": "The JSON is not a FHIR message Bundle (type message, a MessageHeader first).",
    "IP-6141": "The message Bundle has no Dialogmelding form.",
    "IP-6142": "The time cannot be read (a dateTime with a time zone is required).",
    "IP-6143": "A party has neither organisasjonsnummer nor HER-id.",
    "IP-6144": "The patient has no fødselsnummer or D-nummer.",
    "IP-6145": "The answer to a notice of need for an individual plan cannot be read.",
    "IP-6146": "The Bundle is no answer to a message (MessageHeader.response).",
    "IP-6155": "The sender is not in this adapter's directory as a legacy (HER-id) partner.",
    "IP-6156": "The message is not addressed to an organisation in this adapter's directory.",
    "IP-6157": "The message's receiver is ambiguous in this adapter's directory: a HER-id it "
    "names is held by more than one organisation, or the organisation's HER-id and "
    "organisasjonsnummer name different organisations; it is filed with none.",
    "IP-6158": "No transport serves this destination.",
    "IP-6160": "This sender's MsgId names another message received before (a resend must be "
    "the same message; a new message needs a new MsgId): nothing of this one is stored.",
    "IP-6159": "Organisation {orgnr} (--as) is not in this adapter's directory with a FHIR "
    "endpoint (its own entry: ipfhir directory load).",
    "IP-6201": "The message is larger than allowed.",
    "IP-6202": "DOCTYPE and ENTITY declarations are refused (no DTD, no entities, no network).",
    "IP-6203": "The message is nested deeper than allowed.",
    "IP-6204": "The message is not well-formed XML.",
    "IP-6205": "The message's encoding is not supported (UTF-8 or ISO-8859-1).",
    "IP-6210": "The root element is not a MsgHead 1.2 or AppRec 1.0/1.1 message.",
    "IP-6211": "The message does not validate against the KITH schemas.",
    "IP-6212": "Document content of this kind is not supported (Dialogmelding, AppRec, Base64).",
    "IP-6213": "PatientReport messages are not supported; only Document.",
    "IP-6220": "The patient's fødselsnummer has an invalid checksum or date.",
    "IP-6221": "The patient's D-nummer has an invalid checksum or date.",
    "IP-6223": "The date-time cannot be read.",
    "IP-6230": "The model cannot be written as a valid message.",
    "IP-6240": "The JSON is not a legacy message model.",
    "IP-6241": "The JSON has a value of the wrong type.",
    "IP-6242": "The JSON has a field the model does not know.",
    "IP-6243": "The JSON lacks a required field.",
}


def fail(message_id: str, where: str = "", detail: str = "", code: str = "structure") -> NoReturn:
    """Raise a :class:`FormatError` (unreadable, hostile or schema-invalid input)."""
    raise FormatError([catalogue_issue(MESSAGES, message_id, where, code, detail)])


def refuse(message_id: str, where: str = "", detail: str = "", code: str = "value") -> NoReturn:
    """Raise a :class:`MappingError` (well-formed, valid input the model cannot accept)."""
    raise MappingError([catalogue_issue(MESSAGES, message_id, where, code, detail)])
