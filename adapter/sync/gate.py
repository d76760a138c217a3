"""The consent checked again when a notification is about to leave.

A notification is built from what the consent allowed when it was queued; a consent withdrawn,
narrowed or expired since then must stop everything not yet shared. Just before each send the
worker asks :class:`ConsentGate`: the receiver must still see the person through the server's
enforcement (``repository_for(Actor(organisation=<receiver>)).read("Patient", ...)``, audited
like any disclosure); if not, the message ends dead, unsent, with IP-6056 — visible in
``ipfhir outbox list`` and replayable should the person consent again.
"""

from __future__ import annotations

from typing import Any

from ipfhir.adapter.errors import NotFound
from ipfhir.adapter.ports import Actor
from ipfhir.adapter.store.outbox import Message
from ipfhir.adapter.sync.inbox import orgnr_in
from ipfhir.adapter.sync.messages import MESSAGES
from ipfhir.adapter.sync.messaging import NOTIFICATION

__all__ = ["ConsentGate"]

_SCOPES = ("system/*.rs",)


def _receiver(payload: dict[str, Any]) -> str | None:
    entries = payload.get("entry")
    for entry in entries[1:] if isinstance(entries, list) else []:
        resource = entry.get("resource") if isinstance(entry, dict) else None
        if isinstance(resource, dict) and resource.get("resourceType") == "Task":
            return orgnr_in(resource.get("owner"))
    return None


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


class ConsentGate:
    """``factory``: ``secure_factory(wiring)`` of the sender's store."""

    def __init__(self, factory: Any) -> None:
        self._factory = factory

    def __call__(self, message: Message) -> str | None:
        if _event(message.payload) != NOTIFICATION:
            return None  # other exchanges bring their own checks
        receiver = _receiver(message.payload)
        rtype, _, pid = (message.person or "").partition("/")
        refusal = "IP-6056: " + MESSAGES["IP-6056"].format(orgnr=receiver)
        if receiver is None or rtype != "Patient" or not pid:
            return refusal
        actor = Actor(organisation=receiver, scopes=_SCOPES, purpose="COC")
        try:
            self._factory.repository_for(actor).read("Patient", pid)
        except NotFound:
            return refusal
        return None
