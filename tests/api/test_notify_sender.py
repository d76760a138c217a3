"""``notify`` on the sender: what the message carries is what the person's consent lets the
receiving organisation see, decided by the server's own enforcement (and recorded in its
recipients ledger); the sender's Task and the message are written together or not at all."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, select

from ipfhir.adapter.bootstrap import Wiring, build_wiring, secure_factory
from ipfhir.adapter.directory import NoRoute, SqlDirectory
from ipfhir.adapter.services.notify import notify
from ipfhir.adapter.settings import Settings
from ipfhir.adapter.store.outbox import Outbox
from ipfhir.adapter.store.schema import consent_recipients
from ipfhir.adapter.sync.messages import NotifyRefused
from ipfhir.adapter.sync.messaging import Party
from ipfhir.mappings.codes import ext_url
from tests.api.notify_world import HOSPITAL, KE, ORGNR, PID, hospital_resources, load_directory

SENDER = Party(HOSPITAL, "UNN HF – Sámi klinihkka", "http://127.0.0.1:18081")
BASES = {
    KE: "http://127.0.0.1:18082",
    ORGNR["nav"]: "http://127.0.0.1:18083",
    ORGNR["skole"]: "http://127.0.0.1:18084",
}


def _hospital(engine: Engine, tmp_path: Path, **sharing: Any) -> tuple[Wiring, SqlDirectory]:
    wiring = build_wiring(Settings(data_dir=tmp_path, dev_mode=True), engine=engine)
    for res in hospital_resources(**sharing):
        wiring.repository.update(res["resourceType"], res["id"], res)
    directory = SqlDirectory(engine)
    load_directory(directory, BASES)
    return wiring, directory


def _notify(wiring: Wiring, directory: SqlDirectory, **kw: Any) -> Any:
    return notify(wiring, secure_factory(wiring), directory, sender=SENDER, patient_id=PID, **kw)


def _audited(wiring: Wiring, version: str) -> list[str]:
    """The organisations of the AuditEvents naming ``version`` among their entities."""
    from ipfhir.adapter.ports import SearchQuery

    events = wiring.repository.search(SearchQuery("AuditEvent", count=200)).matches
    return [
        e["agent"][0]["who"]["identifier"]["value"]
        for e in events
        if any(x["what"].get("reference") == version for x in e["entity"])
    ]


def _tasks(wiring: Wiring) -> list[dict[str, Any]]:
    from ipfhir.adapter.ports import SearchQuery

    return wiring.repository.search(SearchQuery("Task", count=50)).matches


def test_notification_carries_what_the_consent_gives_the_receiver(
    engine: Engine, tmp_path: Path
) -> None:
    wiring, directory = _hospital(engine, tmp_path)
    queued = _notify(
        wiring, directory, to_kommune="5501", reason="Trenger koordinator før utskriving"
    )
    assert queued.receiver == KE and queued.destination == BASES[KE] + "/$process-message"
    [message] = Outbox(engine).list()
    assert message.message_id == queued.message_id and message.person == f"Patient/{PID}"
    bundle = message.payload
    header, task, patient = (e["resource"] for e in bundle["entry"])
    assert bundle["type"] == "message" and header["id"] == queued.message_id
    assert header["eventCoding"]["code"] == "ip-notification"
    assert header["source"]["endpoint"] == SENDER.endpoint
    assert header["destination"][0]["endpoint"] == BASES[KE] + "/$process-message"
    assert header["focus"] == [{"reference": bundle["entry"][1]["fullUrl"]}]
    assert (task["status"], task["intent"]) == ("requested", "proposal")
    assert task["owner"]["identifier"]["value"] == KE
    assert task["for"] == {"reference": f"urn:uuid:{patient['id']}"} and patient["id"] != PID
    services = [
        i["valueString"]
        for i in task["input"]
        if i["type"]["coding"][0]["code"] == "service-involved"
    ]
    assert services == ["Tiltak m1: støttekontakt", "Tiltak m3: støttekontakt"]  # m2 is «rus»
    contacts = [
        i["valueString"]
        for i in task["input"]
        if i["type"]["coding"][0]["code"] == "temporary-coordinator"
    ]
    assert contacts and contacts[0].startswith("Åse Sørli")
    assert "rus" not in json.dumps(bundle, ensure_ascii=False)
    # the sender's own Task, written with the message
    [mine] = _tasks(wiring)
    assert mine["id"] == queued.task_id and mine["for"] == {"reference": f"Patient/{PID}"}
    assert _audited(wiring, f"Task/{queued.task_id}/_history/1") == [HOSPITAL]
    # the disclosure is in the recipients ledger, as for a read over HTTP
    with engine.connect() as conn:
        orgs = {r.organisation for r in conn.execute(select(consent_recipients))}
    assert KE in orgs


@pytest.mark.parametrize(
    ("case", "sharing", "target"),
    [
        ("refused environment", {}, {"to_org": ORGNR["nav"]}),
        ("an individual's consent is not their organisation's", {}, {"to_org": ORGNR["skole"]}),
        ("expired consent", {"end": "2026-01-31"}, {"to_kommune": "5501"}),
        (
            "revoked consent",
            {"status": "inactive", "revoked_on": "2026-02-01"},
            {"to_kommune": "5501"},
        ),
    ],
)
def test_what_the_consent_refuses_reaches_nobody(
    engine: Engine, tmp_path: Path, case: str, sharing: dict[str, Any], target: dict[str, str]
) -> None:
    wiring, directory = _hospital(engine, tmp_path, **sharing)
    with pytest.raises(NotifyRefused) as refused:
        _notify(wiring, directory, **target)
    assert [i.message_id for i in refused.value.issues] == ["IP-6051"], case
    assert Outbox(engine).list() == [] and _tasks(wiring) == []


def test_no_route_queues_nothing(engine: Engine, tmp_path: Path) -> None:
    wiring, directory = _hospital(engine, tmp_path)
    with pytest.raises(NoRoute) as none:
        _notify(wiring, directory, to_kommune="1103")
    assert [i.message_id for i in none.value.issues] == ["IP-6001"]
    with pytest.raises(NotifyRefused) as missing:
        notify(
            wiring, secure_factory(wiring), directory, sender=SENDER, patient_id="nobody", to_org=KE
        )
    assert [i.message_id for i in missing.value.issues] == ["IP-6050"]
    assert Outbox(engine).list() == [] and _tasks(wiring) == []


def test_task_and_message_are_written_together_or_not_at_all(
    engine: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    wiring, directory = _hospital(engine, tmp_path)

    def broken(*_a: Any, **_k: Any) -> str:
        raise RuntimeError("the outbox write failed")

    monkeypatch.setattr(wiring.outbox, "enqueue", broken)
    with pytest.raises(RuntimeError):
        _notify(wiring, directory, to_org=KE)
    assert _tasks(wiring) == [] and Outbox(engine).list() == []
    from ipfhir.adapter.ports import SearchQuery

    events = wiring.repository.search(SearchQuery("AuditEvent", count=200)).matches
    named = [x["what"].get("reference", "") for e in events for x in e["entity"]]
    assert named and not [n for n in named if n.startswith("Task/")]  # no audit of a rollback


def test_only_a_received_notification_is_answered(engine: Engine, tmp_path: Path) -> None:
    """``respond`` answers a notification addressed to this organisation, once: not the
    sender's own Task, not an unknown one, not one answered already."""
    from ipfhir.adapter.services.notify import respond

    wiring, directory = _hospital(engine, tmp_path)
    load_directory(directory, {HOSPITAL: SENDER.endpoint})
    queued = _notify(wiring, directory, to_org=KE)
    ke = Party(KE, "Romsa suohkan – koordinerende enhet", BASES[KE])
    for task_id, responder in ((queued.task_id, SENDER), ("ukjent", ke)):
        with pytest.raises(NotifyRefused) as refused:
            respond(wiring, directory, responder=responder, task_id=task_id, accept=True)
        assert [i.message_id for i in refused.value.issues] == ["IP-6054"]
    # the same Task as the coordinating unit holds it after receipt: answered once
    received = wiring.repository.read("Task", queued.task_id)
    received["requester"] = {**received["requester"], "reference": "Organization/ip1-sykehus"}
    wiring.repository.update("Task", queued.task_id, received)
    answer = respond(
        wiring, directory, responder=ke, task_id=queued.task_id, accept=False, text="Flyttet"
    )
    assert answer.receiver == HOSPITAL
    assert answer.destination == SENDER.endpoint + "/$process-message"
    sent = Outbox(engine).get(answer.message_id)
    assert sent is not None
    [task] = [e["resource"] for e in sent.payload["entry"][1:]]
    assert task["status"] == "rejected" and "for" not in task  # no person data goes back
    assert task["output"][0]["valueString"] == "Flyttet"
    with pytest.raises(NotifyRefused):
        respond(wiring, directory, responder=ke, task_id=queued.task_id, accept=True)


