"""Revocation notices between two real ``ipfhir serve --dev`` processes (hospital H,
municipality M, each its own SQLite data folder): H notifies M's coordinating unit, then the
person withdraws (or narrows) the sharing consent at H through H's FHIR API; H's server queues
the revocation with the change, ``ipfhir worker`` on H delivers it to M's ``$process-message``
(private_key_jwt login, as the notification), and the next read at M of the notification it
received under that consent is answered exactly as for a Task that never existed."""

from __future__ import annotations

import copy
import uuid
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from ipfhir.adapter.auth.devkey import mint_token
from ipfhir.adapter.consent.policy import OWNER_ROLE
from ipfhir.mappings.codes import cs_url, ext_url
from tests.api.notify_world import ORGNR, PID
from tests.integration.test_two_instances_auth import Instance, ipfhir, pair
from tests.integration.test_two_instances_notify import (
    _inbox,
    _outbox,
    _run,
    _run_worker,
    _store_plan,
)

pytestmark = pytest.mark.slow
__all__ = ["pair"]  # the two servers (fixture)


def _headers(instance: Instance, orgnr: str, scopes: str) -> dict[str, str]:
    token = mint_token(instance.data, orgnr, scopes=(scopes,), roles=(OWNER_ROLE,))
    return {"Authorization": f"Bearer {token}", "Content-Type": "application/fhir+json"}


def _notified(h: Instance, m: Instance) -> dict[str, Any]:
    """H's notification delivered to M; M's coordinating unit reads the Task it received."""
    _store_plan(h)
    sender = ("--as", h.orgnr, "--from-base", h.base, "--data-dir", str(h.data))
    _run("notify", "--patient", PID, "--to-kommune", "5501", "--reason", "Hjerneslag", *sender)
    _run_worker(h)
    [task] = _inbox(m)
    seen = httpx.get(f"{m.base}/Task/{task['id']}", headers=_headers(m, m.orgnr, "system/*.rs"))
    assert seen.status_code == 200, seen.text
    return task


def _change_consent_at_h(h: Instance, change: Callable[[dict[str, Any]], None]) -> None:
    """The plan's owner at H (its coordinating unit) writes the person's changed consent."""
    headers = _headers(h, ORGNR["kommune"], "system/*.cruds")
    url = f"{h.base}/Consent/ip1-sharing"
    consent = copy.deepcopy(httpx.get(url, headers=headers, timeout=30).json())
    change(consent)
    written = httpx.put(url, json=consent, headers=headers, timeout=30)
    assert written.status_code == 200, written.text


def _refused_like_missing(m: Instance, task_id: str) -> None:
    headers = _headers(m, m.orgnr, "system/*.rs")
    never = str(uuid.uuid4())
    hidden = httpx.get(f"{m.base}/Task/{task_id}", headers=headers, timeout=30)
    missing = httpx.get(f"{m.base}/Task/{never}", headers=headers, timeout=30)
    assert (hidden.status_code, missing.status_code) == (404, 404)
    assert hidden.text.replace(task_id, never) == missing.text
    found = httpx.get(f"{m.base}/Task?status=requested", headers=headers, timeout=30).json()
    assert found.get("entry", []) == []
    history = httpx.get(f"{m.base}/Task/{task_id}/_history", headers=headers, timeout=30)
    assert history.status_code == 404


def _revoked_at(h: Instance, reason: str) -> None:
    notices = [msg for msg in _outbox(h).list() if msg.kind == "ip-revocation"]
    assert [(n.status, n.attempts) for n in notices] == [("delivered", 1)]
    assert notices[0].payload["entry"][1]["resource"]["reasonCode"]["text"] == reason


def test_a_withdrawn_consent_reaches_the_municipality_and_its_copy_is_refused(
    pair: tuple[Instance, Instance],
) -> None:
    h, m = pair
    task = _notified(h, m)

    def withdraw(consent: dict[str, Any]) -> None:
        consent["status"] = "inactive"
        consent["extension"] = [{"url": ext_url("ip-consent-revoked"), "valueDate": "2026-11-30"}]

    _change_consent_at_h(h, withdraw)
    _run_worker(h)  # delivers the revocation (asserts nothing is left undelivered)
    _revoked_at(h, "withdrawn")
    _refused_like_missing(m, task["id"])
    assert _inbox(m) == []
    # and nothing more goes from H under the withdrawn consent
    sender = ("--as", h.orgnr, "--from-base", h.base, "--data-dir", str(h.data))
    again = ipfhir("notify", "--patient", PID, "--to-kommune", "5501", *sender)
    assert again.returncode == 1 and again.stderr.startswith("ipfhir: IP-6051: ")


def test_a_topic_refused_after_the_fact_withdraws_what_was_sent(
    pair: tuple[Instance, Instance],
) -> None:
    h, m = pair
    task = _notified(h, m)
    topic = {"system": cs_url("ip-information-topic"), "code": "behandling"}
    _change_consent_at_h(
        h, lambda c: c["provision"]["provision"].append({"type": "deny", "securityLabel": [topic]})
    )
    _run_worker(h)
    _revoked_at(h, "narrowed")
    _refused_like_missing(m, task["id"])
