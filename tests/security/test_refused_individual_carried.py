"""A refused individual reaches nothing at the receiver either: the person refused one hospital
doctor outright (a named deny, by HPR number). The hospital's notification to the
municipality's coordinating unit names that refusal (extension ``ip-refused-individual``, the
HPR number only), and the receiver — which has no copy of the person's Consent — keeps to it:
the doctor, even holding a token of the coordinating unit itself, does not see the notification
in the inbox, nor learns one is waiting; the unit's own token does. A practitioner refused after
the notification was queued stops it before it leaves (IP-6056): the message would not say so."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from ipfhir.adapter.auth.devkey import mint_token
from ipfhir.adapter.bootstrap import Wiring, build_wiring, secure_factory
from ipfhir.adapter.consent.policy import OWNER_ROLE
from ipfhir.adapter.directory import SqlDirectory
from ipfhir.adapter.services.notify import notify
from ipfhir.adapter.settings import Settings
from ipfhir.adapter.store import make_engine
from ipfhir.adapter.store.outbox import Outbox
from ipfhir.adapter.sync.gate import ConsentGate
from ipfhir.adapter.sync.messaging import Party
from ipfhir.adapter.sync.refusals import REFUSED_INDIVIDUAL
from ipfhir.adapter.sync.worker import Worker
from ipfhir.mappings.identifiers import HPR_SYSTEM
from tests.api.notify_world import HOSPITAL, KE, PID, hospital_resources, load_directory
from tests.api.test_notify_sender import _Recording
from tests.api.test_process_message import BASE, H_BASE, Receiving
from tests.api.test_process_message import ke as ke  # noqa: F401  (the fixture)
from tests.unit.consent.conftest import HPR

SENDER = Party(HOSPITAL, "UNN HF – Sámi klinihkka", H_BASE)


@pytest.fixture
def hospital(tmp_path: Path) -> Iterator[Wiring]:
    engine = make_engine(f"sqlite:///{tmp_path / 'sykehus.sqlite3'}")
    wiring = build_wiring(Settings(data_dir=tmp_path / "h", dev_mode=True), engine=engine)
    for res in hospital_resources():
        wiring.repository.update(res["resourceType"], res["id"], res)
    load_directory(SqlDirectory(engine), {KE: BASE})
    yield wiring
    engine.dispose()


def _queued(wiring: Wiring) -> dict[str, Any]:
    directory = SqlDirectory(wiring.engine)
    notify(wiring, secure_factory(wiring), directory, sender=SENDER, patient_id=PID, to_org=KE)
    [message] = Outbox(wiring.engine).list()
    return message.payload


def _inbox(ke: Receiving, hpr: str | None) -> Any:  # noqa: F811
    token = mint_token(ke.data, KE, hpr=hpr, scopes=("system/*.rs",), roles=(OWNER_ROLE,))
    return ke.client.get("/Task?status=requested", headers={"Authorization": f"Bearer {token}"})


def _count(answer: Any) -> int:
    return len(answer.json().get("entry", []))


def test_the_receiver_keeps_to_a_refusal_it_was_told_of(
    hospital: Wiring,
    ke: Receiving,  # noqa: F811
) -> None:
    payload = _queued(hospital)
    [task] = [e["resource"] for e in payload["entry"] if e["resource"]["resourceType"] == "Task"]
    assert task["extension"] == [
        {"url": REFUSED_INDIVIDUAL, "valueIdentifier": {"system": HPR_SYSTEM, "value": HPR["lege"]}}
    ]
    answer = ke.post(payload)
    assert answer.status_code == 200 and '"ok"' in answer.text, answer.text
    unit = _inbox(ke, None)
    assert unit.status_code == 200 and _count(unit) == 1  # the addressee has it
    assert _count(_inbox(ke, HPR["koord"])) == 1  # a colleague at the unit too
    refused = _inbox(ke, HPR["lege"])
    assert refused.status_code == 200 and _count(refused) == 0
    assert "Behov for individuell plan" not in refused.text
    [stored] = ke.tasks()
    token = mint_token(ke.data, KE, hpr=HPR["lege"], scopes=("system/*.rs",), roles=(OWNER_ROLE,))
    bearer = {"Authorization": f"Bearer {token}"}
    direct = ke.client.get(f"/Task/{stored['id']}", headers=bearer)
    missing = ke.client.get(f"/Task/{uuid.uuid4()}", headers=bearer)
    assert direct.status_code == missing.status_code == 404


def test_a_practitioner_refused_after_queuing_stops_the_message(hospital: Wiring) -> None:
    payload = _queued(hospital)
    consent = hospital.repository.read("Consent", "ip1-sharing")
    for provision in consent["provision"]["provision"]:
        if (
            provision["type"] == "deny"
            and "actor" in provision
            and "Practitioner" in str(provision["actor"])
        ):
            provision["actor"].append(
                {**provision["actor"][0], "reference": {"reference": "Practitioner/ip1-fysio"}}
            )
    hospital.repository.update("Consent", "ip1-sharing", consent)
    transport = _Recording()
    gate = ConsentGate(secure_factory(hospital))
    Worker(Outbox(hospital.engine), transport, before_send=gate).run_once()
    assert transport.sent == []
    [dead] = Outbox(hospital.engine).list("dead")
    assert dead.payload == payload and (dead.last_error or "").startswith("IP-6056")
