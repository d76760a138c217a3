"""A notification queued while the consent allowed it, then the consent NARROWED (not withdrawn)
before delivery: ``adapter/sync/gate.py`` promises that "a consent withdrawn, narrowed or
expired since then must stop everything not yet shared", but :class:`ConsentGate` only asks
whether the receiver may still read the Patient. The message built at queue time — with a
measure the person has since refused to share — is sent as it was."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from sqlalchemy import Engine

from ipfhir.adapter.bootstrap import secure_factory
from ipfhir.adapter.store.outbox import Outbox
from ipfhir.adapter.sync.gate import ConsentGate
from ipfhir.adapter.sync.policy import Attempt
from ipfhir.adapter.sync.worker import Worker
from ipfhir.mappings.codes import ext_url
from tests.api.notify_world import KE
from tests.api.test_notify_sender import _hospital, _notify

TOPIC = "https://ip-fhir-adapter.no/fhir/CodeSystem/ip-information-topic"


class _Recording:
    """A transport that records what would have left the adapter."""

    def __init__(self) -> None:
        self.sent: list[str] = []

    def post(self, message: Any) -> Any:
        self.sent.append(json.dumps(message.payload, ensure_ascii=False))
        return Attempt(error="ConnectionError: the receiver is down")


def test_a_consent_narrowed_before_delivery_stops_what_it_now_refuses(
    engine: Engine, tmp_path: Path
) -> None:
    wiring, directory = _hospital(engine, tmp_path)
    plan = wiring.repository.read("CarePlan", "ip1")
    label = {
        "url": ext_url("ip-security-label"),
        "valueCoding": {"system": TOPIC, "code": "okonomi"},
    }
    plan["activity"][0]["extension"] = [label]  # measure m1 is about the person's economy
    wiring.repository.update("CarePlan", "ip1", plan)
    _notify(wiring, directory, to_org=KE)
    [queued] = Outbox(engine).list()
    assert "Tiltak m1" in json.dumps(queued.payload, ensure_ascii=False)  # allowed when queued
    # The person now refuses the topic «okonomi» to every recipient (a narrowing: the
    # coordinating unit still sees the person and the rest of the plan).
    consent = wiring.repository.read("Consent", "ip1-sharing")
    consent["provision"]["provision"].append(
        {"type": "deny", "securityLabel": [{"system": TOPIC, "code": "okonomi"}]}
    )
    wiring.repository.update("Consent", "ip1-sharing", consent)
    fresh = _notify(wiring, directory, to_org=KE)  # what the consent gives KE now: no m1
    [now] = [m for m in Outbox(engine).list() if m.message_id == fresh.message_id]
    assert "Tiltak m1" not in json.dumps(now.payload, ensure_ascii=False)
    transport = _Recording()
    Worker(Outbox(engine), transport, before_send=ConsentGate(secure_factory(wiring))).run_once()
    leaked = [payload for payload in transport.sent if "Tiltak m1" in payload]
    assert leaked == [], "a measure the consent now refuses left the adapter"
