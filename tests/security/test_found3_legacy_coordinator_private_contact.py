"""The coordinator's contact in a notification (Task.input «Midlertidig koordinator
(kontaktperson)», written into a Dialogmelding Notat for a legacy receiver) is made of the
telecom of the coordinator's PractitionerRole *and* of the Practitioner
(adapter/sync/content.py ``_contact``), whatever its ``use``. Since issue #16 the work contact
lives on the PractitionerRole (and its contained Location); what a Practitioner carries with
``use: home`` is the person's private phone and address (FHIR ContactPoint/Address ``home``)."""

from __future__ import annotations

from pathlib import Path

from ipfhir.adapter.bootstrap import secure_factory
from ipfhir.adapter.directory import SqlDirectory, parse_directory
from ipfhir.adapter.directory.build import directory_bundle, organisation_entry
from ipfhir.adapter.services.notify import notify
from ipfhir.adapter.store.outbox import Outbox
from ipfhir.adapter.sync.gate import ConsentGate
from ipfhir.adapter.sync.messaging import Party
from ipfhir.adapter.sync.policy import RetryPolicy
from ipfhir.adapter.sync.transports import FolderChannel, LegacyTransport, TransportRouter
from ipfhir.adapter.sync.transports.outgoing import her_ids_of
from ipfhir.adapter.sync.worker import Worker
from tests.security.conftest import ACTORS, SecureWorld

BASE = "http://127.0.0.1:18083"
PRIVATE_PHONE = "+47 999 11 222"
WORK_PHONE = "+47 67 50 00 00"


class _NoHttp:
    def post(self, message: object) -> object:
        raise AssertionError("a legacy receiver's message went to HTTP")


def test_the_dialogmelding_carries_the_coordinators_work_contact_not_the_private_one(
    world: SecureWorld, tmp_path: Path
) -> None:
    """Attacker: the recipient (Vestre Viken HF, a consent recipient) — or anyone the owner
    notifies — receives the notice of need for an individual plan as a Dialogmelding in its
    folder. Learns: the coordinator Åse Sørli's private phone (Practitioner.telecom, use
    home), written beside her work phone into the Notat «Midlertidig koordinator
    (kontaktperson)». Correct answer: the contact carries the work contact (PractitionerRole
    telecom / its Location) and nothing marked ``home``."""
    repo = world.wiring.repository
    practitioner = repo.read("Practitioner", "ip1-koord")
    practitioner["telecom"] = [{"system": "phone", "value": PRIVATE_PHONE, "use": "home"}]
    repo.update("Practitioner", "ip1-koord", practitioner)
    role = repo.read("PractitionerRole", "ip1-koord-role")
    role["telecom"] = [{"system": "phone", "value": WORK_PHONE, "use": "work"}]
    repo.update("PractitionerRole", "ip1-koord-role", role)

    folder = tmp_path / "vestre-viken"
    folder.mkdir()
    kommune, sykehus = ACTORS["owner"][0], ACTORS["recipient"][0]
    directory = SqlDirectory(world.wiring.engine)
    entries = organisation_entry(
        kommune, "Bærum kommune", BASE, jwks_url=f"{BASE}/.well-known/jwks.json", her_id="9990301"
    )
    entries += organisation_entry(
        sykehus, "Vestre Viken HF", folder.as_uri(), her_id="9990302", legacy="kith-folder"
    )
    directory.load(parse_directory(directory_bundle(*entries)))
    factory = secure_factory(world.wiring)
    notify(
        world.wiring,
        factory,
        directory,
        sender=Party(kommune, "Bærum kommune", BASE),
        patient_id="ip1-pt",
        to_org=sykehus,
    )
    worker = Worker(
        Outbox(world.wiring.engine),
        TransportRouter(
            _NoHttp(), LegacyTransport({"file": FolderChannel()}, her_ids_of(directory))
        ),  # type: ignore[arg-type]
        policy=RetryPolicy(max_attempts=2, base=0.0, cap=0.0),
        before_send=ConsentGate(factory, directory),
    )
    assert worker.run_once() == 1
    [written] = list(folder.glob("*.xml"))
    text = written.read_text(encoding="utf-8")
    assert "Åse Sørli" in text and WORK_PHONE in text  # the contact is there
    assert PRIVATE_PHONE not in text
