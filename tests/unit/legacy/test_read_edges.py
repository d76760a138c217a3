"""Parts of MsgHead the fixtures do not carry, and values the schema allows but Python cannot
read: kept, refused or converted as documented."""

from __future__ import annotations

import re

import pytest

from ipfhir.mappings.errors import IpError, MappingError
from ipfhir.mappings.legacy import AppRec, Message, read_message, write
from tests.unit.legacy.conftest import FIXTURES

NOTICE = (FIXTURES / "dialog-1.1-behov-for-ip.xml").read_bytes()
OTHER_RECEIVER = """<OtherReceiver>
      <RoleReceiver V="KOPI" DN="Kopimottaker"/>
      <Organisation>
        <OrganisationName>Fastlegekontoret i Kárášjohka</OrganisationName>
        <Ident><Id>9990040</Id><TypeId V="HER" DN="HER-id" S="2.16.578.1.12.4.1.1.9051"/></Ident>
      </Organisation>
    </OtherReceiver>
    <Patient>""".encode()


def _ids(data: bytes) -> list[str]:
    with pytest.raises(IpError) as caught:
        read_message(data)
    return [i.message_id for i in caught.value.issues]


def test_other_receiver_is_kept_and_written_back() -> None:
    message = read_message(NOTICE.replace(b"<Patient>", OTHER_RECEIVER, 1))
    assert isinstance(message, Message) and len(message.other_receivers) == 1
    assert "Kárášjohka" in message.other_receivers[0].plain
    assert read_message(write(message)) == message


def test_latin1_input_is_written_as_utf8() -> None:
    text = (FIXTURES / "apprec-1.0-ok-med-feil.xml").read_text(encoding="utf-8")
    latin1 = text.replace('encoding="UTF-8"', 'encoding="ISO-8859-1"').encode("iso-8859-1")
    receipt = read_message(latin1)
    assert (
        isinstance(receipt, AppRec)
        and receipt.errors[0].ot == "Vedlegget (base64) kunne ikke åpnes"
    )
    assert "kunne ikke åpnes".encode() in write(receipt)


def test_patient_report_is_not_supported() -> None:
    data = re.sub(
        rb"(<Document>.*</Document>)",
        rb"<PatientReport><CaseNo>1</CaseNo>\1</PatientReport>",
        NOTICE,
        flags=re.S,
    )
    assert _ids(data) == ["IP-6213"]


def test_two_content_elements_are_not_supported() -> None:
    data = (FIXTURES / "dialog-1.1-dnummer-foresporsel.xml").read_bytes()
    container = re.search(rb"<Base64Container .*?</Base64Container>", data, flags=re.S)
    assert container is not None
    doubled = data.replace(container.group(0), container.group(0) * 2)
    assert _ids(doubled) == ["IP-6212"]


def test_a_schema_valid_time_python_cannot_read_is_refused() -> None:
    data = NOTICE.replace(b"<GenDate>2026-11-30T14:05:00+01:00", b"<GenDate>2026-11-30T24:00:00")
    with pytest.raises(MappingError) as caught:
        read_message(data)
    assert caught.value.issues[0].message_id == "IP-6223"
    assert caught.value.issues[0].expression == ("/MsgHead/MsgInfo/GenDate",)
