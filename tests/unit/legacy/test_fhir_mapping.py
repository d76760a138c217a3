"""Legacy XML ↔ the FHIR message Bundle: a notice of need for an individual plan is the very
notification the FHIR path sends, both ways; an AppRec is the answer (MessageHeader.response)
and keeps its status, error codes and original message; every example reads, and writes back
to a message valid against the MsgHead 1.2 + Dialogmelding + AppRec schemas together."""

from __future__ import annotations

import contextlib
import copy
import datetime as dt
import json
import random
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from lxml import etree  # type: ignore[import-untyped]

from ipfhir.adapter.services.notify import _answer, _task
from ipfhir.adapter.sync.content import Seen
from ipfhir.adapter.sync.messaging import (
    NOTIFICATION,
    NOTIFICATION_RESPONSE,
    Party,
    code,
    message_bundle,
)
from ipfhir.mappings.errors import IpError
from ipfhir.mappings.identifiers import DNR_SYSTEM, FNR_SYSTEM, synthetic_fnr, synthetic_orgnr
from ipfhir.mappings.legacy import AppRec, Message, read_message, write
from ipfhir.mappings.legacy.fhir import from_fhir, to_fhir
from ipfhir.mappings.legacy.fhir_apprec import apprec_from_bundle
from ipfhir.mappings.legacy.fhir_common import Org
from ipfhir.mappings.legacy.schemas import message_schema
from tests.unit.legacy.conftest import FIXTURES, own_examples, reference_examples

EXAMPLES = reference_examples() + own_examples()
HOSPITAL = synthetic_orgnr(random.Random(1000))
KE = synthetic_orgnr(random.Random(5501))
H = Party(HOSPITAL, "UNN HF – Sámi klinihkka", "http://127.0.0.1:18081")
M = Party(KE, "Romsa suohkan – koordinerende enhet", "file:///srv/edi/romsa")
H_ORG = Org(H.orgnr, H.name, H.endpoint, "9990101")
M_ORG = Org(M.orgnr, M.name, M.endpoint, "9990201", "9990202")
HER_IDS = {HOSPITAL: "9990101", KE: "9990201"}


def _patient(d_number: bool = False) -> dict[str, Any]:
    number = synthetic_fnr(dt.date(1957, 3, 12), random.Random(7), d_number=d_number)
    return {
        "resourceType": "Patient",
        "id": "0d7c9a51-7e0a-4a43-9b8e-5a2f6c3d1e01",
        "identifier": [{"system": DNR_SYSTEM if d_number else FNR_SYSTEM, "value": number}],
        "name": [{"family": "Sara", "given": ["Biret", "Máret"]}],
        "gender": "female",
        "birthDate": "1957-03-12",
        "address": [{"line": ["Čuoikkaluohkká 7"], "postalCode": "9730", "city": "Kárášjohka"}],
        "telecom": [{"system": "phone", "value": "+4790000001"}],
    }


def _notification(reason: str | None, d_number: bool = False, parts: bool = True) -> Any:
    """The Bundle ``adapter.services.notify`` queues (its own builders)."""
    seen = Seen(
        _patient(d_number),
        ("Hjemmesykepleie – Kárášjohka", "Fysioterapi") if parts else (),
        ("Áslat Nilsen, phone: 77 79 00 00",) if parts else (),
    )
    task = _task("7a0f3c55-1d9e-4b0e-8c7e-0e5f3b1a2c03", H, M, seen, reason, "2026-11-30T13:05:00Z")
    return message_bundle(
        message_id="3e0c8d6b-5a3f-4f7e-9d6a-2b1c0a9e8f04",
        event=NOTIFICATION,
        source=H,
        destination=M,
        timestamp="2026-11-30T13:05:00Z",
        resources=[task, seen.patient],
    )


def _valid(data: bytes) -> Message | AppRec:
    tree = etree.fromstring(data)
    assert message_schema().validate(tree), message_schema().error_log
    return read_message(data)


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.name)
def test_every_example_reads_as_a_bundle_and_writes_back_valid(path: Path) -> None:
    bundle = to_fhir(read_message(path.read_bytes()))
    assert bundle["resourceType"] == "Bundle" and bundle["type"] == "message"
    assert bundle["entry"][0]["resource"]["resourceType"] == "MessageHeader"
    written = write(from_fhir(json.loads(json.dumps(bundle))))
    again = _valid(written)
    assert to_fhir(again) == bundle  # nothing more is lost a second time


