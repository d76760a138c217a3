"""Every example reads, writes back to a message valid against the XSDs, and reads back equal."""

from __future__ import annotations

from pathlib import Path

import pytest
from lxml import etree  # type: ignore[import-untyped]

from ipfhir.mappings.legacy import AppRec, Message, read_message, write
from ipfhir.mappings.legacy.schemas import NS, message_schema
from tests.unit.legacy.conftest import (
    FIXTURES,
    own_examples,
    reference_examples,
    reference_or_skip,
)

EXAMPLES = reference_examples() + own_examples()


def test_examples_are_found() -> None:
    # Sarepta: 3 Dialogmelding 1.0 + 3 1.1 examples and 4 PLO test cases (no AppRec example);
    # ours: 2 Dialogmelding 1.1 and 3 AppRecs (1.0 and 1.1)
    assert len(own_examples()) == 5
    reference_or_skip()
    assert len(reference_examples()) == 10


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.name)
def test_round_trip(path: Path) -> None:
    model = read_message(path.read_bytes())
    written = write(model)
    tree = etree.fromstring(written)
    assert message_schema().validate(tree), message_schema().error_log
    assert read_message(written) == model
    assert written.startswith(b"<?xml version='1.0' encoding='UTF-8'?>")


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.name)
def test_written_in_newest_namespaces(path: Path) -> None:
    tree = etree.fromstring(write(read_message(path.read_bytes())))
    namespaces = {etree.QName(e).namespace for e in tree.iter()}
    assert NS["dia10"] not in namespaces and NS["ar10"] not in namespaces
    if etree.QName(tree).localname == "MsgHead":
        assert tree.find(f"{{{NS['mh']}}}MsgInfo/{{{NS['mh']}}}MIGversion").text == (
            "v1.2 2006-05-24"
        )


def test_notice_of_need_reads_everything_the_sync_engine_needs() -> None:
    message = read_message((FIXTURES / "dialog-1.1-behov-for-ip.xml").read_bytes())
    assert isinstance(message, Message)
    assert message.msg_id == "6f1c2a9e-4b7d-4c1e-9a55-0c0ffee00001"
    assert message.gen_date.isoformat() == "2026-11-30T14:05:00+01:00"
    assert message.sender.organisation.orgnr == "974471612"
    assert message.sender.organisation.orgnr_valid is True
    assert message.sender.organisation.her_id == "9990001"
    assert message.sender.organisation.professional is not None
    assert message.sender.organisation.professional.given_name == "Åse Kjærstin"
    assert message.receiver.organisation.unit is not None
    assert message.receiver.organisation.unit.her_id == "9990011"
    assert message.patient is not None and message.patient.person_number == "12835708843"
    (document,) = message.documents
    assert document.content is not None and not isinstance(document.content, AppRec)
    note = document.content.notes[0]  # type: ignore[union-attr]
    assert note.topic == "Melding om behov for individuell plan og koordinator"
    assert note.topic_code.v == "6" and note.topic_code.s == "2.16.578.1.12.4.1.1.7322"
    assert "Mun háliidan ovttasbargat dáppe ruovttus" in note.text.plain
    assert note.doc_id == "NOTAT-2026-11-30-0001"
    assert [r.role_to_patient.v for r in note.roles] == ["21", "5"]
    assert note.roles[0].professional.hpr == "9990004"
    assert note.roles[1].person.given_name == "Ánde Niillas"


def test_norwegian_and_sami_letters_survive_as_utf8() -> None:
    written = write(read_message((FIXTURES / "dialog-1.1-behov-for-ip.xml").read_bytes()))
    for text in ("Østgård", "Kjærstin", "Čuoikkaluohkká", "Kárášjohka", "«Mun háliidan"):
        assert text.encode("utf-8") in written


def test_dnumber_request_with_markup_and_attachment() -> None:
    message = read_message((FIXTURES / "dialog-1.1-dnummer-foresporsel.xml").read_bytes())
    assert isinstance(message, Message)
    assert message.patient is not None and message.patient.person_number == "42918847582"
    assert message.gen_date.microsecond == 123456  # seven digits cut to six
    assert message.conversation is not None
    assert message.conversation.parent == "6f1c2a9e-4b7d-4c1e-9a55-0c0ffee00001"
    request = message.documents[0].content.requests[0]  # type: ignore[union-attr]
    assert request.question.children[0].tag == "{http://www.w3.org/1999/xhtml}b"
    assert "Vi ber om epikrise og plan" in request.question.plain
    assert [j.v for j in request.journal_info_types] == ["1", "2"]
    assert request.roles[0].unit.contact_unit.her_id == "9990031"
    attachment = message.documents[1].content
    assert attachment is not None and attachment.data.startswith("U2FtdHlra2Ug")  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("name", "outcome", "errors", "version"),
    [
        ("apprec-1.1-ok.xml", "ok", [], "1.1"),
        ("apprec-1.1-avvist.xml", "rejected", ["E35", "X99"], "1.1"),
        ("apprec-1.0-ok-med-feil.xml", "ok-with-errors", ["X99"], "1.0"),
    ],
)
def test_apprec_status_and_errors_survive(
    name: str, outcome: str, errors: list[str], version: str
) -> None:
    receipt = read_message((FIXTURES / name).read_bytes())
    assert isinstance(receipt, AppRec)
    assert (receipt.outcome, [e.v for e in receipt.errors], receipt.version) == (
        outcome,
        errors,
        version,
    )
    again = read_message(write(receipt))
    assert isinstance(again, AppRec)
    assert again.outcome == outcome and [e.v for e in again.errors] == errors
    assert [e.ot for e in again.errors] == [e.ot for e in receipt.errors]
    assert again.original.id == receipt.original.id
    assert again.version == "1.1"
