"""Revocation notices on the sender: a Consent withdrawn or narrowed through the enforced
repository queues one ``ip-revocation`` to every organisation of its recipients ledger, in the
transaction that stores the change, naming the notifications delivered there; a change that
gives as much or more queues nothing; a recipient that cannot be told is audited (IP-6100)."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, insert

from ipfhir.adapter.bootstrap import Wiring, build_wiring, secure_factory
from ipfhir.adapter.consent.policy import OWNER_ROLE
from ipfhir.adapter.directory import SqlDirectory
from ipfhir.adapter.errors import PreconditionFailed
from ipfhir.adapter.ports import Actor, SearchQuery
from ipfhir.adapter.services.notify import notify
from ipfhir.adapter.settings import Settings
from ipfhir.adapter.store.outbox import Message, Outbox
from ipfhir.adapter.store.schema import consent_recipients
from ipfhir.adapter.sync.messaging import Party
from ipfhir.mappings.codes import cs_url, ext_url
from tests.api.notify_world import HOSPITAL, KE, ORGNR, PID, hospital_resources, load_directory
from tests.unit.consent.builders import CONSENT_END

SENDER = Party(HOSPITAL, "UNN HF – Sámi klinihkka", "http://127.0.0.1:18081")
BASES = {KE: "http://127.0.0.1:18082", ORGNR["skole"]: "http://127.0.0.1:18084"}
OWNER = Actor(organisation=ORGNR["kommune"], roles=(OWNER_ROLE,), scopes=("system/*.cruds",))


@pytest.fixture
def hospital(engine: Engine, tmp_path: Path) -> Wiring:
    wiring = build_wiring(Settings(data_dir=tmp_path, dev_mode=True), engine=engine)
    for res in hospital_resources():
        wiring.repository.update(res["resourceType"], res["id"], res)
    load_directory(SqlDirectory(engine), BASES)
    return wiring


def _notified(wiring: Wiring) -> Any:
    """A notification to the KE, delivered (the receiver answered ok)."""
    queued = notify(
        wiring,
        secure_factory(wiring),
        SqlDirectory(wiring.engine),
        sender=SENDER,
        patient_id=PID,
        to_org=KE,
    )
    box = Outbox(wiring.engine)
    for message in box.claim(10):
        box.delivered(message, "ok")
    return queued


def _change(wiring: Wiring, change: Any, if_match: str | None = None) -> None:
    repo = secure_factory(wiring).repository_for(OWNER)
    consent = copy.deepcopy(repo.read("Consent", "ip1-sharing"))
    change(consent)
    repo.update("Consent", "ip1-sharing", consent, if_match)


def _withdrawn(consent: dict[str, Any]) -> None:
    """Withdrawn by the person: status inactive and the day (the profile's ip-consent-1)."""
    consent["status"] = "inactive"
    consent["extension"] = [{"url": ext_url("ip-consent-revoked"), "valueDate": "2026-11-30"}]


def _revocations(wiring: Wiring) -> list[Message]:
    return [m for m in Outbox(wiring.engine).list() if m.kind == "ip-revocation"]


def _task(message: Message) -> dict[str, Any]:
    return dict(message.payload["entry"][1]["resource"])


def _named(message: Message) -> list[str]:
    return [i["valueString"] for i in _task(message).get("input", [])]


def _audit_details(wiring: Wiring) -> list[str]:
    events = wiring.repository.search(SearchQuery("AuditEvent", count=500)).matches
    return [e.get("outcomeDesc", "") for e in events]


def test_a_withdrawal_tells_the_notified_coordinating_unit_in_the_same_transaction(
    hospital: Wiring,
) -> None:
    queued = _notified(hospital)
    _change(hospital, _withdrawn)
    assert hospital.repository.read("Consent", "ip1-sharing")["status"] == "inactive"
    [notice] = _revocations(hospital)
    assert notice.destination == BASES[KE] + "/$process-message"
    assert (notice.person, notice.status) == (f"Patient/{PID}", "queued")
    header = notice.payload["entry"][0]["resource"]
    assert header["eventCoding"]["code"] == "ip-revocation"
    assert header["source"]["endpoint"] == SENDER.endpoint
    assert header["destination"][0]["receiver"]["identifier"]["value"] == KE
    task = _task(notice)
    assert _named(notice) == [f"urn:uuid:{queued.task_id}"]
    assert task["reasonCode"]["text"] == "withdrawn"
    assert task["requester"]["identifier"]["value"] == HOSPITAL
    carried = str(notice.payload)
    assert "Patient" not in carried and "rus" not in carried  # no person data, no topics
    assert any(
        f"ip-revocation queued to {KE} for Consent/ip1-sharing" in d
        for d in _audit_details(hospital)
    )


def test_a_topic_refused_after_the_fact_is_a_narrowing_told_as_such(hospital: Wiring) -> None:
    _notified(hospital)
    topic = {"system": cs_url("ip-information-topic"), "code": "behandling"}
    _change(
        hospital,
        lambda c: c["provision"]["provision"].append({"type": "deny", "securityLabel": [topic]}),
    )
    [notice] = _revocations(hospital)
    assert _task(notice)["reasonCode"]["text"] == "narrowed"
    assert "behandling" not in str(notice.payload)  # which topic is the person's business


def test_a_change_that_gives_as_much_or_more_tells_nobody(hospital: Wiring) -> None:
    _notified(hospital)
    later = f"{int(CONSENT_END[:4]) + 1}-12-31"
    _change(hospital, lambda c: c["provision"]["period"].update(end=later))
    _change(hospital, lambda c: c.update(dateTime="2026-02-01"))
    assert _revocations(hospital) == []


def test_a_refused_change_queues_nothing(hospital: Wiring) -> None:
    _notified(hospital)
    with pytest.raises(PreconditionFailed):
        _change(hospital, _withdrawn, if_match='W/"99"')
    assert _revocations(hospital) == []
    assert hospital.repository.read("Consent", "ip1-sharing")["status"] == "active"


def test_every_ledger_recipient_is_told_the_unreachable_one_audited(hospital: Wiring) -> None:
    _notified(hospital)
    rows = [
        {
            "consent": "Consent/ip1-sharing",
            "organisation": o,
            "first_disclosed": "2026-11-01",
            "last_disclosed": "2026-11-01",
        }
        for o in (ORGNR["skole"], ORGNR["sykehus"])  # read the plan; no directory route for one
    ]
    with hospital.engine.begin() as conn:
        conn.execute(insert(consent_recipients), rows)
    _change(hospital, lambda c: c.update(status="rejected"))
    notices = {m.destination: m for m in _revocations(hospital)}
    assert set(notices) == {
        BASES[KE] + "/$process-message",
        BASES[ORGNR["skole"]] + "/$process-message",
    }
    assert (
        _named(notices[BASES[ORGNR["skole"]] + "/$process-message"]) == []
    )  # read, never notified
    untold = [d for d in _audit_details(hospital) if "IP-6100" in d]
    assert len(untold) == 1 and ORGNR["sykehus"] in untold[0] and "no route" in untold[0]


def test_a_notification_still_queued_is_not_named_the_gate_stops_it(hospital: Wiring) -> None:
    notify(
        hospital,
        secure_factory(hospital),
        SqlDirectory(hospital.engine),
        sender=SENDER,
        patient_id=PID,
        to_org=KE,
    )
    _change(hospital, _withdrawn)
    [notice] = _revocations(hospital)
    assert _named(notice) == []


def test_no_message_sent_ever_means_the_recipient_is_audited_untold(hospital: Wiring) -> None:
    with hospital.engine.begin() as conn:
        conn.execute(
            insert(consent_recipients),
            {
                "consent": "Consent/ip1-sharing",
                "organisation": KE,
                "first_disclosed": "2026-11-01",
                "last_disclosed": "2026-11-01",
            },
        )
    _change(hospital, _withdrawn)
    assert _revocations(hospital) == []
    [untold] = [d for d in _audit_details(hospital) if "IP-6100" in d]
    assert "own address is unknown" in untold
    assert hospital.repository.read("Consent", "ip1-sharing")["status"] == "inactive"


def test_a_notification_tried_once_is_named_the_receiver_may_hold_it(hospital: Wiring) -> None:
    queued = notify(
        hospital,
        secure_factory(hospital),
        SqlDirectory(hospital.engine),
        sender=SENDER,
        patient_id=PID,
        to_org=KE,
    )
    box = Outbox(hospital.engine)
    [message] = box.claim(10)
    box.retry(message, "ReadTimeout: the answer was lost", 30.0)  # it may have arrived
    _change(hospital, _withdrawn)
    [notice] = _revocations(hospital)
    assert _named(notice) == [f"urn:uuid:{queued.task_id}"]


def test_a_withdrawal_in_a_transaction_bundle_is_told_too(hospital: Wiring) -> None:
    _notified(hospital)
    repo = secure_factory(hospital).repository_for(OWNER)
    consent = copy.deepcopy(repo.read("Consent", "ip1-sharing"))
    _withdrawn(consent)
    bundle = {
        "resourceType": "Bundle",
        "type": "transaction",
        "entry": [
            {
                "fullUrl": "Consent/ip1-sharing",
                "resource": consent,
                "request": {"method": "PUT", "url": "Consent/ip1-sharing"},
            }
        ],
    }
    answer = repo.transaction(bundle)
    assert answer["entry"][0]["response"]["status"].startswith("200"), answer
    [notice] = _revocations(hospital)
    assert _task(notice)["reasonCode"]["text"] == "withdrawn"


def test_a_recipient_refused_outright_is_told(hospital: Wiring) -> None:
    _notified(hospital)

    def refuse_ke(c: dict[str, Any]) -> None:
        role = {
            "system": "http://terminology.hl7.org/CodeSystem/v3-ParticipationType",
            "code": "IRCP",
        }
        actor = {"role": {"coding": [role]}, "reference": {"reference": "Organization/ip1-ke"}}
        c["provision"]["provision"].append({"type": "deny", "actor": [actor]})

    _change(hospital, refuse_ke)
    [notice] = _revocations(hospital)
    assert _task(notice)["reasonCode"]["text"] == "narrowed"
