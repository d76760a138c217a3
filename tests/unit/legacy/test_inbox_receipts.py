"""A partner's AppRec for a message of ours settles that message in the outbox: handing a
Dialogmelding to a folder or queue is not its acceptance. «Avvist» makes the message dead,
visible with the partner's error codes and replayable; OK keeps it delivered with the receipt
as its response. Only the partner the message went to can answer it: an AppRec from another
partner, or for a message id we never sent there, changes nothing."""

from __future__ import annotations

import dataclasses
import datetime as dt
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine

from ipfhir.adapter.bootstrap import build_wiring
from ipfhir.adapter.directory import SqlDirectory
from ipfhir.adapter.settings import Settings
from ipfhir.adapter.store.outbox import Outbox, enqueue
from ipfhir.adapter.store.repository import SqlRepository
from ipfhir.adapter.sync.receiver import Receiver
from ipfhir.adapter.sync.transports import LegacyInbox
from ipfhir.mappings.legacy import Message, read_message
from ipfhir.mappings.legacy.codes import Code
from ipfhir.mappings.legacy.write_apprec import receipt_for
from ipfhir.mappings.legacy.write_msghead import write
from tests.unit.legacy.conftest import FIXTURES
from tests.unit.legacy.world import MUNICIPALITY, load

BASE = "http://127.0.0.1:18083"
NOTICE = read_message((FIXTURES / "dialog-1.1-behov-for-ip.xml").read_bytes())
OURS = "5e0c7a52-3b1f-4c55-9d1e-6c0f2b1a7d01"


def _world(engine: Engine, tmp_path: Path) -> tuple[LegacyInbox, Outbox, str]:
    wiring = build_wiring(Settings(data_dir=tmp_path, dev_mode=True), engine=engine)
    directory = SqlDirectory(engine)
    hospital = (tmp_path / "sykehus").as_uri()
    load(directory, BASE, hospital)
    own = directory.get(MUNICIPALITY)
    assert own is not None
    outbox = Outbox(engine)
    box = LegacyInbox(Receiver(wiring.repository, directory, BASE), directory, own, outbox=outbox)
    repo = SqlRepository(engine, wiring.validate)
    with repo.begin_write() as conn:
        enqueue(conn, destination=hospital, kind="ip-notification", payload={}, message_id=OURS)
    (claimed,) = outbox.claim()
    assert outbox.delivered(claimed, "handed to file:///… as " + OURS)
    return box, outbox, hospital


def _apprec(outcome: str, original: str = OURS, **party: Any) -> bytes:
    """The hospital's AppRec for our message ``original`` (our message: the notice turned round)."""
    assert isinstance(NOTICE, Message)
    ours = dataclasses.replace(
        NOTICE, msg_id=original, sender=NOTICE.receiver, receiver=NOTICE.sender, **party
    )
    errors = (Code(v="E10", dn="Ugyldig fødselsnummer", ot="Pasienten finnes ikke"),)
    receipt = receipt_for(
        ours,
        receipt_id="a6f1c1d2-0c9b-4a53-8b3c-2e6d4c1b9f10",
        gen_date=dt.datetime(2026, 12, 1, 9, 30, tzinfo=dt.UTC),
        outcome=outcome,
        errors=errors if outcome != "ok" else (),
    )
    return write(receipt)


def test_a_rejected_apprec_makes_the_message_dead_and_replayable(
    engine: Engine, tmp_path: Path
) -> None:
    box, outbox, _ = _world(engine, tmp_path)
    assert box.handle(_apprec("rejected")) is None  # an AppRec is answered with nothing
    msg = outbox.get(OURS)
    assert msg is not None and msg.status == "dead"
    assert "avvist" in (msg.last_error or "") and "E10" in (msg.last_error or "")
    assert outbox.replay(OURS)
    again = outbox.get(OURS)
    assert again is not None and again.status == "queued"


def test_an_ok_apprec_keeps_the_message_delivered_with_the_receipt(
    engine: Engine, tmp_path: Path
) -> None:
    box, outbox, _ = _world(engine, tmp_path)
    box.handle(_apprec("ok"))
    msg = outbox.get(OURS)
    assert msg is not None and msg.status == "delivered"
    assert "AppRec" in (msg.response or "") and "ok" in (msg.response or "")


@pytest.mark.parametrize("case", ["another-message-id", "another-partner"])
def test_an_apprec_that_is_not_the_partners_answer_changes_nothing(
    engine: Engine, tmp_path: Path, case: str
) -> None:
    box, outbox, _ = _world(engine, tmp_path)
    before = outbox.get(OURS)
    if case == "another-message-id":
        data = _apprec("rejected", original="9b1e4c3a-0000-4000-8000-000000000001")
    else:  # the municipality's own HER-id as the sender: not the partner the message went to
        assert isinstance(NOTICE, Message)
        data = _apprec("rejected").replace(b"9990001", b"9990011")
    box.handle(data)
    assert outbox.get(OURS) == before
