"""The first exchange between two real ``ipfhir serve --dev`` processes (hospital H,
municipality M, each its own SQLite data folder) trusting each other through ``ipfhir directory
load`` alone: ``ipfhir notify`` on H queues the notification, ``ipfhir worker`` on H delivers
it with an access token from M's token endpoint (private_key_jwt), it lands in M's inbox exactly
once carrying only what the consent gives M, and M's ``ipfhir notify respond --accept`` flows
back and marks H's Task accepted."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from ipfhir.adapter.auth.orgkey import organisation_key
from ipfhir.adapter.auth.token_client import TokenClient
from ipfhir.adapter.bootstrap import build_wiring
from ipfhir.adapter.directory.guard_messages import MESSAGE_SCOPE
from ipfhir.adapter.settings import Settings
from ipfhir.adapter.store.outbox import Outbox
from tests.api.notify_world import PID, hospital_resources
from tests.integration.test_two_instances_auth import Instance, ipfhir, pair

pytestmark = pytest.mark.slow
__all__ = ["pair"]  # the two servers (fixture)


def _store_plan(h: Instance) -> None:
    wiring = build_wiring(Settings(data_dir=h.data, dev_mode=True))
    for res in hospital_resources():
        wiring.repository.update(res["resourceType"], res["id"], res)
    wiring.engine.dispose()


def _run(*args: str) -> dict[str, Any]:
    done = ipfhir(*args)
    assert done.returncode == 0, done.stderr
    return dict(json.loads(done.stdout.strip().splitlines()[-1]))


def _inbox(m: Instance) -> list[dict[str, Any]]:
    done = ipfhir("notify", "inbox", "--data-dir", str(m.data))
    assert done.returncode == 0, done.stderr
    return [json.loads(line) for line in done.stdout.splitlines() if line.strip()]


def _outbox(instance: Instance) -> Outbox:
    return Outbox(build_wiring(Settings(data_dir=instance.data, dev_mode=True)).engine)


def test_notification_reaches_the_inbox_once_and_the_acceptance_returns(
    pair: tuple[Instance, Instance],
) -> None:
    h, m = pair
    _store_plan(h)
    sender = ("--as", h.orgnr, "--from-base", h.base, "--data-dir", str(h.data))
    queued = _run(
        "notify", "--patient", PID, "--to-kommune", "5501", "--reason", "Hjerneslag", *sender
    )
    assert queued["receiver"] == m.orgnr
    _run_worker(h)
    [task] = _inbox(m)
    assert task["owner"]["identifier"]["value"] == m.orgnr
    assert task["requester"]["identifier"]["value"] == h.orgnr
    carried = json.dumps(task, ensure_ascii=False)
    assert "Tiltak m1" in carried and "Tiltak m3" in carried and "Tiltak m2" not in carried
    assert "Åse Sørli" in carried and task["reasonCode"]["text"] == "Hjerneslag"
    [delivered] = _outbox(h).list()
    assert (delivered.status, delivered.attempts) == ("delivered", 1)
    # a redelivery (an answer lost on the way) is answered as the first and changes nothing
    key = organisation_key(h.data)
    auth = TokenClient(key, h.orgnr, f"{m.base}/auth/token", scope=MESSAGE_SCOPE).headers()
    again = httpx.post(
        f"{m.base}/$process-message",
        json=delivered.payload,
        headers={**auth, "Content-Type": "application/fhir+json"},
        timeout=30,
    )
    assert again.status_code == 200 and again.text == delivered.response
    assert len(_inbox(m)) == 1
    # the coordinating unit accepts; the answer updates the hospital's Task
    responder = ("--as", m.orgnr, "--from-base", m.base, "--data-dir", str(m.data))
    coordinator = "Áslat Nilsen Guttorm, tlf 77 79 00 00"
    _run("notify", "respond", task["id"], "--accept", "--coordinator", coordinator, *responder)
    assert _inbox(m) == []  # answered: no longer waiting
    _run_worker(m)
    wiring = build_wiring(Settings(data_dir=h.data, dev_mode=True))
    mine = wiring.repository.read("Task", queued["task_id"])
    assert mine["status"] == "accepted"
    assert mine["output"][0]["valueString"] == coordinator


def _run_worker(instance: Instance) -> None:
    done = ipfhir("worker", "--once", "--as", instance.orgnr, "--data-dir", str(instance.data))
    assert done.returncode == 0, done.stderr
    [message] = [m for m in _outbox(instance).list() if m.status != "delivered"] or [None]
    assert message is None, (message.status, message.last_error)


def test_no_route_and_refused_consent_queue_nothing(pair: tuple[Instance, Instance]) -> None:
    h, _m = pair
    _store_plan(h)
    sender = ("--as", h.orgnr, "--from-base", h.base, "--data-dir", str(h.data))
    nowhere = ipfhir("notify", "--patient", PID, "--to-kommune", "1103", *sender)
    assert nowhere.returncode == 1 and nowhere.stderr.startswith("ipfhir: IP-6001: ")
    missing = ipfhir("notify", "--patient", "ingen", "--to-kommune", "5501", *sender)
    assert missing.returncode == 1 and missing.stderr.startswith("ipfhir: IP-6050: ")
    assert _outbox(h).list() == []
