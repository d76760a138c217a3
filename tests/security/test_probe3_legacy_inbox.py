"""Probes of the legacy inbox (issue #13) that hold today: what a received Dialogmelding notice
cannot do to the store — take an existing Task's id, change an existing Patient, carry a
relative into the Task — and a symlink in the incoming folder is not read."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import Engine

from ipfhir.adapter.bootstrap import build_wiring
from ipfhir.adapter.directory import SqlDirectory
from ipfhir.adapter.ports import SearchQuery
from ipfhir.adapter.settings import Settings
from ipfhir.adapter.sync.transports import FolderChannel, FolderPoller, LegacyInbox
from ipfhir.mappings.identifiers import FNR_SYSTEM
from tests.unit.legacy.conftest import FIXTURES
from tests.unit.legacy.world import MUNICIPALITY, inbox, load

BASE = "http://127.0.0.1:18082"
NOTICE = (FIXTURES / "dialog-1.1-behov-for-ip.xml").read_bytes()
FNR = "12835708843"


def _inbox(engine: Engine, tmp_path: Path) -> tuple[Any, LegacyInbox]:
    wiring = build_wiring(Settings(data_dir=tmp_path, dev_mode=True), engine=engine)
    directory = SqlDirectory(engine)
    hospital = tmp_path / "sykehus"
    hospital.mkdir(exist_ok=True)
    load(directory, BASE, hospital.as_uri())
    return wiring, inbox(wiring, directory, BASE)


def _tasks(wiring: Any) -> list[dict[str, Any]]:
    return wiring.repository.search(SearchQuery("Task", count=50)).matches


def test_a_notice_naming_an_existing_task_id_does_not_overwrite_it(
    engine: Engine, tmp_path: Path
) -> None:
    """Attacker: a legacy partner sends a notice whose RefDoc Id is a urn:uuid and whose
    DokIdNotat is the id of a Task already in the store (the mapping takes the Task's id from
    DokIdNotat). Holds: the received Task is stored at a new id; the existing Task keeps its
    content and version."""
    wiring, box = _inbox(engine, tmp_path)
    existing = {
        "resourceType": "Task",
        "id": "t-eksisterende",
        "status": "in-progress",
        "intent": "order",
        "description": "Oppfølging hos fastlegen",
    }
    wiring.repository.update("Task", existing["id"], existing)
    before = wiring.repository.read("Task", existing["id"])
    forged = NOTICE.replace(
        b'<MsgType V="XML" DN="XML-instans"/>',
        b'<MsgType V="XML" DN="XML-instans"/>'
        b"<Id>urn:uuid:2f0c6a1e-0000-4000-8000-00000000aa01</Id>",
    ).replace(b"NOTAT-2026-11-30-0001", b"t-eksisterende")
    reply = box.handle(forged)
    assert reply is not None and reply.outcome == "ok"
    assert wiring.repository.read("Task", existing["id"]) == before
    received = [t for t in _tasks(wiring) if t["id"] != existing["id"]]
    assert len(received) == 1 and received[0]["status"] == "requested"


def test_a_notice_does_not_change_the_stored_patient(engine: Engine, tmp_path: Path) -> None:
    """Attacker: a legacy partner sends a notice for a person the store holds, with another
    name, address and a new phone. Holds: the Task is filed under the stored Patient, which is
    left exactly as it was."""
    wiring, box = _inbox(engine, tmp_path)
    patient = {
        "resourceType": "Patient",
        "id": "p-biret",
        "identifier": [{"system": FNR_SYSTEM, "value": FNR}],
        "name": [{"family": "Sara", "given": ["Biret", "Máret"]}],
        "address": [{"line": ["Čuoikkaluohkká 7"], "postalCode": "9730", "city": "Kárášjohka"}],
    }
    wiring.repository.update("Patient", "p-biret", patient)
    before = wiring.repository.read("Patient", "p-biret")
    forged = NOTICE.replace(
        b"<FamilyName>Sara</FamilyName>", "<FamilyName>Ødegård</FamilyName>".encode(), 1
    )
    forged = forged.replace("Čuoikkaluohkká 7".encode(), b"Storgata 1")
    reply = box.handle(forged)
    assert reply is not None and reply.outcome == "ok"
    assert wiring.repository.read("Patient", "p-biret") == before
    [task] = _tasks(wiring)
    assert task["for"] == {"reference": "Patient/p-biret"}
    assert task["owner"]["identifier"]["value"] == MUNICIPALITY


def test_a_relative_in_the_notice_is_not_carried_into_the_task(
    engine: Engine, tmp_path: Path
) -> None:
    """Attacker: a notice names a relative (RollerRelatertNotat «Pårørende»: Ánde Niillas Sara,
    his phone). Holds: neither reaches the Task in the coordinating unit's inbox; the health
    professional's contact does."""
    wiring, box = _inbox(engine, tmp_path)
    box.handle(NOTICE)
    [task] = _tasks(wiring)
    text = str(task)
    assert "Ánde Niillas" not in text and "90000000" not in text
    assert "Østgård" in text


def test_a_symlinked_message_file_is_not_read(engine: Engine, tmp_path: Path) -> None:
    """Attacker: whoever writes into the incoming folder places ``x.xml`` as a symlink to a
    file elsewhere (a message in another partner's folder). Holds: it is not taken, no AppRec
    goes anywhere, nothing is stored, the link stays."""
    wiring, box = _inbox(engine, tmp_path)
    incoming, elsewhere = tmp_path / "inn", tmp_path / "annen-partner"
    incoming.mkdir()
    elsewhere.mkdir()
    (elsewhere / "melding.xml").write_bytes(NOTICE)
    (incoming / "x.xml").symlink_to(elsewhere / "melding.xml")
    poller = FolderPoller(box, incoming.as_uri(), {"file": FolderChannel()})
    assert poller.run_once() == 0
    assert _tasks(wiring) == [] and not list((tmp_path / "sykehus").iterdir())
    assert (incoming / "x.xml").is_symlink()
