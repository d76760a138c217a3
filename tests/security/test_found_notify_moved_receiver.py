"""The directory decides where plan data is sent (``adapter/directory/store.py``), but a queued
notification keeps the address it was queued with: when the receiving organisation's endpoint
is suspended in the directory (or moved to another address) before delivery, the worker still
sends the person's data to the old address. ``adapter/sync/gate.py: ConsentGate`` asks the
consent only, not whether the directory still routes the receiver to that address."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import Engine

from ipfhir.adapter.bootstrap import secure_factory
from ipfhir.adapter.directory import parse_directory
from ipfhir.adapter.directory.build import directory_bundle, organisation_entry
from ipfhir.adapter.store.outbox import Outbox
from ipfhir.adapter.sync.gate import ConsentGate
from ipfhir.adapter.sync.policy import Attempt
from ipfhir.adapter.sync.worker import Worker
from tests.api.notify_world import KE
from tests.api.test_notify_sender import BASES, _hospital, _notify


class _Recording:
    def __init__(self) -> None:
        self.sent: list[str] = []

    def post(self, message: Any) -> Any:
        self.sent.append(message.destination)
        return Attempt(error="ConnectionError: the receiver is down")


def test_a_receiver_suspended_in_the_directory_gets_nothing_more(
    engine: Engine, tmp_path: Path
) -> None:
    wiring, directory = _hospital(engine, tmp_path)
    _notify(wiring, directory, to_org=KE)
    old = BASES[KE] + "/$process-message"
    # The operator suspends the coordinating unit's endpoint (a server taken out of use).
    org, endpoint = organisation_entry(
        KE,
        "Romsa suohkan – koordinerende enhet",
        BASES[KE],
        kommunenummer="5501",
        coordinating_unit=True,
        jwks_url=f"{BASES[KE]}/.well-known/jwks.json",
    )
    endpoint["status"] = "suspended"
    directory.load(parse_directory(directory_bundle(org, endpoint)))
    entry = directory.get(KE)
    assert entry is not None and not entry.routable
    transport = _Recording()
    Worker(Outbox(engine), transport, before_send=ConsentGate(secure_factory(wiring))).run_once()
    assert old not in transport.sent, "person data sent to an endpoint the directory suspended"
