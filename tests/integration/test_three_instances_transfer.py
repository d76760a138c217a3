"""Three real ``ipfhir serve --dev`` processes on 127.0.0.1, each with its own data folder and
database (SQLite, or a schema of its own on PostgreSQL), trusting each other through ``ipfhir
directory load`` alone: a hospital (H), the person's municipality (A, Bærum, which owns the
plan) and the municipality the person moves to (B, Romsa suohkan). H notifies A's coordinating
unit and A accepts (``ipfhir notify``); then the person moves and ``ipfhir transfer`` hands the
plan from A to B — every message delivered by ``ipfhir worker`` with an access token from the
receiver's token endpoint, every answer carried out by the receiver's ``$process-message``.
Asserted on what each side stored: B holds the person's one active plan without what the
consent refuses (the topic «rus»; NAV and the refused doctor see nothing there), A holds the
completed, read-only predecessor linked by Provenance, and B reading A's plan with its own
token gets no more than it was sent."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import replace
from pathlib import Path
from typing import Any

import httpx
import pytest

from ipfhir.adapter.auth.orgkey import organisation_key
from ipfhir.adapter.auth.token_client import TokenClient
from ipfhir.adapter.bootstrap import build_wiring
from ipfhir.adapter.ports import SearchQuery
from ipfhir.adapter.settings import Settings
from ipfhir.adapter.store.outbox import Outbox
from tests.api.notify_world import HOSPITAL, KE, ORGNR, PID
from tests.integration.conftest import dev_token, free_port, start_server
from tests.integration.test_two_instances_auth import Instance, ipfhir, trust
from tests.pg import PG_URL, postgres_schema
from tests.unit.consent.builders import Org, build
from tests.unit.consent.conftest import HPR, standard_spec

pytestmark = pytest.mark.slow

A_ORG, B_ORG = ORGNR["kommune"], KE
COORDINATOR = "Áslat Nilsen Guttorm, tlf 77 79 00 00"
B_COORDINATOR_HPR = "9144897"


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def trio(
    request: pytest.FixtureRequest, tmp_path: Path
) -> Iterator[tuple[Instance, Instance, Instance]]:
    """H, A and B, each with its own data folder (its keys) and database: its own SQLite file,
    or its own schema on the test PostgreSQL (``options=-csearch_path``)."""
    with ExitStack() as stack:
        procs, instances = [], []
        for orgnr, name in ((HOSPITAL, "h"), (A_ORG, "a"), (B_ORG, "b")):
            port = free_port()
            data = tmp_path / name / "data"
            data.parent.mkdir()
            database = None
            if request.param == "postgres":
                schema = stack.enter_context(postgres_schema(f"ipfhir_trio_{name}"))
                database = f"{PG_URL}?options=-csearch_path%3D{schema}"
            at = Instance(orgnr, f"http://127.0.0.1:{port}", data, database)
            procs.append(start_server(list(at.where()), port, tmp_path / f"{name}.log"))
            instances.append(at)
        h, a, b = instances
        try:
            trust(h, a, "Bærum kommune – koordinerende enhet", "--kommune", "3024", "--ke")
            trust(a, h, "Vestre Viken HF", "--kommune", "3024")
            trust(a, b, "Romsa suohkan – koordinerende enhet", "--kommune", "5501", "--ke")
            trust(b, a, "Bærum kommune – koordinerende enhet", "--kommune", "3024", "--ke")
            yield h, a, b
        finally:
            for proc in procs:
                proc.terminate()
                proc.wait(timeout=30)


def _resources() -> list[dict[str, Any]]:
    """``standard_spec`` with both municipalities' coordinating units among the recipients (the
    hospital may notify A; A may hand the plan to B); NAV, «rus» and one doctor refused."""
    base = standard_spec()
    assert base.sharing is not None
    recipients = (*base.sharing.recipients, "org:ke", "org:kommune")
    spec = replace(
        base,
        orgs=[*base.orgs, Org("ke", KE, "Romsa suohkan – koordinerende enhet")],
        sharing=replace(base.sharing, recipients=recipients),
    )
    return build(spec)


def _wiring(at: Instance) -> Any:
    return build_wiring(Settings(data_dir=at.data, database_url=at.database or "", dev_mode=True))


def _store_plan(at: Instance) -> None:
    wiring = _wiring(at)
    for res in _resources():
        wiring.repository.update(res["resourceType"], res["id"], res)
    wiring.engine.dispose()


def _run(*args: str) -> list[dict[str, Any]]:
    done = ipfhir(*args)
    assert done.returncode == 0, done.stderr
    return [json.loads(line) for line in done.stdout.splitlines() if line.startswith("{")]


def _deliver(at: Instance) -> None:
    done = ipfhir("worker", "--once", "--as", at.orgnr, *at.where())
    assert done.returncode == 0, done.stderr
    wiring = _wiring(at)
    left = [m for m in Outbox(wiring.engine).list() if m.status != "delivered"]
    wiring.engine.dispose()
    assert left == [], [(m.kind, m.status, m.last_error) for m in left]


def _search(at: Instance, rtype: str) -> list[dict[str, Any]]:
    wiring = _wiring(at)
    found = wiring.repository.search(SearchQuery(rtype, count=200)).matches
    wiring.engine.dispose()
    return found


def _me(at: Instance) -> tuple[str, ...]:
    return ("--as", at.orgnr, "--from-base", at.base, *at.where())


def test_notify_accept_then_transfer_from_a_to_b(
    trio: tuple[Instance, Instance, Instance],
) -> None:
    h, a, b = trio
    # 1. the hospital notifies A's coordinating unit; A accepts
    _store_plan(h)
    [noted] = _run(
        "notify", "--patient", PID, "--to-kommune", "3024", "--reason", "Hjerneslag", *_me(h)
    )
    _deliver(h)
    [waiting] = _run("notify", "inbox", *a.where())
    _run("notify", "respond", waiting["id"], "--accept", "--coordinator", "Åse Sørli", *_me(a))
    _deliver(a)
    [h_task] = [t for t in _search(h, "Task") if t["id"] == noted["task_id"]]
    assert h_task["status"] == "accepted"
    # 2. the person moves: A (which keeps the plan) hands it over to B
    _store_plan(a)
    [queued] = _run(
        "transfer",
        "request",
        "--patient",
        PID,
        "--to-kommune",
        "5501",
        "--overlap-days",
        "14",
        "--reason",
        "Flytter til Romsa",
        *_me(a),
    )
    assert queued["receiver"] == B_ORG
    _deliver(a)
    [b_request] = _run("transfer", "status", *b.where())
    assert (b_request["status"], b_request["requester"]) == ("requested", A_ORG)
    _run(
        "transfer",
        "respond",
        b_request["id"],
        "--accept",
        "--coordinator",
        COORDINATOR,
        "--coordinator-hpr",
        B_COORDINATOR_HPR,
        *_me(b),
    )
    _deliver(b)  # A's server receives the acceptance and queues the plan
    _deliver(a)  # B's server stores the plan and queues its confirmation
    _deliver(b)  # A's server completes its plan
    [a_task] = _run("transfer", "status", queued["task_id"], *a.where())
    assert a_task["status"] == "completed"
    # what B stored: the person's one active plan, owned by B, without what the consent refuses
    [plan_b] = [p for p in _search(b, "CarePlan") if p["status"] == "active"]
    assert plan_b["author"]["identifier"]["value"] == B_ORG
    stored_b = json.dumps(
        [r for t in ("CarePlan", "Goal", "CareTeam") for r in _search(b, t)], ensure_ascii=False
    )
    assert "Tiltak m1" in stored_b and "Tiltak m2" not in stored_b and '"rus"' not in stored_b
    assert COORDINATOR in stored_b and _search(b, "Consent") == []
    # B's coordinator is named by HPR number: a PractitionerRole at B (the policy's coordinator)
    [appointed] = [p for p in _search(b, "Practitioner") if B_COORDINATOR_HPR in json.dumps(p)]
    assert any(
        (r.get("practitioner") or {}).get("reference") == f"Practitioner/{appointed['id']}"
        for r in _search(b, "PractitionerRole")
    )
    assert (
        a_task["output"][-1]["valueReference"]["reference"] == f"{b.base}/CarePlan/{plan_b['id']}"
    )
    # what A kept: the completed, read-only predecessor, linked by Provenance; nothing deleted
    [plan_a] = _search(a, "CarePlan")
    assert plan_a["status"] == "completed"
    [link] = _search(a, "Provenance")
    assert link["entity"][0]["what"]["reference"] == f"{b.base}/CarePlan/{plan_b['id']}"
    # over HTTP: A's owner and former coordinator cannot write the predecessor; an outsider is
    # answered as for any plan it has no part in
    changed = {**plan_a, "description": "Endret etter overføring"}
    changed.pop("meta")
    owner = dev_token(a.data, A_ORG, "system/*.cruds")
    colleague = dev_token(a.data, A_ORG, "system/*.cruds", role=None)  # no KE role
    outsider = dev_token(a.data, ORGNR["annen"], "system/*.cruds", role=None)
    minted = ipfhir(
        "token",
        "--data-dir",
        str(a.data),
        "--org",
        A_ORG,
        "--hpr",
        HPR["koord"],
        "--scope",
        "system/*.cruds",
    )
    coordinator = minted.stdout.strip().splitlines()[-1]
    answers = {}
    tokens = {"owner": owner, "coordinator": coordinator, "colleague": colleague}
    for who, token in (*tokens.items(), ("outsider", outsider)):
        put = httpx.put(
            f"{a.base}/CarePlan/{plan_a['id']}",
            json=changed,
            headers={"Authorization": f"Bearer {token}", "Content-Type": "application/fhir+json"},
            timeout=30,
        )
        answers[who] = (put.status_code, put.json()["issue"][0]["details"]["coding"][0]["code"])
    assert answers["owner"] == answers["coordinator"] == (409, "IP-4490")
    assert answers["colleague"][0] == 403 and answers["outsider"] == answers["colleague"]
    # B cannot pull more from A than it was sent: its own token at A reads the same view
    key = organisation_key(b.data)
    auth = TokenClient(key, b.orgnr, f"{a.base}/auth/token").headers()
    seen = httpx.get(f"{a.base}/CarePlan/{plan_a['id']}", headers=auth, timeout=30)
    assert seen.status_code == 200 and "Tiltak m2" not in seen.text
    # the refused environment and the refused individual's hospital see nothing at B
    for org in (ORGNR["nav"], ORGNR["sykehus"]):
        token = dev_token(b.data, org, "system/*.rs", role=None)
        found = httpx.get(
            f"{b.base}/CarePlan", headers={"Authorization": f"Bearer {token}"}, timeout=30
        )
        assert found.status_code == 200 and found.json().get("total", 0) == 0
        assert "entry" not in found.json()
    # the hospital's own records are untouched by the transfer
    assert [t["status"] for t in _search(h, "Task")] == ["accepted"]
    # on PostgreSQL nothing went to an SQLite file by mistake
    if a.database:
        assert not [at for at in trio if (at.data / "ipfhir.sqlite3").exists()]
