"""Workflows suite: the messages between organisations (domain digest § 6) over FHIR messaging
(``POST [base]/$process-message``). Optional until the project's sync engine exists (issue 12):
a server that declares no messaging is skipped with that reason, one that declares it is judged.
"""

from __future__ import annotations

import datetime as dt
import random
import uuid
from typing import Any

from ipfhir.conformance.checks import Fail, Skip, check
from ipfhir.conformance.context import Context
from ipfhir.conformance.http import Answer
from ipfhir.conformance.synthetic import synthetic_plan
from ipfhir.mappings.identifiers import synthetic_orgnr

__all__ = ["EVENT_SYSTEM", "message_bundle"]

Json = dict[str, Any]
EVENT_SYSTEM = "https://ip-fhir-adapter.no/fhir/CodeSystem/ip-message-event"
_WHY = "depends on the sync engine (issue 12)"


def _declares_messaging(ctx: Context) -> bool:
    cap = ctx.capability()
    if cap.get("messaging"):
        return True
    return any(
        op.get("name") == "process-message"
        for rest in cap.get("rest") or []
        for op in rest.get("operation") or []
    )


def message_bundle(ctx: Context, event: str, text: str) -> Json:
    """A message Bundle (MessageHeader, the synthetic person's Patient and CarePlan)."""
    plan = synthetic_plan(ctx.owner_org or synthetic_orgnr(random.Random()), None)
    resources = {e["resource"]["resourceType"]: e for e in plan.bundle()["entry"]}
    header = {
        "resourceType": "MessageHeader",
        "id": str(uuid.uuid4()),
        "eventCoding": {"system": EVENT_SYSTEM, "code": event},
        "source": {"name": "ipfhir conformance", "endpoint": "urn:ipfhir-conformance"},
        "reason": {"text": text},
        "focus": [{"reference": resources["CarePlan"]["fullUrl"]}],
    }
    return {
        "resourceType": "Bundle",
        "id": str(uuid.uuid4()),
        "type": "message",
        "timestamp": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "entry": [
            {"fullUrl": f"urn:uuid:{header['id']}", "resource": header},
            resources["Patient"],
            resources["CarePlan"],
        ],
    }


def _send(ctx: Context, message: Json, note: str) -> tuple[Answer, Json]:
    """POST the message; the acknowledgement's MessageHeader, or Fail."""
    answer = ctx.main.request("POST", "$process-message", body=message, note=note)
    if answer.status not in (200, 202):
        raise Fail(f"$process-message answered {answer.status}, not 200 with an acknowledgement")
    ack = answer.json()
    headers = [
        e["resource"]
        for e in ack.get("entry") or []
        if (e.get("resource") or {}).get("resourceType") == "MessageHeader"
    ]
    if not headers:
        raise Fail("the acknowledgement Bundle has no MessageHeader")
    response = headers[0].get("response") or {}
    if response.get("identifier") != message["entry"][0]["resource"]["id"]:
        raise Fail(
            "the acknowledgement's MessageHeader.response.identifier is not the message's id"
        )
    return answer, ack


def _messaging(ctx: Context) -> None:
    if not _declares_messaging(ctx):
        raise Skip(f"{_WHY}: the CapabilityStatement declares no messaging / $process-message")
    ctx.need_writes()


@check(
    "workflows.notice-acknowledged",
    "workflows",
    "A notice of need for IP is acknowledged",
    """Hospital → municipality's coordinating unit: a message (event ip-need-notice) about a
    synthetic person must be answered with an acknowledgement whose MessageHeader.response
    names the message and has code 'ok'. Optional: depends on the sync engine (issue 12).""",
    ("WF-notice",),
    mandatory=False,
    writes=True,
)
def notice_acknowledged(ctx: Context) -> str:
    _messaging(ctx)
    message = message_bundle(ctx, "ip-need-notice", "Behov for individuell plan og koordinator.")
    _, ack = _send(ctx, message, "notice of need")
    header = next(
        e["resource"] for e in ack["entry"] if e["resource"]["resourceType"] == "MessageHeader"
    )
    if header["response"].get("code") != "ok":
        raise Fail(f"the acknowledgement's response code is {header['response'].get('code')!r}")
    return "acknowledged with code ok"


@check(
    "workflows.duplicate-message",
    "workflows",
    "A duplicate message gets the original acknowledgement",
    """A message sent twice (a retry after a lost answer) must be processed once: the second
    answer must be the first acknowledgement again (same Bundle id and MessageHeader id), not a
    new one. Optional: depends on the sync engine (issue 12).""",
    ("WF-dedup",),
    mandatory=False,
    writes=True,
)
def duplicate_message(ctx: Context) -> str:
    _messaging(ctx)
    message = message_bundle(ctx, "ip-need-notice", "Behov for individuell plan (sendt på nytt).")
    _, first = _send(ctx, message, "first delivery")
    _, again = _send(ctx, message, "the same message again")

    def ids(ack: Json) -> tuple[Any, Any]:
        return ack.get("id"), ack["entry"][0]["resource"].get("id")

    if ids(first) != ids(again):
        raise Fail(
            f"the duplicate was answered with a new acknowledgement (Bundle {ids(again)[0]}, "
            f"first {ids(first)[0]}): the message was processed twice"
        )
    return f"both deliveries answered with acknowledgement {ids(first)[0]}"


@check(
    "workflows.transfer-handover",
    "workflows",
    "A transfer to the new municipality is acknowledged",
    """Municipality → municipality when the person moves: a transfer message (event
    ip-transfer) carrying the plan must be acknowledged with code 'ok'. Optional: depends on
    the sync engine (issue 12).""",
    ("WF-transfer",),
    mandatory=False,
    writes=True,
)
def transfer_handover(ctx: Context) -> str:
    _messaging(ctx)
    message = message_bundle(ctx, "ip-transfer", "Flytting: Tromsø kommune overtar koordineringen.")
    _, ack = _send(ctx, message, "transfer")
    header = next(
        e["resource"] for e in ack["entry"] if e["resource"]["resourceType"] == "MessageHeader"
    )
    if header["response"].get("code") != "ok":
        raise Fail(f"the transfer was answered with code {header['response'].get('code')!r}")
    return "transfer acknowledged with code ok"
