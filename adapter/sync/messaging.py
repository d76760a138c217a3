"""FHIR messaging between organisations (pure: no I/O, no clock it does not receive).

A message is a Bundle of type ``message``: its first entry the MessageHeader (``eventCoding``
from CodeSystem ``ip-exchange``; ``source.endpoint`` the sender's FHIR base; ``destination``
the receiver's base and organisation; ``sender`` the sender's organisasjonsnummer; ``focus``
the Task), then the resources it carries. An answer to ``$process-message`` is a message
Bundle whose MessageHeader ``response`` names the request's MessageHeader id and a code (ok,
transient-error, fatal-error with an OperationOutcome) — the shape
:func:`adapter.sync.policy.judge` reads.

Events: ``ip-notification`` (hospital → coordinating unit: a Task "need for individual plan /
coordinator" and the Patient it is for) and ``ip-notification-response`` (the coordinating
unit's answer: the same Task, identified by its identifier, accepted or rejected); the plan
transfer ``ip-transfer`` (A asks B), ``ip-transfer-response`` (B accepts, declines, confirms
that it stored the plan, or — asked — that it did not and closed the transfer),
``ip-transfer-plan`` (A's plan as B may see it) and ``ip-transfer-query`` (A asks B whether it
stored the plan: A's plan message died and no confirmation came), carried out by
:mod:`adapter.sync.transfer_inbox`; and ``ip-revocation`` (the sender withdraws what it sent
under a consent the person has since withdrawn or narrowed: a Task naming the notifications by
their identifiers, no person data; :mod:`adapter.sync.revocation`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from ipfhir.adapter.sync.messages import MessageRefused, issue_sync
from ipfhir.mappings.codes import EXCHANGE, cs_url
from ipfhir.mappings.errors import IpError
from ipfhir.mappings.identifiers import ORGNR_SYSTEM

__all__ = [
    "EVENTS",
    "EXCHANGE_SYSTEM",
    "REQUESTS",
    "TRANSFER",
    "TRANSFER_PLAN",
    "TRANSFER_QUERY",
    "TRANSFER_RESPONSE",
    "Incoming",
    "Party",
    "code",
    "message_bundle",
    "message_id_of",
    "read_message",
    "response_bundle",
]

Resource = dict[str, Any]
EXCHANGE_SYSTEM = cs_url("ip-exchange")
NOTIFICATION = "ip-notification"
NOTIFICATION_RESPONSE = "ip-notification-response"
TRANSFER = "ip-transfer"  # municipality A asks B to take the person's plan over
TRANSFER_RESPONSE = "ip-transfer-response"  # B accepts, declines or confirms it stored the plan
TRANSFER_PLAN = "ip-transfer-plan"  # A sends the plan as the consent lets B see it
TRANSFER_QUERY = "ip-transfer-query"  # A asks B whether it stored the plan (no answer came)
REVOCATION = "ip-revocation"  # the sender withdraws what it sent under a consent since narrowed
EVENTS = (
    NOTIFICATION,
    NOTIFICATION_RESPONSE,
    TRANSFER,
    TRANSFER_RESPONSE,
    TRANSFER_PLAN,
    TRANSFER_QUERY,
    REVOCATION,
)
# addressed to a served organisation
REQUESTS = frozenset({NOTIFICATION, TRANSFER, TRANSFER_PLAN, TRANSFER_QUERY})
ResponseCode = Literal["ok", "transient-error", "fatal-error"]
_MAX_ID = 64


@dataclass(frozen=True)
class Party:
    """An organisation at one end of a message: organisasjonsnummer, name, FHIR base."""

    orgnr: str
    name: str
    endpoint: str

    def reference(self) -> Resource:
        return {"identifier": {"system": ORGNR_SYSTEM, "value": self.orgnr}, "display": self.name}


def code(value: str) -> Resource:
    """A CodeableConcept of CodeSystem ``ip-exchange``."""
    return {"coding": [{"system": EXCHANGE_SYSTEM, "code": value, "display": EXCHANGE[value]}]}


def message_bundle(
    *,
    message_id: str,
    event: str,
    source: Party,
    destination: Party,
    timestamp: str,
    resources: list[Resource],
) -> Resource:
    """The message Bundle: MessageHeader ``message_id`` focusing the first of ``resources``
    (each given the fullUrl ``urn:uuid:<its id>``)."""
    entries = [{"fullUrl": f"urn:uuid:{r['id']}", "resource": r} for r in resources]
    header = {
        "resourceType": "MessageHeader",
        "id": message_id,
        "eventCoding": code(event)["coding"][0],
        "destination": [
            {"endpoint": _process_url(destination.endpoint), "receiver": destination.reference()}
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


def response_bundle(
    *, answer_id: str, request_id: str, code_: ResponseCode, timestamp: str, err: IpError | None
) -> Resource:
    """The answer to message ``request_id``: ok, or an error with its OperationOutcome."""
    response: Resource = {"identifier": request_id, "code": code_}
    entries: list[Resource] = []
    if err is not None:
        outcome = {**err.outcome(), "id": f"{answer_id}-outcome"}
        response["details"] = {"reference": f"urn:uuid:{outcome['id']}"}
        entries.append({"fullUrl": f"urn:uuid:{outcome['id']}", "resource": outcome})
    header = {
        "resourceType": "MessageHeader",
        "id": answer_id,
        "eventCoding": {"system": EXCHANGE_SYSTEM, "code": NOTIFICATION_RESPONSE},
        "source": {"endpoint": "urn:ipfhir:process-message"},
        "response": response,
    }
    return {
        "resourceType": "Bundle",
        "id": answer_id,
        "type": "message",
        "timestamp": timestamp,
        "entry": [{"fullUrl": f"urn:uuid:{answer_id}", "resource": header}, *entries],
    }


def _process_url(base: str) -> str:
    return base.rstrip("/") + "/$process-message"


@dataclass(frozen=True)
class Incoming:
    """A received message, checked for shape: what the receiver acts on."""

    message_id: str
    event: str
    source_endpoint: str
    destination_endpoint: str
    receiver_orgnr: str | None
    focus: Resource  # the Task
    resources: dict[str, Resource]  # fullUrl -> resource, the header's excluded


def _refused(detail: str, where: str = "Bundle") -> MessageRefused:
    return MessageRefused([issue_sync("IP-6071", where, "structure", detail=detail)])


def message_id_of(body: Any) -> str | None:
    """The MessageHeader id of anything shaped like a message (to answer it), else None."""
    try:
        header = body["entry"][0]["resource"]
        value = header["id"] if header.get("resourceType") == "MessageHeader" else None
    except (KeyError, IndexError, TypeError, AttributeError):
        return None
    ok = isinstance(value, str) and 0 < len(value) <= _MAX_ID and value.isprintable()
    return value if ok else None


def read_message(body: Any) -> Incoming:
    """The message in ``body``, or :class:`MessageRefused` (IP-6071, IP-6074)."""
    if not isinstance(body, dict) or body.get("resourceType") != "Bundle":
        raise _refused("a Bundle is expected")
    if body.get("type") != "message":
        raise _refused("Bundle.type must be message", "Bundle.type")
    message_id = message_id_of(body)
    if message_id is None:
        raise _refused("the first entry must be a MessageHeader with an id", "Bundle.entry[0]")
    header = body["entry"][0]["resource"]
    event = _dict(header.get("eventCoding"))
    if event.get("system") != EXCHANGE_SYSTEM or event.get("code") not in EVENTS:
        shown = str(event.get("code"))[:40]
        raise MessageRefused(
            [issue_sync("IP-6074", "MessageHeader.eventCoding", "not-supported", event=shown)]
        )
    resources = {
        str(e.get("fullUrl")): e["resource"]
        for e in body["entry"][1:]
        if isinstance(e, dict) and isinstance(e.get("resource"), dict)
    }
    destination = _first(header.get("destination"))
    receiver = _dict(_dict(destination.get("receiver")).get("identifier"))
    focus_ref = str(_dict(_first(header.get("focus"))).get("reference"))
    focus = resources.get(focus_ref)
    if focus is None or focus.get("resourceType") != "Task":
        raise _refused("MessageHeader.focus must name a Task in the Bundle", "MessageHeader.focus")
    return Incoming(
        message_id=message_id,
        event=str(event["code"]),
        source_endpoint=str(_dict(header.get("source")).get("endpoint")),
        destination_endpoint=str(destination.get("endpoint")),
        receiver_orgnr=receiver.get("value") if receiver.get("system") == ORGNR_SYSTEM else None,
        focus=focus,
        resources=resources,
    )


def _dict(value: Any) -> Resource:
    return value if isinstance(value, dict) else {}


def _first(value: Any) -> Resource:
    return _dict(value[0]) if isinstance(value, list) and value else {}
