"""Legacy messaging (KITH / Helsedirektoratet XML): MsgHead 1.2 carrying Dialogmelding 1.0/1.1,
and AppRec 1.0/1.1 — read into a frozen model, written back as MsgHead 1.2 + Dialogmelding 1.1 or
AppRec 1.1, every message checked against the shipped schemas (``xsd/``).

Pure: no I/O but the package's own schemas (importlib.resources), no clock, no id generation.
Hostile input (DTD, entities, oversize, too deep, wrong namespace, schema-invalid) is refused
with an IP-62xx :class:`~ipfhir.mappings.errors.FormatError` (catalogue: ``messages.py``).
"""

from __future__ import annotations

from ipfhir.mappings.legacy.jsonform import model_from_json, model_to_json
from ipfhir.mappings.legacy.messages import MESSAGES
from ipfhir.mappings.legacy.model import AppRec, Dialogmelding, Message, Note
from ipfhir.mappings.legacy.read import read_message, validate_message
from ipfhir.mappings.legacy.safexml import DEFAULT_MAX_BYTES, DEFAULT_MAX_DEPTH
from ipfhir.mappings.legacy.write_apprec import receipt_for, write_apprec
from ipfhir.mappings.legacy.write_msghead import write, write_message

__all__ = [
    "DEFAULT_MAX_BYTES",
    "DEFAULT_MAX_DEPTH",
    "MESSAGES",
    "AppRec",
    "Dialogmelding",
    "Message",
    "Note",
    "model_from_json",
    "model_to_json",
    "read_message",
    "receipt_for",
    "validate_message",
    "write",
    "write_apprec",
    "write_message",
]