@pytest.mark.parametrize(
    ("reason", "d_number", "parts"),
    [
        (
            "Hjerneslag; trenger koordinator før utskriving. «Mun háliidan ovttasbargat»",
            False,
            True,
        ),
        (None, True, True),
        ("Kun fritekst, ingen tjenester ennå", False, False),
    ],
)
def test_notification_dialogmelding_notification_is_equal(
    reason: str | None, d_number: bool, parts: bool
) -> None:
    sent = _notification(reason, d_number, parts)
    xml = write(from_fhir(sent, HER_IDS))
    message = _valid(xml)
    assert isinstance(message, Message) and message.msg_type.v == "DIALOG_NOTAT"
    assert message.sender.organisation.her_id == "9990101"
    assert message.receiver.organisation.orgnr == KE
    assert to_fhir(message, H_ORG, M_ORG) == sent
    text = xml.decode("utf-8")
    assert "Melding om behov for individuell plan og koordinator" in text
    if parts:
        assert "Tjeneste som er involvert" in text and "Hjemmesykepleie – Kárášjohka" in text


def test_the_answer_round_trips() -> None:
    answered = {
        **_task(
            "7a0f3c55-1d9e-4b0e-8c7e-0e5f3b1a2c03",
            H,
            M,
            Seen(_patient(), (), ()),
            None,
            "2026-11-30T13:05:00Z",
        ),
        "status": "accepted",
        "lastModified": "2026-12-01T09:00:00Z",
        "output": [{"type": code("coordinator"), "valueString": "Áslat Nilsen, tlf 77 79 00 00"}],
    }
    answer = _answer(answered, H, M)
    sent = message_bundle(
        message_id="5c7e9a1b-2d3f-4a5b-8c9d-0e1f2a3b4c05",
        event=NOTIFICATION_RESPONSE,
        source=M,
        destination=H,
        timestamp="2026-12-01T09:00:00Z",
        resources=[answer],
    )
    message = _valid(write(from_fhir(sent, HER_IDS)))
    assert isinstance(message, Message)
    assert to_fhir(message, M_ORG, H_ORG) == sent


def test_a_hospital_notice_is_the_notification() -> None:
    bundle = to_fhir(read_message((FIXTURES / "dialog-1.1-behov-for-ip.xml").read_bytes()))
    header, task, patient = (e["resource"] for e in bundle["entry"])
    assert header["eventCoding"]["code"] == "ip-notification"
    assert header["id"] == "6f1c2a9e-4b7d-4c1e-9a55-0c0ffee00001"
    assert header["source"]["endpoint"] == "urn:ipfhir:her:9990001:9990002"
    assert header["sender"]["identifier"]["value"] == "974471612"
    assert task["owner"]["identifier"]["value"] == "932534908"
    assert (task["status"], task["intent"]) == ("requested", "proposal")
    assert "Mun háliidan ovttasbargat" in task["reasonCode"]["text"]
    assert [i["valueString"] for i in task["input"]] == ["Åse Kjærstin Østgård, phone: +4778000000"]
    assert patient["identifier"] == [{"system": FNR_SYSTEM, "value": "12835708843"}]
    assert task["for"] == {"reference": f"urn:uuid:{patient['id']}"}
    assert "Ánde Niillas" not in json.dumps(bundle, ensure_ascii=False)  # a relative: no place


@pytest.mark.parametrize(
    ("name", "status", "code_", "errors"),
    [
        ("apprec-1.1-ok.xml", "1", "ok", []),
        ("apprec-1.1-avvist.xml", "2", "fatal-error", ["E35", "X99"]),
        ("apprec-1.0-ok-med-feil.xml", "3", "ok", ["X99"]),
    ],
)
def test_apprec_acknowledgement_apprec_keeps_status_and_codes(
    name: str, status: str, code_: str, errors: list[str]
) -> None:
    receipt = read_message((FIXTURES / name).read_bytes())
    assert isinstance(receipt, AppRec)
    ack = to_fhir(receipt)
    response = ack["entry"][0]["resource"]["response"]
    assert response["identifier"] == receipt.original.id and response["code"] == code_
    issues = [i for e in ack["entry"][1:] for i in e["resource"]["issue"]]
    assert [i["details"]["coding"][0]["code"] for i in issues] == errors
    again = _valid(write(from_fhir(ack)))
    assert isinstance(again, AppRec)
    assert (again.status.v, [e.v for e in again.errors]) == (status, errors)
    assert [e.ot for e in again.errors] == [e.ot for e in receipt.errors]
    assert again.id == receipt.id
    assert (again.original.id, again.original.msg_type) == (
        receipt.original.id,
        receipt.original.msg_type,
    )
    # a time without a zone is read as Norwegian local time and written with its offset
    assert again.original.issue_date.replace(tzinfo=None) == receipt.original.issue_date.replace(
        tzinfo=None
    )


