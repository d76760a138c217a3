"""Legacy XML model ↔ the FHIR message Bundle (pure): :func:`to_fhir` and :func:`from_fhir`.

A MsgHead with Dialogmelding becomes a notification, an answer or a Communication message
(:mod:`.fhir_dialog`); an AppRec (alone, or as a MsgHead document) the answer Bundle whose
MessageHeader ``response`` names the original message (:mod:`.fhir_apprec`). The reverse picks
the XML form from the Bundle: an answer (``MessageHeader.response``) is written as AppRec,
anything else as MsgHead + Dialogmelding 1.1.
"""

from __future__ import annotations

from typing import Any

from ipfhir.mappings.legacy.fhir_apprec import apprec_from_bundle, bundle_from_apprec
from ipfhir.mappings.legacy.fhir_common import Org
from ipfhir.mappings.legacy.fhir_dialog import bundle_from_dialog, dialog_from_bundle
from ipfhir.mappings.legacy.messages import refuse
from ipfhir.mappings.legacy.model import AppRec, Message

__all__ = ["from_fhir", "is_answer", "to_fhir"]

Resource = dict[str, Any]


def to_fhir(
    model: Message | AppRec, sender: Org | None = None, receiver: Org | None = None
) -> Resource:
    """The message Bundle of a legacy message (``sender``/``receiver``: as the directory knows
    them; by default as the XML names them)."""
    if isinstance(model, AppRec):
        return bundle_from_apprec(model)
    receipts = [d.content for d in model.documents if isinstance(d.content, AppRec)]
    if receipts:
        return bundle_from_apprec(receipts[0])
    return bundle_from_dialog(model, sender, receiver)


def is_answer(bundle: Any) -> bool:
    """Is ``bundle`` an answer (its MessageHeader has a ``response``)?"""
    try:
        header = bundle["entry"][0]["resource"]
        return header.get("resourceType") == "MessageHeader" and "response" in header
    except (KeyError, IndexError, TypeError, AttributeError):
        return False


def from_fhir(bundle: Any, her_ids: dict[str, str] | None = None) -> Message | AppRec:
    """The legacy message of a message Bundle (IP-6140–6146 when it has none)."""
    if not isinstance(bundle, dict) or bundle.get("resourceType") != "Bundle":
        refuse("IP-6140", "Bundle", "A Bundle is expected.")
    try:
        if is_answer(bundle):
            return apprec_from_bundle(bundle)
        return dialog_from_bundle(bundle, her_ids)
    except (TypeError, AttributeError, KeyError, IndexError) as err:
        # a value of the wrong JSON type somewhere the checks above do not look: refused, not
        # a crash (the writer's schema check refuses what has the right type but not the form)
        refuse("IP-6141", "Bundle", f"A value has the wrong type ({type(err).__name__}).")
