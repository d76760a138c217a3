"""De-duplication of legacy messages by (sender, MsgId) (adapter/sync/receiver.py, the inbox's
step 4): a MsgId the sender used before gets the stored answer, without looking at what the
message now says. A true duplicate (the same bytes again) gets exactly the original AppRec — that
holds (tests/integration/test_legacy_folder.py). These are the cases where the message under the
reused MsgId is *not* the one answered."""

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
FIRST, OTHER = b"12835708843", b"03895104824"  # two synthetic fødselsnumre (valid checksums)


def _inbox(engine: Engine, tmp_path: Path) -> tuple[Any, LegacyInbox]:
    wiring = build_wiring(Settings(data_dir=tmp_path, dev_mode=True), engine=engine)
    directory = SqlDirectory(engine)
    load(directory, BASE, tmp_path.as_uri())
    return wiring, inbox(wiring, directory, BASE)


def _patients_of_tasks(wiring: Any) -> list[str]:
    repo = wiring.repository
    out = []
    for task in repo.search(SearchQuery("Task", count=50)).matches:
        patient = repo.read("Patient", task["for"]["reference"].split("/")[1])
        out.append(patient["identifier"][0]["value"])
    return out


def test_a_notice_for_another_person_under_a_used_msgid_is_not_answered_ok(
    engine: Engine, tmp_path: Path
) -> None:
    """Attacker: a hospital system (or whoever writes into the incoming folder or queue) sends
    a notice of need for an individual plan for a second person under the MsgId of a notice it
    sent before (a reused or badly generated id, or on purpose to bury a notice). Changed: the
    second person's notice is dropped — no Task in the coordinating unit's inbox — yet the
    hospital receives AppRec «OK» for it (byte for byte the first notice's receipt) and closes
    its case believing the municipality was notified (forskrift om individuell plan § 6).
    Correct answer: an AppRec «avvist» for the second message (its MsgId names another message
    already received), the first notice's Task unchanged, nothing stored for the second."""
    wiring, box = _inbox(engine, tmp_path)
    first = box.handle(NOTICE)
    assert first is not None and first.outcome == "ok"
    second = box.handle(NOTICE.replace(FIRST, OTHER))
    assert second is not None
    assert _patients_of_tasks(wiring) == [FIRST.decode()]
    assert second.outcome == "rejected", "the dropped notice was answered OK"
    assert second.data != first.data


def test_a_resend_with_a_new_gendate_gets_the_original_apprec(
    engine: Engine, tmp_path: Path
) -> None:
    """Attacker (or an ordinary communication program that stamps a new GenDate on a resend):
    sends the same notice again under the same MsgId with another GenDate. Learns/changes:
    it receives an AppRec with the *original's* Id and GenDate but an OriginalMsgId/IssueDate
    taken from the resend — two different receipts under one AppRec Id, so the partner cannot
    match them. Correct answer (issue #13: «a duplicate answered with the original AppRec»):
    the very AppRec sent the first time, byte for byte."""
    _wiring, box = _inbox(engine, tmp_path)
    first = box.handle(NOTICE)
    resend = box.handle(NOTICE.replace(b"2026-11-30T14:05:00+01:00", b"2026-11-30T15:05:00+01:00"))
    assert first is not None and resend is not None
    one, two = read_message(first.data), read_message(resend.data)
    assert isinstance(one, AppRec) and isinstance(two, AppRec) and one.id == two.id
    assert resend.data == first.data


def test_a_refused_message_sent_again_gets_the_same_apprec(engine: Engine, tmp_path: Path) -> None:
    """Attacker (or a partner's communication program resending what got no answer in time):
    sends the same bytes again of a message the inbox refuses before the receiver (here a
    sender the directory does not know, IP-6155). Learns/changes: the second AppRec has the
    first one's Id (derived from the bytes) but another GenDate — two different receipts under
    one AppRec Id. Correct answer: a duplicate is answered with the original AppRec, byte for
    byte (or, if it is answered anew, under a new Id)."""
    _wiring, box = _inbox(engine, tmp_path)
    stranger = NOTICE.replace(b"974471612", b"123456785").replace(b"9990001", b"9990999")
    box.clock = lambda: 1_796_000_000.0
    first = box.handle(stranger)
    box.clock = lambda: 1_796_000_600.0  # ten minutes later
    again = box.handle(stranger)
    assert first is not None and again is not None and first.outcome == "rejected"
    one, two = read_message(first.data), read_message(again.data)
    assert isinstance(one, AppRec) and isinstance(two, AppRec) and one.id == two.id
    assert again.data == first.data