def test_a_project_error_becomes_x99_with_its_message_id() -> None:
    answer = {
        "resourceType": "Bundle",
        "id": "a1",
        "type": "message",
        "timestamp": "2026-12-01T10:00:00Z",
        "entry": [
            {
                "resource": {
                    "resourceType": "MessageHeader",
                    "id": "a1",
                    "source": {"name": "Romsa suohkan", "endpoint": "urn:ipfhir:her:9990201"},
                    "response": {
                        "identifier": "m1",
                        "code": "fatal-error",
                        "details": {"reference": "urn:uuid:o1"},
                    },
                }
            },
            {
                "fullUrl": "urn:uuid:o1",
                "resource": {
                    "resourceType": "OperationOutcome",
                    "issue": [
                        {"severity": "error", "code": "invalid", "diagnostics": "IP-6075: Task"}
                    ],
                },
            },
        ],
    }
    receipt = _valid(write(from_fhir(answer)))
    assert isinstance(receipt, AppRec) and receipt.outcome == "rejected"
    assert [(e.v, e.ot) for e in receipt.errors] == [("X99", "IP-6075: Task")]


def _broken(mutate: str) -> Any:
    bundle = _notification("Grunn")
    header, task, patient = (e["resource"] for e in bundle["entry"])
    if mutate == "type":
        bundle["type"] = "collection"
    elif mutate == "event":
        header["eventCoding"] = {"system": "urn:x", "code": "ip-transfer"}
    elif mutate == "time":
        bundle["timestamp"] = "2026-11-30T13:05:00"
    elif mutate == "party":
        header["sender"] = {"display": "Ukjent"}
        header["source"]["endpoint"] = "http://127.0.0.1:1"
    elif mutate == "patient":
        patient["identifier"] = [{"system": "urn:x", "value": "1"}]
    return bundle


@pytest.mark.parametrize(
    ("mutate", "message_id"),
    [
        ("type", "IP-6140"),
        ("event", "IP-6141"),
        ("time", "IP-6142"),
        ("party", "IP-6143"),
        ("patient", "IP-6144"),
    ],
)
def test_a_bundle_without_a_dialogmelding_form_is_refused(mutate: str, message_id: str) -> None:
    with pytest.raises(IpError) as refused:
        write(from_fhir(_broken(mutate)))
    assert [i.message_id for i in refused.value.issues] == [message_id]


def test_an_answer_text_it_cannot_read_is_refused() -> None:
    xml = write(from_fhir(_notification("x"), HER_IDS)).decode("utf-8")
    xml = xml.replace(
        "Melding om behov for individuell plan og koordinator",
        "Svar på melding om behov for individuell plan og koordinator",
        1,
    )
    with pytest.raises(IpError) as refused:
        to_fhir(read_message(xml.encode("utf-8")))
    assert [i.message_id for i in refused.value.issues] == ["IP-6145"]


def test_apprec_needs_a_response() -> None:
    with pytest.raises(IpError) as refused:
        apprec_from_bundle(_notification("x"))
    assert [i.message_id for i in refused.value.issues] == ["IP-6146"]


def _paths(value: Any, prefix: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    yield prefix
    items = (
        value.items()
        if isinstance(value, dict)
        else enumerate(value)
        if isinstance(value, list)
        else []
    )
    for key, item in items:
        yield from _paths(item, (*prefix, key))


WRONG = [None, 1, "x", [], {}, [1], {"a": 1}, True, [{}], [None], "2026-01-01"]


@pytest.mark.parametrize("origin", ["notice", "answer", "apprec", "communication"])
def test_any_value_of_the_wrong_type_is_refused_never_a_crash(origin: str) -> None:
    names = {
        "notice": "dialog-1.1-behov-for-ip.xml",
        "apprec": "apprec-1.1-avvist.xml",
        "communication": "dialog-1.1-dnummer-foresporsel.xml",
    }
    if origin == "answer":
        bundle = to_fhir(read_message(write(from_fhir(_notification("x"), HER_IDS))))
    else:
        bundle = to_fhir(read_message((FIXTURES / names[origin]).read_bytes()))
    for path in _paths(bundle):
        for value in WRONG:
            broken: Any = copy.deepcopy(bundle)
            if not path:
                broken = value
            else:
                holder = broken
                for key in path[:-1]:
                    holder = holder[key]
                holder[path[-1]] = value
            with contextlib.suppress(IpError):
                _valid(write(from_fhir(broken)))


def test_a_time_without_a_zone_is_norwegian_local_time() -> None:
    from ipfhir.mappings.legacy.fhir_common import iso, norwegian_offset

    assert iso(dt.datetime(2026, 1, 15, 9, 0)) == "2026-01-15T09:00:00+01:00"
    assert iso(dt.datetime(2026, 7, 15, 9, 0)) == "2026-07-15T09:00:00+02:00"
    assert iso(dt.datetime(2026, 3, 29, 1, 59)).endswith("+01:00")  # the last Sunday of March
    assert iso(dt.datetime(2026, 3, 29, 3, 0)).endswith("+02:00")
    assert iso(dt.datetime(2026, 10, 25, 3, 0)).endswith("+01:00")  # the last Sunday of October
    assert norwegian_offset(dt.datetime(2027, 10, 31, 2, 30)).utcoffset(None) == dt.timedelta(
        hours=2
    )  # the repeated hour is read as summer time
