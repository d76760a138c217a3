"""Failing reproductions: one active plan per person is keyed by the fødselsnummer only when
the CarePlan is written (adapter/store/indexer.py ``enforce_one_active_plan``/``person_key``).
A Patient whose identifier changes afterwards, or a transaction Bundle that writes the CarePlan
before its Patient, leaves two active plans for one person."""

from __future__ import annotations

import copy
import datetime as dt
import random
import uuid
from typing import Any

from ipfhir.mappings.identifiers import FNR_SYSTEM, synthetic_fnr
from tests.security.conftest import PT, SecureWorld, message_ids

JSON = {"Content-Type": "application/fhir+json"}
IP_CATEGORY = {"coding": [{"system": "urn:oid:2.16.578.1.12.4.1.1.9602", "code": "A02-2"}]}


def _plan(subject: str, pid: str | None = None) -> dict[str, Any]:
    plan: dict[str, Any] = {
        "resourceType": "CarePlan",
        "status": "active",
        "intent": "plan",
        "category": [IP_CATEGORY],
        "title": "Individuell plan for Ánte — mål: å bo hjemme i Kárášjohka",
        "subject": {"reference": subject},
        "author": {"reference": "Organization/ip1-kommune"},
        "period": {"start": "2025-03-01"},
    }
    if pid:
        plan["id"] = pid
    return plan


def _person(fnr: str, pid: str | None = None) -> dict[str, Any]:
    res: dict[str, Any] = {
        "resourceType": "Patient",
        "identifier": [{"system": FNR_SYSTEM, "value": fnr}],
        "name": [{"family": "Ørnø-Sámi", "given": ["Ánte Æsa"]}],
        "birthDate": "1990-04-12",
    }
    if pid:
        res["id"] = pid
    return res


def _world_fnr(world: SecureWorld) -> str:
    pt = world.client.get(f"/{PT}", headers=world.as_("owner")).json()
    return next(i["value"] for i in pt["identifier"] if i["system"] == FNR_SYSTEM)


def test_patient_identifier_changed_after_the_plan_gives_a_second_active_plan(
    world: SecureWorld,
) -> None:
    """Another person Y has an active plan; the owner of plan ip1 changes its Patient's
    fødselsnummer to Y's. Y now has two active plans, and nothing refused the write."""
    other = synthetic_fnr(dt.date(1990, 4, 12), random.Random(4242))
    repo = world.wiring.repository
    repo.update("Patient", "y-person", _person(other, "y-person"))
    repo.update("CarePlan", "y-plan", _plan("Patient/y-person", "y-plan"))
    owner = world.as_("owner")
    pt = world.client.get(f"/{PT}", headers=owner).json()
    changed = copy.deepcopy(pt)
    changed["identifier"] = [{"system": FNR_SYSTEM, "value": other}]
    r = world.client.put(f"/{PT}", json=changed, headers={**owner, **JSON})
    assert r.status_code == 409 and "IP-4401" in message_ids(r.json()), (r.status_code, r.text)


def test_careplan_before_its_patient_in_a_transaction_gives_a_second_active_plan(
    world: SecureWorld,
) -> None:
    """The same person (the world's fødselsnummer) gets a second active plan when the
    transaction lists the CarePlan before the Patient: ``person_key`` reads the Patient's
    index rows, not yet written, and keys the plan by the new Patient id."""
    fnr = _world_fnr(world)
    pat = f"urn:uuid:{uuid.uuid4()}"
    plan = world.client.get("/CarePlan/ip1", headers=world.as_("owner")).json()
    for key in ("id", "meta", "text"):
        plan.pop(key, None)
    plan["subject"] = {"reference": pat}
    bundle = {
        "resourceType": "Bundle",
        "type": "transaction",
        "entry": [
            {
                "fullUrl": f"urn:uuid:{uuid.uuid4()}",
                "resource": plan,
                "request": {"method": "POST", "url": "CarePlan"},
            },
            {
                "fullUrl": pat,
                "resource": _person(fnr),
                "request": {"method": "POST", "url": "Patient"},
            },
        ],
    }
    headers = {**world.as_("owner"), **JSON}
    control = {**bundle, "entry": bundle["entry"][::-1]}  # Patient first: refused, as it should
    r = world.client.post("/", json=control, headers=headers)
    assert r.status_code == 409 and "IP-4401" in message_ids(r.json()), (r.status_code, r.text)
    r = world.client.post("/", json=bundle, headers=headers)
    assert r.status_code == 409 and "IP-4401" in message_ids(r.json()), (r.status_code, r.text)
