"""Hostile and broken input is refused with its IP-62xx message id, never a crash."""

from __future__ import annotations

import dataclasses
import time

import pytest
from lxml import etree  # type: ignore[import-untyped]

from ipfhir.mappings.errors import FormatError, IpError, MappingError
from ipfhir.mappings.legacy import Message, read_message, validate_message, write
from ipfhir.mappings.legacy.model import Person
from ipfhir.mappings.legacy.safexml import xml_parser
from tests.unit.legacy.conftest import FIXTURES

HOSTILE = FIXTURES / "hostile"
GOOD = (FIXTURES / "dialog-1.1-behov-for-ip.xml").read_bytes()


def _refusal(data: bytes, **limits: int) -> IpError:
    with pytest.raises(IpError) as caught:
        read_message(data, **limits)
    return caught.value


def _ids(error: IpError) -> list[str]:
    return [i.message_id for i in error.issues]


def test_xxe_with_a_file_entity_is_refused() -> None:
    error = _refusal((HOSTILE / "xxe-file.xml").read_bytes())
    assert isinstance(error, FormatError) and _ids(error) == ["IP-6202"]
    assert error.issues[0].code == "security"
    assert "root:" not in str(error)


def test_the_parser_would_not_expand_the_entity_either() -> None:
    root = etree.fromstring((HOSTILE / "xxe-file.xml").read_bytes(), xml_parser())
    assert "root:" not in etree.tostring(root).decode()


def test_billion_laughs_is_refused_quickly() -> None:
    started = time.perf_counter()
    error = _refusal((HOSTILE / "billion-laughs.xml").read_bytes())
    assert _ids(error) == ["IP-6202"]
    assert time.perf_counter() - started < 1.0


def test_fifty_megabytes_are_refused_before_parsing() -> None:
    data = GOOD.replace(b"</TekstNotatInnhold>", b"x" * 50_000_000 + b"</TekstNotatInnhold>")
    started = time.perf_counter()
    error = _refusal(data)
    assert _ids(error) == ["IP-6201"] and error.issues[0].code == "too-costly"
    assert time.perf_counter() - started < 1.0


def test_size_limit_is_a_parameter() -> None:
    assert _ids(_refusal(GOOD, max_bytes=1000)) == ["IP-6201"]
    assert isinstance(read_message(GOOD, max_bytes=len(GOOD)), Message)


def test_deep_nesting_is_refused_with_its_location() -> None:
    deep = b"<p>" * 100 + b"x" + b"</p>" * 100
    data = GOOD.replace(b"Pasienten er innlagt", deep + b"Pasienten er innlagt")
    error = _refusal(data)
    assert _ids(error) == ["IP-6203"]
    assert error.issues[0].expression[0].startswith("/MsgHead/Document/RefDoc/Content/")
    assert _ids(_refusal(GOOD, max_depth=5)) == ["IP-6203"]


def test_wrong_namespace_is_refused() -> None:
    error = _refusal((HOSTILE / "wrong-namespace.xml").read_bytes())
    assert _ids(error) == ["IP-6210"] and "2006-05-23" in str(error)


def test_schema_invalid_is_refused_with_an_xpath() -> None:
    error = _refusal((HOSTILE / "schema-invalid.xml").read_bytes())
    assert _ids(error) == ["IP-6211"]
    assert error.issues[0].expression == ("/MsgHead/MsgInfo/Patient",)
    with pytest.raises(FormatError):
        validate_message((HOSTILE / "schema-invalid.xml").read_bytes())


def test_invalid_fnr_checksum_is_refused() -> None:
    error = _refusal((HOSTILE / "fnr-checksum.xml").read_bytes())
    assert isinstance(error, MappingError) and _ids(error) == ["IP-6220"]
    assert error.issues[0].expression == ("/MsgHead/MsgInfo/Patient/Ident/Id",)


def test_invalid_dnr_is_refused() -> None:
    data = (FIXTURES / "dialog-1.1-dnummer-foresporsel.xml").read_bytes()
    assert _ids(_refusal(data.replace(b"42918847582", b"42918847583"))) == ["IP-6221"]


@pytest.mark.parametrize(
    ("data", "message_id"),
    [
        (b"not xml at all", "IP-6204"),
        (b"<MsgHead", "IP-6204"),
        ("<?xml version='1.0' encoding='UTF-16'?><a/>".encode("utf-16"), "IP-6205"),
        (b"<?xml version='1.0' encoding='Shift_JIS'?><a/>", "IP-6205"),
        (b"<AppRec xmlns='http://www.kith.no/xmlstds/apprec/2012-02-15'/>", "IP-6211"),
    ],
)
def test_unreadable_input(data: bytes, message_id: str) -> None:
    assert _ids(_refusal(data)) == [message_id]


def test_every_truncation_is_refused_cleanly() -> None:
    for cut in range(0, len(GOOD), 97):
        with pytest.raises(IpError):
            read_message(GOOD[:cut])


def test_writing_an_invalid_model_is_refused_with_an_xpath() -> None:
    message = read_message(GOOD)
    assert isinstance(message, Message)
    nobody = dataclasses.replace(message.sender.organisation.professional, idents=())  # type: ignore[arg-type]
    broken = dataclasses.replace(
        message,
        sender=dataclasses.replace(
            message.sender,
            organisation=dataclasses.replace(message.sender.organisation, professional=nobody),
        ),
    )
    with pytest.raises(IpError) as caught:
        write(broken)
    assert _ids(caught.value)[0] == "IP-6230"
    # Ident is required before TeleCom: the schema points at the first element out of place
    assert caught.value.issues[0].expression == (
        "/MsgHead/MsgInfo/Sender/Organisation/HealthcareProfessional/TeleCom",
    )


def test_writing_text_xml_cannot_carry_is_refused() -> None:
    message = read_message(GOOD)
    assert isinstance(message, Message)
    with pytest.raises(IpError) as caught:
        write(dataclasses.replace(message, msg_id="bell\x07"))
    assert _ids(caught.value) == ["IP-6230"]


def test_a_patient_cannot_carry_a_profession() -> None:
    message = read_message(GOOD)
    assert isinstance(message, Message)
    patient = Person(family_name="Sara", profession=None, role_to_patient=None)
    assert isinstance(read_message(write(dataclasses.replace(message, patient=patient))), Message)
    with pytest.raises(IpError) as caught:
        write(
            dataclasses.replace(
                message, patient=dataclasses.replace(patient, profession=message.msg_type)
            )
        )
    assert _ids(caught.value) == ["IP-6230"]