class _Recording:
    def __init__(self) -> None:
        self.sent: list[str] = []

    def post(self, message: Any) -> Any:
        from ipfhir.adapter.sync.policy import Attempt

        self.sent.append(message.message_id)
        return Attempt(error="ConnectionError: the receiver is down")


def test_a_consent_withdrawn_before_delivery_stops_the_message(
    engine: Engine, tmp_path: Path
) -> None:
    from ipfhir.adapter.sync.gate import ConsentGate
    from ipfhir.adapter.sync.worker import Worker

    wiring, directory = _hospital(engine, tmp_path)
    first = _notify(wiring, directory, to_org=KE)
    transport = _Recording()
    worker = Worker(Outbox(engine), transport, before_send=ConsentGate(secure_factory(wiring)))
    worker.run_once()  # still consented: sent (the receiver is down: it waits for a retry)
    assert transport.sent == [first.message_id]
    consent = wiring.repository.read("Consent", "ip1-sharing")
    consent.update(status="inactive")
    consent["extension"] = [
        {
            "url": ext_url("ip-consent-revoked"),
            "valueDate": "2026-02-01",
        }
    ]
    wiring.repository.update("Consent", "ip1-sharing", consent)
    box = Outbox(engine, clock=lambda: 4_000_000_000.0)  # past any back-off
    Worker(box, transport, before_send=ConsentGate(secure_factory(wiring))).run_once()
    assert transport.sent == [first.message_id]  # not sent again
    [dead] = box.list("dead")
    assert dead.message_id == first.message_id and (dead.last_error or "").startswith("IP-6056")


def test_a_receiver_moved_in_the_directory_before_delivery_gets_nothing_at_the_old_address(
    engine: Engine, tmp_path: Path
) -> None:
    from ipfhir.adapter.sync.gate import ConsentGate
    from ipfhir.adapter.sync.worker import Worker

    wiring, directory = _hospital(engine, tmp_path)
    queued = _notify(wiring, directory, to_org=KE)
    load_directory(directory, {KE: "http://127.0.0.1:18092"})  # Romsa's KE moved its server
    transport = _Recording()
    Worker(Outbox(engine), transport, before_send=ConsentGate(secure_factory(wiring))).run_once()
    assert transport.sent == []
    [dead] = Outbox(engine).list("dead")
    assert dead.message_id == queued.message_id and (dead.last_error or "").startswith("IP-6057")
