"""The message Bundle and the answer (pure): what the sender builds the receiver reads back,
and the receiver's answers are what the delivery policy judges them to be."""

from __future__ import annotations

import json
import random

import pytest

from ipfhir.adapter.sync.messages import MessageRefused, issue_sync
from ipfhir.adapter.sync.messaging import (
    Party,
    code,
    message_bundle,
    read_message,
    response_bundle,
)
from ipfhir.adapter.sync.policy import Attempt, RetryPolicy, judge

H = Party("961651727", "UNN HF – Sámi klinihkka", "https://fhir.unn.example/ip")
M = Party("920376290", "Romsa suohkan – koordinerende enhet", "https://fhir.romsa.example/ip/")
TASK = {"resourceType": "Task", "id": "t1", "status": "requested", "code": code("ip-notification")}
PATIENT = {"resourceType": "Patient", "id": "p1", "name": [{"family": "Ásllat"}]}


def _message() -> dict[str, object]:
    return message_bundle(
        message_id="m-1",
        event="ip-notification",
        source=H,
        destination=M,
        timestamp="2026-12-01T14:00:00Z",
        resources=[TASK, PATIENT],
    )


def test_what_the_sender_builds_the_receiver_reads() -> None:
    incoming = read_message(_message())
    assert incoming.message_id == "m-1" and incoming.event == "ip-notification"
    assert incoming.source_endpoint == H.endpoint
    assert incoming.destination_endpoint == "https://fhir.romsa.example/ip/$process-message"
    assert incoming.receiver_orgnr == M.orgnr
    assert incoming.focus == TASK and incoming.resources["urn:uuid:p1"] == PATIENT


@pytest.mark.parametrize(
    ("answer_code", "verdict"),
    [("ok", "delivered"), ("transient-error", "retry"), ("fatal-error", "dead")],
)
def test_the_receivers_answers_are_judged_as_meant(answer_code: str, verdict: str) -> None:
    err = None
    if answer_code != "ok":
        err = MessageRefused([issue_sync("IP-6075", "Task", detail="prøve")])
    answer = response_bundle(
        answer_id="a-1",
        request_id="m-1",
        code_=answer_code,  # type: ignore[arg-type]
        timestamp="2026-12-01T14:00:01Z",
        err=err,
    )

    body = json.dumps(answer)
    outcome = judge(Attempt(200, body), "m-1", 1, RetryPolicy(), random.Random(1), 0.0)
    assert outcome.verdict == verdict
    other = judge(Attempt(200, body), "m-2", 1, RetryPolicy(), random.Random(1), 0.0)
    assert other.verdict == "retry"  # an answer to another message delivers nothing
    if err is not None:
        outcome_resource = answer["entry"][1]["resource"]
        assert outcome_resource["resourceType"] == "OperationOutcome"
        assert "IP-6075" in json.dumps(outcome_resource)


@pytest.mark.parametrize(
    "broken",
    [
        {"resourceType": "Bundle", "type": "collection"},
        {"resourceType": "Bundle", "type": "message", "entry": []},
        {"resourceType": "Bundle", "type": "message", "entry": [{"resource": TASK}]},
        [1, 2, 3],
    ],
)
def test_what_is_not_a_message_is_refused(broken: object) -> None:
    with pytest.raises(MessageRefused) as refused:
        read_message(broken)
    assert [i.message_id for i in refused.value.issues] == ["IP-6071"]
