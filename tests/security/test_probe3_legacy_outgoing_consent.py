"""Probes of what a Dialogmelding written for a legacy receiver may carry (issue #13: consent
applies exactly as on the FHIR path), played in the security world: the owner notifies Vestre
Viken HF (a consent recipient, here a legacy partner with a folder). Holds today: the XML carries
no refused topic, neither the refused mother nor the refused doctor; a consent withdrawn or
narrowed between queuing and sending stops the message (dead, IP-6056) and nothing is written;
a refused organisation gets nothing queued (IP-6051)."""

from __future__ import annotations

from pathlib import Path

import pytest

from ipfhir.adapter.bootstrap import secure_factory
from ipfhir.adapter.directory import SqlDirectory, parse_directory
from ipfhir.adapter.directory.build import directory_bundle, organisation_entry
from ipfhir.adapter.services.notify import notify
from ipfhir.adapter.store.outbox import Outbox
from ipfhir.adapter.sync.gate import ConsentGate
from ipfhir.adapter.sync.messages import NotifyRefused
from ipfhir.adapter.sync.messaging import Party
from ipfhir.adapter.sync.policy import RetryPolicy
from ipfhir.adapter.sync.transports import FolderChannel, LegacyTransport, TransportRouter
from ipfhir.adapter.sync.transports.outgoing import her_ids_of
from ipfhir.adapter.sync.worker import Worker
from tests.security.conftest import ACTORS, SecureWorld

BASE = "http://127.0.0.1:18084"
KOMMUNE, SYKEHUS, NAV = ACTORS["owner"][0], ACTORS["recipient"][0], ACTORS["refused_org"][0]
SENDER = Party(KOMMUNE, "Bærum kommune", BASE)


class _NoHttp:
    def post(self, message: object) -> object:
        raise AssertionError("a legacy receiver's message went to HTTP")


def _setup(world: SecureWorld, tmp_path: Path) -> tuple[SqlDirectory, Path, Worker]:
    folder = tmp_path / "legacy"
    folder.mkdir()
    directory = SqlDirectory(world.wiring.engine)
    entries = organisation_entry(
        KOMMUNE, "Bærum kommune", BASE, jwks_url=f"{BASE}/.well-known/jwks.json", her_id="9990301"
    )
    for orgnr, name, her in (
        (SYKEHUS, "Vestre Viken HF", "9990302"),
        (NAV, "NAV Bærum", "9990303"),
    ):
        entries += organisation_entry(
            orgnr, name, folder.as_uri(), her_id=her, legacy="kith-folder"
        )
    directory.load(parse_directory(directory_bundle(*entries)))
    legacy = LegacyTransport({"file": FolderChannel()}, her_ids_of(directory))
    worker = Worker(
        Outbox(world.wiring.engine),
        TransportRouter(_NoHttp(), legacy),  # type: ignore[arg-type]
        policy=RetryPolicy(max_attempts=2, base=0.0, cap=0.0),
        before_send=ConsentGate(secure_factory(world.wiring), directory),
    )
    return directory, folder, worker


def _notify(world: SecureWorld, directory: SqlDirectory, to: str) -> None:
    notify(
        world.wiring,
        secure_factory(world.wiring),
        directory,
        sender=SENDER,
        patient_id="ip1-pt",
        to_org=to,
        reason="Trenger koordinator",
    )


def test_the_written_xml_carries_nothing_the_consent_withholds(
    world: SecureWorld, tmp_path: Path
) -> None:
    directory, folder, worker = _setup(world, tmp_path)
    _notify(world, directory, SYKEHUS)
    assert worker.run_once() == 1
    [written] = list(folder.glob("*.xml"))
    text = written.read_text(encoding="utf-8")
    assert "Tiltak m1: støttekontakt" in text and "Åse Sørli" in text
    assert "Tiltak m2" not in text  # the measure on the refused topic «rus»
    assert "Ingrid Bjørnstad" not in text  # the refused mother
    assert "Øystein Lærum" not in text  # the refused doctor


@pytest.mark.parametrize("change", ["withdrawn", "recipient-refused"])
def test_a_consent_changed_after_queuing_stops_the_dialogmelding(
    world: SecureWorld, tmp_path: Path, change: str
) -> None:
    directory, folder, worker = _setup(world, tmp_path)
    _notify(world, directory, SYKEHUS)
    repo = world.wiring.repository
    consent = repo.read("Consent", "ip1-sharing")
    consent.pop("meta", None)
    if change == "withdrawn":
        consent["status"] = "inactive"
    else:
        role = {"system": "http://terminology.hl7.org/CodeSystem/v3-ParticipationType"}
        actor = {"role": {"coding": [{**role, "code": "IRCP"}]}}
        actor["reference"] = {"reference": "Organization/ip1-sykehus"}
        deny = {"type": "deny", "actor": [actor]}
        consent["provision"]["provision"].append(deny)
    repo.update("Consent", "ip1-sharing", consent)
    worker.run_once()
    [message] = Outbox(world.wiring.engine).list()
    assert message.status == "dead" and "IP-6056" in (message.last_error or "")
    assert list(folder.iterdir()) == []


def test_a_refused_organisation_gets_nothing_queued(world: SecureWorld, tmp_path: Path) -> None:
    directory, folder, _worker = _setup(world, tmp_path)
    with pytest.raises(NotifyRefused) as refused:
        _notify(world, directory, NAV)
    assert refused.value.issues[0].message_id == "IP-6051"
    assert Outbox(world.wiring.engine).list() == [] and list(folder.iterdir()) == []
