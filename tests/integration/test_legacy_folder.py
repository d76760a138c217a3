"""Legacy messaging through folders, on a real store (SQLite and PostgreSQL): a hospital's
Dialogmelding notice lands as a Task in the coordinating unit's inbox and an AppRec goes back;
a duplicate gets the very same AppRec and stores nothing more; hostile or unusable XML gets an
AppRec «avvist» with a clear error and stores nothing; the other way, the queued notification —
what the consent lets the receiver see, nothing else — is written as a valid Dialogmelding."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from lxml import etree  # type: ignore[import-untyped]
from sqlalchemy import Engine, select

from ipfhir.adapter.bootstrap import Wiring, build_wiring, secure_factory
from ipfhir.adapter.directory import SqlDirectory, parse_directory
from ipfhir.adapter.directory.build import directory_bundle, organisation_entry
from ipfhir.adapter.ports import SearchQuery
from ipfhir.adapter.services.notify import notify
from ipfhir.adapter.settings import Settings
from ipfhir.adapter.store.outbox import Outbox
from ipfhir.adapter.store.schema import consent_recipients
from ipfhir.adapter.sync.gate import ConsentGate
from ipfhir.adapter.sync.messaging import Party
from ipfhir.adapter.sync.policy import Attempt, RetryPolicy
from ipfhir.adapter.sync.transports import (
    FolderChannel,
    FolderPoller,
    LegacyTransport,
    TransportRouter,
)
from ipfhir.adapter.sync.transports.outgoing import her_ids_of
from ipfhir.adapter.sync.worker import Worker
from ipfhir.mappings.legacy import AppRec, Message, read_message
from ipfhir.mappings.legacy.schemas import message_schema
from tests.api.notify_world import HOSPITAL as H_ORGNR
from tests.api.notify_world import KE as KE_ORGNR
from tests.api.notify_world import PID, hospital_resources
from tests.unit.legacy.conftest import FIXTURES
from tests.unit.legacy.world import HOSPITAL, MUNICIPALITY, inbox, load

BASE = "http://127.0.0.1:18082"
NOTICE = (FIXTURES / "dialog-1.1-behov-for-ip.xml").read_bytes()


def _wiring(engine: Engine, tmp_path: Path) -> Wiring:
    return build_wiring(Settings(data_dir=tmp_path, dev_mode=True), engine=engine)


def _folders(tmp_path: Path) -> tuple[Path, Path, Path]:
    incoming, hospital, unknown = tmp_path / "inn", tmp_path / "sykehus", tmp_path / "ukjent"
    for folder in (incoming, hospital, unknown):
        folder.mkdir()
    return incoming, hospital, unknown


def _municipality(engine: Engine, tmp_path: Path) -> tuple[Wiring, FolderPoller, Path, Path, Path]:
    wiring = _wiring(engine, tmp_path)
    directory = SqlDirectory(engine)
    incoming, hospital, unknown = _folders(tmp_path)
    load(directory, BASE, hospital.as_uri())
    poller = FolderPoller(
        inbox(wiring, directory, BASE),
        incoming.as_uri(),
        {"file": FolderChannel()},
        unknown.as_uri(),
    )
    return wiring, poller, incoming, hospital, unknown


def _valid(data: bytes) -> Message | AppRec:
    assert message_schema().validate(etree.fromstring(data)), message_schema().error_log
    return read_message(data)


def _stored(wiring: Wiring, rtype: str) -> list[dict[str, Any]]:
    return wiring.repository.search(SearchQuery(rtype, count=50)).matches


def _receipts(folder: Path) -> list[AppRec]:
    found = [_valid(p.read_bytes()) for p in sorted(folder.glob("*.xml"))]
    assert all(isinstance(r, AppRec) for r in found)
    return found  # type: ignore[return-value]


def test_a_notice_lands_in_the_ke_inbox_and_an_apprec_goes_back(
    engine: Engine, tmp_path: Path
) -> None:
    wiring, poller, incoming, hospital, unknown = _municipality(engine, tmp_path)
    (incoming / "notice.xml").write_bytes(NOTICE)
    assert poller.run_once() == 1
    [task] = _stored(wiring, "Task")
    assert (task["status"], task["intent"]) == ("requested", "proposal")
    assert task["owner"]["identifier"]["value"] == MUNICIPALITY
    assert task["requester"]["identifier"]["value"] == HOSPITAL
    assert "Mun háliidan ovttasbargat" in task["reasonCode"]["text"]
    [patient] = _stored(wiring, "Patient")
    assert patient["identifier"][0]["value"] == "12835708843"
    [receipt] = _receipts(hospital)
    assert receipt.outcome == "ok" and receipt.errors == ()
    assert receipt.original.id == "6f1c2a9e-4b7d-4c1e-9a55-0c0ffee00001"
    assert not list(incoming.glob("*.xml")) and (incoming / ".done" / "notice.xml").exists()
    assert not list(unknown.iterdir())
    # the same message again (the hospital resends): nothing more stored, the same AppRec
    first = next(hospital.glob("*.xml")).read_bytes()
    (incoming / "notice-again.xml").write_bytes(NOTICE)
    assert poller.run_once() == 1
    assert len(_stored(wiring, "Task")) == 1 and len(_stored(wiring, "Patient")) == 1
    assert [p.read_bytes() for p in hospital.glob("*.xml")] == [first]


def _hostile(tmp_path: Path, name: str) -> bytes:
    if name == "50 MB":
        return NOTICE.replace(b"<MsgHead", b"<!-- " + b"x" * 50_000_000 + b" -->\n<MsgHead", 1)
    return (FIXTURES / "hostile" / name).read_bytes()


@pytest.mark.parametrize(
    ("name", "message_id"),
    [
        ("xxe-file.xml", "IP-6202"),
        ("billion-laughs.xml", "IP-6202"),
        ("50 MB", "IP-6201"),
        ("wrong-namespace.xml", "IP-6210"),
        ("schema-invalid.xml", "IP-6211"),
        ("fnr-checksum.xml", "IP-6220"),
    ],
)
def test_hostile_xml_gets_an_apprec_avvist_and_stores_nothing(
    engine: Engine, tmp_path: Path, name: str, message_id: str
) -> None:
    wiring, poller, incoming, hospital, unknown = _municipality(engine, tmp_path)
    (incoming / "bad.xml").write_bytes(_hostile(tmp_path, name))
    assert poller.run_once() == 1
    [receipt] = _receipts(unknown) + _receipts(hospital)
    assert receipt.outcome == "rejected"
    assert [e.v for e in receipt.errors] == ["X99"]
    assert receipt.errors[0].ot is not None and receipt.errors[0].ot.startswith(f"{message_id}: ")
    assert "root:" not in (receipt.errors[0].ot or "")  # the entity was never expanded
    assert _stored(wiring, "Task") == [] and _stored(wiring, "Patient") == []
    assert (incoming / ".done" / "bad.xml").exists()


def test_a_sender_not_in_the_directory_is_refused(engine: Engine, tmp_path: Path) -> None:
    wiring, poller, incoming, hospital, unknown = _municipality(engine, tmp_path)
    stranger = NOTICE.replace(b"974471612", b"123456785").replace(b"9990001", b"9990999")
    (incoming / "stranger.xml").write_bytes(stranger)
    assert poller.run_once() == 1
    [receipt] = _receipts(unknown)
    assert receipt.outcome == "rejected" and (receipt.errors[0].ot or "").startswith("IP-6155")
    assert receipt.original.id == "6f1c2a9e-4b7d-4c1e-9a55-0c0ffee00001"
    assert _stored(wiring, "Task") == []


def test_a_sender_with_another_her_id_is_refused(engine: Engine, tmp_path: Path) -> None:
    wiring, poller, incoming, _hospital, unknown = _municipality(engine, tmp_path)
    (incoming / "spoof.xml").write_bytes(NOTICE.replace(b"9990001", b"9990777"))
    poller.run_once()
    [receipt] = _receipts(unknown)
    assert (receipt.errors[0].ot or "").startswith("IP-6155")
    assert _stored(wiring, "Task") == []


def test_a_dialog_message_of_another_kind_is_answered_not_stored(
    engine: Engine, tmp_path: Path
) -> None:
    wiring, poller, incoming, hospital, _unknown = _municipality(engine, tmp_path)
    other = NOTICE.replace(
        b"Melding om behov for individuell plan og koordinator", "Spørsmål".encode()
    )
    (incoming / "other.xml").write_bytes(other)
    poller.run_once()
    [receipt] = _receipts(hospital)
    assert receipt.outcome == "rejected" and "IP-6074" in (receipt.errors[0].ot or "")
    assert _stored(wiring, "Task") == []


# --- the other way: a FHIR hospital notifies a legacy municipality --------------------------

SENDER = Party(H_ORGNR, "UNN HF – Sámi klinihkka", "http://127.0.0.1:18081")


def _hospital(engine: Engine, tmp_path: Path, folder: str) -> tuple[Wiring, SqlDirectory]:
    wiring = _wiring(engine, tmp_path)
    for res in hospital_resources():
        wiring.repository.update(res["resourceType"], res["id"], res)
    directory = SqlDirectory(engine)
    resources = organisation_entry(
        KE_ORGNR,
        "Romsa suohkan – koordinerende enhet",
        folder,
        kommunenummer="5501",
        coordinating_unit=True,
        her_id="9990201",
        legacy="kith-folder",
    )
    resources += organisation_entry(
        H_ORGNR,
        SENDER.name,
        SENDER.endpoint,
        jwks_url=f"{SENDER.endpoint}/.well-known/jwks.json",
        her_id="9990101",
    )
    directory.load(parse_directory(directory_bundle(*resources)))
    return wiring, directory


class _NoHttp:
    def post(self, message: Any) -> Attempt:
        raise AssertionError(f"a legacy receiver's message went to HTTP: {message.destination}")


def _worker(wiring: Wiring, directory: SqlDirectory, attempts: int = 8) -> Worker:
    legacy = LegacyTransport({"file": FolderChannel()}, her_ids_of(directory))
    return Worker(
        Outbox(wiring.engine),
        TransportRouter(_NoHttp(), legacy),
        policy=RetryPolicy(max_attempts=attempts, base=0.0, cap=0.0),
        before_send=ConsentGate(secure_factory(wiring), directory),
    )


def test_a_fhir_hospital_notifies_a_legacy_municipality_under_consent(
    engine: Engine, tmp_path: Path
) -> None:
    folder = tmp_path / "romsa"
    folder.mkdir()
    wiring, directory = _hospital(engine, tmp_path, folder.as_uri())
    queued = notify(
        wiring,
        secure_factory(wiring),
        directory,
        sender=SENDER,
        patient_id=PID,
        to_kommune="5501",
        reason="Trenger koordinator før utskriving",
    )
    assert _worker(wiring, directory).run_once() == 1
    [written] = list(folder.glob("*.xml"))
    assert written.name == f"{queued.message_id}.xml" and not list(folder.glob(".*"))
    message = _valid(written.read_bytes())
    assert isinstance(message, Message) and message.msg_id == queued.message_id
    assert message.receiver.organisation.her_id == "9990201"
    assert message.sender.organisation.her_id == "9990101"
    text = written.read_text(encoding="utf-8")
    assert "Tiltak m1: støttekontakt" in text and "Trenger koordinator før utskriving" in text
    assert "rus" not in text  # the refused topic is in no XML written
    [sent] = Outbox(engine).list()
    assert sent.status == "delivered"
    with engine.connect() as conn:  # the same recipients ledger as the FHIR path
        assert KE_ORGNR in {r.organisation for r in conn.execute(select(consent_recipients))}


def test_every_xml_written_leaves_the_refused_topic_out(engine: Engine, tmp_path: Path) -> None:
    folder = tmp_path / "romsa"
    folder.mkdir()
    wiring, directory = _hospital(engine, tmp_path, folder.as_uri())
    for reason in ("Første melding", "Andre melding", None):
        notify(
            wiring,
            secure_factory(wiring),
            directory,
            sender=SENDER,
            patient_id=PID,
            to_kommune="5501",
            reason=reason,
        )
    worker = _worker(wiring, directory)
    while worker.run_once():  # one message per person at a time (the outbox's order)
        pass
    written = [p.read_text(encoding="utf-8") for p in folder.glob("*.xml")]
    assert len(written) == 3
    for text in written:
        assert "rus" not in text.casefold()


def test_a_folder_that_is_gone_is_retried_then_dead_lettered(
    engine: Engine, tmp_path: Path
) -> None:
    wiring, directory = _hospital(engine, tmp_path, (tmp_path / "finnes-ikke").as_uri())
    notify(
        wiring, secure_factory(wiring), directory, sender=SENDER, patient_id=PID, to_org=KE_ORGNR
    )
    worker = _worker(wiring, directory, attempts=2)
    worker.clock = lambda: 0.0
    assert worker.run_once() == 1
    assert [m.status for m in Outbox(engine).list()] == ["queued"]
    worker.run_once()
    [dead] = Outbox(engine).list()
    assert dead.status == "dead" and "gave up after 2 attempts" in (dead.last_error or "")
    assert "FileNotFoundError" in (dead.last_error or "")


def test_routing_picks_the_transport_per_endpoint(tmp_path: Path) -> None:
    class Http:
        def __init__(self) -> None:
            self.sent: list[str] = []

        def post(self, message: Any) -> Attempt:
            self.sent.append(message.destination)
            return Attempt(200, "{}")

    http = Http()
    router = TransportRouter(http, LegacyTransport({"file": FolderChannel()}, dict))
    fake = type("M", (), {"destination": "https://kommune.example/fhir/$process-message"})
    assert router.post(fake()).status == 200 and http.sent == [fake.destination]  # type: ignore[arg-type]
    odd = type(
        "M", (), {"destination": "ftp://x/$process-message", "message_id": "m1", "payload": {}}
    )
    attempt = router.post(odd())  # type: ignore[arg-type]
    assert '"fatal-error"' in attempt.body and "IP-6158" in attempt.body


def test_a_message_to_an_organisation_not_in_the_directory_is_refused(
    engine: Engine, tmp_path: Path
) -> None:
    wiring, poller, incoming, hospital, _unknown = _municipality(engine, tmp_path)
    elsewhere = NOTICE.replace(b"932534908", b"123456785").replace(b"9990010", b"9990888")
    (incoming / "elsewhere.xml").write_bytes(elsewhere.replace(b"9990011", b"9990889"))
    poller.run_once()
    [receipt] = _receipts(hospital)
    assert receipt.outcome == "rejected" and (receipt.errors[0].ot or "").startswith("IP-6156")
    assert _stored(wiring, "Task") == []


class _Away:
    """An inbox whose database is away."""

    max_bytes = 1_000_000

    def handle(self, data: bytes) -> None:
        from sqlalchemy.exc import OperationalError

        raise OperationalError("SELECT 1", {}, Exception("database is locked"))


def test_a_message_we_cannot_handle_now_stays_then_is_set_aside(tmp_path: Path) -> None:
    incoming, _hospital, _unknown = _folders(tmp_path)
    (incoming / "notice.xml").write_bytes(NOTICE)
    poller = FolderPoller(_Away(), incoming.as_uri(), {"file": FolderChannel()}, max_attempts=3)  # type: ignore[arg-type]
    assert poller.run_once() == 0 and poller.run_once() == 0
    assert (incoming / "notice.xml").exists()  # kept for the next attempt
    assert poller.run_once() == 1
    assert not (incoming / "notice.xml").exists()
    assert (incoming / ".dead" / "notice.xml").read_bytes() == NOTICE  # visible, not dropped


def test_half_written_and_hidden_files_are_not_taken(engine: Engine, tmp_path: Path) -> None:
    wiring, poller, incoming, hospital, _unknown = _municipality(engine, tmp_path)
    (incoming / ".notice.xml.tmp").write_bytes(NOTICE[:100])
    (incoming / ".hidden.xml").write_bytes(NOTICE)
    assert poller.run_once() == 0
    assert _stored(wiring, "Task") == [] and not list(hospital.iterdir())
