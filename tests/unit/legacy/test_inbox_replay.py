"""A legacy message sent again is answered with the very AppRec it got (the envelope's GenDate
aside), and a MsgId reused for another message is refused (IP-6160) — its own resends answered
with that same refusal, the first message's answer untouched
(adapter/sync/transports/receipts.py says what counts as the same message)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import Engine

from ipfhir.adapter.bootstrap import build_wiring
from ipfhir.adapter.directory import SqlDirectory
from ipfhir.adapter.ports import SearchQuery
from ipfhir.adapter.settings import Settings
from ipfhir.adapter.sync.transports import LegacyInbox
from ipfhir.mappings.legacy import AppRec, read_message
from tests.unit.legacy.conftest import FIXTURES
from tests.unit.legacy.world import inbox, load

BASE = "http://127.0.0.1:18082"
NOTICE = (FIXTURES / "dialog-1.1-behov-for-ip.xml").read_bytes()
GEN_DATE = b"2026-11-30T14:05:00+01:00"


def _inbox(engine: Engine, tmp_path: Path) -> tuple[Any, LegacyInbox]:
    wiring = build_wiring(Settings(data_dir=tmp_path, dev_mode=True), engine=engine)
    directory = SqlDirectory(engine)
    load(directory, BASE, tmp_path.as_uri())
    return wiring, inbox(wiring, directory, BASE)


def _receipt(data: bytes) -> AppRec:
    found = read_message(data)
    assert isinstance(found, AppRec)
    return found


def test_another_message_under_a_used_msgid_is_refused_and_stays_refused(
    engine: Engine, tmp_path: Path
) -> None:
    wiring, box = _inbox(engine, tmp_path)
    first = box.handle(NOTICE)
    other = NOTICE.replace(b"Pasienten er innlagt", b"Pasienten er utskrevet")
    assert other != NOTICE
    box.clock = lambda: 1_796_000_000.0
    refused = box.handle(other)
    box.clock = lambda: 1_796_000_600.0  # later, and with another GenDate
    again = box.handle(other.replace(GEN_DATE, b"2026-11-30T16:05:00+01:00"))
    original = box.handle(NOTICE)
    assert first is not None and refused is not None and again is not None
    assert original is not None and original.data == first.data  # the first answer stands
    receipt = _receipt(refused.data)
    assert receipt.outcome == "rejected" and refused.outcome == "rejected"
    assert (receipt.errors[0].ot or "").startswith("IP-6160: ")
    assert receipt.id != _receipt(first.data).id
    assert again.data == refused.data  # its resend: the same refusal, byte for byte
    assert len(wiring.repository.search(SearchQuery("Task", count=50)).matches) == 1


def test_unreadable_bytes_sent_again_get_the_same_refusal(engine: Engine, tmp_path: Path) -> None:
    _wiring, box = _inbox(engine, tmp_path)
    hostile = (FIXTURES / "hostile" / "xxe-file.xml").read_bytes()
    box.clock = lambda: 1_796_000_000.0
    first = box.handle(hostile)
    box.clock = lambda: 1_796_000_600.0
    again = box.handle(hostile)
    assert first is not None and again is not None and again.data == first.data
    assert (_receipt(first.data).errors[0].ot or "").startswith("IP-6202: ")
