"""The plan transfer A → B (``adapter/services/transfer.py`` and the receiving side), two real
SQLite stores joined by the real Receiver: the handover runs to the end with exactly one active
plan on each side, B stores only what the consent lets it see, and every way it can fail
(declined, unreachable, overdue, consent withdrawn, B holding a plan already) leaves A's plan
active with the Task saying why."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from ipfhir.adapter.directory import NoRoute
from ipfhir.adapter.errors import Conflict
from ipfhir.adapter.fhir.handover import handover_state
from ipfhir.adapter.services.transfer import request, respond, status
from ipfhir.adapter.store.schema import consent_recipients
from ipfhir.adapter.sync.messages import NotifyRefused, TransferRefused
from ipfhir.adapter.sync.messaging import Party
from ipfhir.adapter.sync.transfer_state import settle_transfers
from tests.api.notify_world import ORGNR
from tests.api.transfer_world import B_ORG, PID, A, B, Net, build_net
from tests.unit.consent.builders import IP_PLAN_CATEGORY

COORDINATOR = "Áslat Nilsen Guttorm, tlf 77 79 00 00"


@pytest.fixture
def net(tmp_path: Path) -> Net:
    return build_net(tmp_path)


def _request(net: Net, **kw: Any) -> Any:
    args: dict[str, Any] = {"to_org": B_ORG, "overlap_days": 14} | kw
    return request(net.a.wiring, net.a.factory, net.a.directory, sender=A, patient_id=PID, **args)


def _b_task(net: Net) -> dict[str, Any]:
    [task] = [t for t in net.b.tasks() if t["code"]["coding"][0]["code"] == "ip-transfer"]
    return task


def _answer(net: Net, accept: bool = True, text: str | None = COORDINATOR) -> None:
    task = _b_task(net)
    respond(
        net.b.wiring, net.b.directory, responder=B, task_id=task["id"], accept=accept, text=text
    )


def _a_task(net: Net, tid: str) -> dict[str, Any]:
    return dict(net.a.wiring.repository.read("Task", tid))


def _handover(net: Net) -> Any:
    queued = _request(net, why="Flytter til Romsa 1. januar")
    assert net.deliver(net.a) == 1
    _answer(net)
    assert net.deliver(net.b) == 1  # the acceptance: A sends the plan
    assert net.deliver(net.a) == 1  # the plan: B stores it and confirms
    assert net.deliver(net.b) == 1  # the confirmation: A's plan completed
    return queued


def test_the_plan_moves_and_each_side_holds_one_active_plan(net: Net) -> None:
    queued = _handover(net)
    assert [m.status for m in net.a.outbox.list()] == ["delivered", "delivered"]
    assert [m.status for m in net.b.outbox.list()] == ["delivered", "delivered"]
    # A: the predecessor, completed, read-only, linked to B's plan; nothing deleted
    [old] = net.a.plans()
    assert (old["id"], old["status"], handover_state(old)) == ("ip1", "completed", "handed-over")
    assert net.a.plans("active") == []
    task = _a_task(net, queued.task_id)
    assert task["status"] == "completed"
    [new] = net.b.plans("active")
    address = f"{B.endpoint}/CarePlan/{new['id']}"
    assert {"valueReference": {"reference": address}}.items() <= task["output"][-1].items()
    assert any(o.get("valueString") == COORDINATOR for o in task["output"])
    [link] = net.a.search("Provenance")
    assert link["target"] == [{"reference": "CarePlan/ip1"}]
    assert link["entity"] == [{"role": "revision", "what": {"reference": address}}]
    for rtype in ("Goal", "CareTeam", "Consent", "Patient"):
        assert net.a.search(rtype)  # kept
    # coordination passed with the overlap on A's side too
    [team_a] = net.a.search("CareTeam")
    koord = next(p for p in team_a["participant"] if p.get("id") == "koord")
    assert koord["period"]["end"] > koord["period"]["start"]
    # B: the person's active plan, owned by B, with the new coordinator from today
    assert new["author"]["identifier"]["value"] == B_ORG
    [team_b] = net.b.search("CareTeam")
    assert team_b["managingOrganization"][0]["identifier"]["value"] == B_ORG
    appointed = [p for p in team_b["participant"] if p["member"].get("display") == COORDINATOR]
    assert len(appointed) == 1 and "end" not in appointed[0]["period"]
    old_koord = next(p for p in team_b["participant"] if p.get("id") == "koord")
    assert old_koord["period"]["end"] == koord["period"]["end"]  # the declared overlap
    [from_a] = net.b.search("Provenance")
    assert from_a["target"][0] == {"reference": f"CarePlan/{new['id']}"}
    assert from_a["entity"][0]["what"]["identifier"]["value"] == f"urn:uuid:{queued.task_id}"
    assert _b_task(net)["status"] == "completed"
    # the disclosure is A's recipients ledger, as for a read by B over HTTP
    with net.a.wiring.engine.connect() as conn:
        assert B_ORG in {r.organisation for r in conn.execute(select(consent_recipients))}


def test_b_stores_only_what_the_consent_lets_it_see(net: Net) -> None:
    _handover(net)
    stored = json.dumps(
        [r for t in ("CarePlan", "Goal", "CareTeam", "Patient") for r in net.b.search(t)],
        ensure_ascii=False,
    )
    assert "Tiltak m1" in stored and "Tiltak m3" in stored
    assert "Tiltak m2" not in stored and '"rus"' not in stored and "n2" not in stored
    assert net.b.search("Consent") == []  # B sees the consent only in part: deny by default there
    # nothing of A's ids reached B
    ids = {r["id"] for t in ("CarePlan", "Goal", "CareTeam") for r in net.b.search(t)}
    assert not ids & {"ip1", "ip1-g1", "ip1-g3"}
    # the refused environment and the refused doctor get nothing of the plan at B either
    for actor in ({"organisation": ORGNR["nav"]}, {"organisation": ORGNR["sykehus"]}):
        repo = net.b.factory.repository_for(_actor(**actor))
        from ipfhir.adapter.ports import SearchQuery

        assert repo.search(SearchQuery("CarePlan", count=10)).matches == []


def _actor(**kw: Any) -> Any:
    from ipfhir.adapter.ports import Actor

    return Actor(scopes=("system/*.cruds",), purpose="COC", **kw)


def _owner(org: str) -> Any:
    from ipfhir.adapter.consent.policy import OWNER_ROLE

    return _actor(organisation=org, roles=(OWNER_ROLE,))


def test_the_predecessor_is_read_only_for_everyone(net: Net) -> None:
    from ipfhir.adapter.security_errors import Forbidden
    from tests.unit.consent.conftest import HPR

    _handover(net)
    plan = net.a.wiring.repository.read("CarePlan", "ip1")
    changed = {**plan, "description": "Endret etter overføring"}
    coordinator = _actor(organisation=A.orgnr, practitioner=HPR["koord"])
    for actor in (_owner(A.orgnr), coordinator):
        with pytest.raises(Conflict) as err:
            net.a.factory.repository_for(actor).update("CarePlan", "ip1", changed)
        assert err.value.issues[0].message_id == "IP-4490"
    [goal] = [g for g in net.a.search("Goal") if g["id"] == "ip1-g1"]
    with pytest.raises(Conflict) as err:
        net.a.factory.repository_for(_owner(A.orgnr)).update("Goal", "ip1-g1", goal)
    assert err.value.issues[0].message_id == "IP-4490"
    # an outsider is answered as for any plan it has no part in (hidden = missing)
    with pytest.raises(Forbidden) as refused:
        net.a.factory.repository_for(_actor(organisation=ORGNR["annen"])).update(
            "CarePlan", "ip1", changed
        )
    assert refused.value.issues[0].message_id == "IP-5101"
    # and no client sets a handover mark on its own plan's parts
    tagged = next(g for g in net.b.search("Goal") if "g1" in json.dumps(g, ensure_ascii=False))
    tagged["meta"] = {"tag": [plan["meta"]["tag"][0]]}
    with pytest.raises(Conflict) as err:
        net.b.factory.repository_for(_owner(B.orgnr)).update("Goal", tagged["id"], tagged)
    assert err.value.issues[0].message_id == "IP-4491"


def test_a_plan_being_handed_over_is_read_only_until_b_confirms(net: Net) -> None:
    _request(net)
    net.deliver(net.a)
    _answer(net)
    net.deliver(net.b)
    plan = net.a.wiring.repository.read("CarePlan", "ip1")
    assert (plan["status"], handover_state(plan)) == ("active", "handover-pending")
    with pytest.raises(Conflict) as err:
        net.a.factory.repository_for(_owner(A.orgnr)).update("CarePlan", "ip1", plan)
    assert err.value.issues[0].message_id == "IP-4490"


def test_a_plan_changed_while_it_was_read_is_read_again(net: Net) -> None:
    queued = _request(net)
    net.deliver(net.a)
    _answer(net)
    original = net.a.receiver.handlers["ip-transfer-response"]

    def racing(sender: str, incoming: Any) -> Any:
        act = original(sender, incoming)  # the plan is read as B may see it ...
        plan = net.a.wiring.repository.read("CarePlan", "ip1")  # ... and changed before writing
        plan["description"] = "Endret mens planen ble lest"
        net.a.wiring.repository.update("CarePlan", "ip1", plan)
        return act

    net.a.receiver.handlers["ip-transfer-response"] = racing
    net.deliver(net.b)
    assert _a_task(net, queued.task_id)["status"] == "requested"
    assert handover_state(net.a.wiring.repository.read("CarePlan", "ip1")) is None
    assert [m.kind for m in net.a.outbox.list()] == ["ip-transfer"]
    [answer] = net.b.outbox.list()
    assert (answer.status, answer.last_error) == ("queued", "transient-error")
    net.a.receiver.handlers["ip-transfer-response"] = original
    net.deliver(net.b)  # the retry reads the changed plan and sends it
    assert _a_task(net, queued.task_id)["status"] == "in-progress"
    plan_message = net.a.outbox.list()[-1]
    assert "Endret mens planen ble lest" in json.dumps(plan_message.payload, ensure_ascii=False)


def test_declined_the_plan_stays_active_and_the_task_says_why(net: Net) -> None:
    queued = _request(net)
    net.deliver(net.a)
    _answer(net, accept=False, text="Personen flytter ikke hit likevel")
    net.deliver(net.b)
    task = _a_task(net, queued.task_id)
    assert task["status"] == "rejected"
    assert task["statusReason"]["text"] == "Personen flytter ikke hit likevel"
    [plan] = net.a.plans("active")
    assert handover_state(plan) is None
    assert net.b.plans() == []
    # the plan is writable again at once, and a new request may go
    net.a.factory.repository_for(_owner(A.orgnr)).update("CarePlan", "ip1", plan)
    assert _request(net).receiver == B_ORG


def test_b_never_reached_fails_the_task_and_keeps_the_plan(net: Net) -> None:
    queued = _request(net)
    [message] = net.a.outbox.claim()
    net.a.outbox.dead(message, "gave up after 8 attempts: HTTP 503")
    [task] = status(net.a.wiring, queued.task_id)
    assert task["status"] == "failed"
    assert task["statusReason"]["text"].startswith("IP-6097: ")
    assert "HTTP 503" in task["statusReason"]["text"]
    assert [p["id"] for p in net.a.plans("active")] == ["ip1"]


def test_no_answer_by_the_deadline_fails_the_task(net: Net) -> None:
    queued = _request(net, answer_days=3)
    net.deliver(net.a)
    assert settle_transfers(net.a.wiring.repository, today="2099-01-01") == [queued.task_id]
    task = _a_task(net, queued.task_id)
    assert task["status"] == "failed" and task["statusReason"]["text"].startswith("IP-6098: ")
    # a late acceptance changes nothing at A: it is refused as it stands
    _answer(net)
    net.deliver(net.b)
    [late] = net.b.outbox.list()
    assert late.status == "dead" and "IP-6095" in str(late.last_error)
    assert _a_task(net, queued.task_id)["status"] == "failed"
    assert [p["id"] for p in net.a.plans("active")] == ["ip1"]


def _withdraw_consent(net: Net) -> None:
    consent = net.a.wiring.repository.read("Consent", "ip1-sharing")
    net.a.wiring.repository.update("Consent", "ip1-sharing", {**consent, "status": "inactive"})


def test_consent_withdrawn_before_the_plan_leaves_sends_nothing(net: Net) -> None:
    queued = _request(net)
    net.deliver(net.a)
    _answer(net)
    _withdraw_consent(net)
    net.deliver(net.b)  # the acceptance arrives: B sees nothing now
    task = _a_task(net, queued.task_id)
    assert task["status"] == "failed" and task["statusReason"]["text"].startswith("IP-6096: ")
    assert [m.kind for m in net.a.outbox.list()] == ["ip-transfer"]  # no plan queued
    [plan] = net.a.plans("active")
    assert handover_state(plan) is None


def test_consent_withdrawn_after_the_plan_was_queued_stops_it(net: Net) -> None:
    queued = _request(net)
    net.deliver(net.a)
    _answer(net)
    net.deliver(net.b)  # the plan is queued, A's plan pending
    _withdraw_consent(net)
    net.deliver(net.a)  # the gate holds it back
    plan_message = net.a.outbox.list()[-1]
    assert plan_message.status == "dead" and str(plan_message.last_error).startswith("IP-6056")
    [task] = status(net.a.wiring, queued.task_id)
    assert task["status"] == "failed" and task["statusReason"]["text"].startswith("IP-6096: ")
    [plan] = net.a.plans("active")
    assert handover_state(plan) is None  # writable again
    assert net.b.plans() == []


def test_b_holding_an_active_plan_cannot_take_another(net: Net) -> None:
    _handover(net)
    # a second transfer to B of a plan for the same person (A started a new one meanwhile)
    fresh = {k: v for k, v in net.a.wiring.repository.read("CarePlan", "ip1").items()}
    fresh.update(status="active", id="ip1-ny")
    fresh.pop("meta")
    net.a.wiring.repository.update("CarePlan", "ip1-ny", fresh)
    _request(net)
    net.deliver(net.a)
    task = [t for t in net.b.tasks() if t["status"] == "requested"][0]
    with pytest.raises(TransferRefused) as err:
        respond(net.b.wiring, net.b.directory, responder=B, task_id=task["id"], accept=True)
    assert err.value.issues[0].message_id == "IP-6092"
    assert len(net.b.plans("active")) == 1


def test_b_given_an_active_plan_meanwhile_refuses_the_plan_and_a_keeps_its_own(
    net: Net,
) -> None:
    queued = _request(net)
    net.deliver(net.a)
    _answer(net)
    # meanwhile B starts a plan of its own for the person
    patient = _b_task(net)["for"]["reference"]
    own = {
        "resourceType": "CarePlan",
        "status": "active",
        "intent": "plan",
        "category": [IP_PLAN_CATEGORY],
        "subject": {"reference": patient},
    }
    net.b.wiring.repository.create(own)
    net.deliver(net.b)
    net.deliver(net.a)  # B refuses the plan as it stands: IP-6092, nothing stored
    [_request_message, plan_message] = net.a.outbox.list()
    assert plan_message.status == "dead" and "IP-6092" in str(plan_message.last_error)
    assert len(net.b.plans("active")) == 1 and net.b.search("Provenance") == []
    [task] = status(net.a.wiring, queued.task_id)
    assert task["status"] == "failed" and task["statusReason"]["text"].startswith("IP-6097: ")
    [plan] = net.a.plans("active")
    assert handover_state(plan) is None


def test_a_waiting_request_is_shown_to_bs_coordinating_unit_only(net: Net) -> None:
    from ipfhir.adapter.ports import SearchQuery

    _request(net)
    net.deliver(net.a)
    query = SearchQuery("Task", count=10)
    [waiting] = net.b.factory.repository_for(_owner(B_ORG)).search(query).matches
    assert waiting["status"] == "requested"
    for actor in (_actor(organisation=B_ORG), _actor(organisation=ORGNR["nav"]), _owner(A.orgnr)):
        assert net.b.factory.repository_for(actor).search(query).matches == []


def test_without_a_target_the_new_home_address_routes_the_request(net: Net) -> None:
    from ipfhir.adapter.directory.model import MUNICIPALITY_EXTENSION

    patient = net.a.wiring.repository.read("Patient", PID)
    moved = {
        "use": "home",
        "line": ["Storgata 1"],
        "city": "Tromsø",
        "_district": {
            "extension": [{"url": MUNICIPALITY_EXTENSION, "valueCoding": {"code": "5501"}}]
        },
        "period": {"start": "2026-01-01"},
    }
    patient.pop("meta")
    net.a.wiring.repository.update("Patient", PID, {**patient, "address": [moved]})
    assert _request(net, to_org=None).receiver == B_ORG


def test_who_may_ask_and_what_is_refused(net: Net, tmp_path: Path) -> None:
    for org in (ORGNR["annen"], ORGNR["sykehus"]):  # an outsider; a recipient, not the owner
        outsider = Party(org, "Annen virksomhet", "http://127.0.0.1:18099")
        with pytest.raises(TransferRefused) as err:
            request(
                net.a.wiring,
                net.a.factory,
                net.a.directory,
                sender=outsider,
                patient_id=PID,
                to_org=B_ORG,
            )
        assert err.value.issues[0].message_id == "IP-6090"
    with pytest.raises(TransferRefused) as err:
        _request(net, overlap_days=91)
    assert err.value.issues[0].message_id == "IP-6099"
    with pytest.raises(NoRoute):
        _request(net, to_org=None, to_kommune="1103")
    _request(net)
    with pytest.raises(TransferRefused) as err:
        _request(net)
    assert err.value.issues[0].message_id == "IP-6093"
    with pytest.raises(TransferRefused) as err:
        respond(net.b.wiring, net.b.directory, responder=B, task_id="ingen", accept=True)
    assert err.value.issues[0].message_id == "IP-6091"
    with pytest.raises(TransferRefused) as err:
        status(net.a.wiring, "ingen")
    assert err.value.issues[0].message_id == "IP-6094"
    assert len(net.a.outbox.list()) == 1


@pytest.mark.parametrize(
    ("case", "sharing", "target"),
    [
        ("refused environment", {}, ORGNR["nav"]),
        ("an individual's consent is not their organisation's", {}, ORGNR["skole"]),
        ("expired consent", {"end": "2026-01-31"}, B_ORG),
    ],
)
def test_what_the_consent_refuses_reaches_nobody(
    tmp_path: Path, case: str, sharing: dict[str, Any], target: str
) -> None:
    net = build_net(tmp_path, **sharing)
    from ipfhir.adapter.directory import parse_directory
    from ipfhir.adapter.directory.build import directory_bundle, organisation_entry

    extra = organisation_entry(
        target,
        case,
        "http://127.0.0.1:18097",
        jwks_url="http://127.0.0.1:18097/.well-known/jwks.json",
    )
    net.a.directory.load(parse_directory(directory_bundle(*extra)))
    with pytest.raises(NotifyRefused) as err:
        _request(net, to_org=target)
    assert err.value.issues[0].message_id == "IP-6051", case
    assert net.a.outbox.list() == []
