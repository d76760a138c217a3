"""Failing reproduction: the one-active-plan guard (IP-4401) tells any organisation whether a
fødselsnummer already has an individual plan — a plan it may not see. An outsider (named by
nothing in the plan) creates a Patient with the person's fødselsnummer and a plan of its own:
refused with 409 IP-4401, while for a fødselsnummer without a plan the same write succeeds.
Hidden must answer exactly like missing (docs/threat-model.md); that a person has an individual
plan is itself health information (adapter/store/indexer.py ``enforce_one_active_plan``)."""

from __future__ import annotations

import datetime as dt
import json
import random
import uuid
from typing import Any

from ipfhir.mappings.identifiers import FNR_SYSTEM, ORGNR_SYSTEM, synthetic_fnr
from tests.security.conftest import ACTORS, PT, SecureWorld, plan_resources

JSON = {"Content-Type": "application/fhir+json"}


def _new_plan(world: SecureWorld, fnr: str) -> dict[str, Any]:
    plan = world.client.get("/CarePlan/ip1", headers=world.as_("owner")).json()
    for key in ("id", "meta", "text", "goal", "activity"):
        plan.pop(key, None)
    org, pat = f"urn:uuid:{uuid.uuid4()}", f"urn:uuid:{uuid.uuid4()}"
    consent, team = f"urn:uuid:{uuid.uuid4()}", f"urn:uuid:{uuid.uuid4()}"
    plan["subject"] = {"reference": pat}
    plan["author"] = {"reference": org}
    plan["supportingInfo"] = [{"reference": consent}]
    plan["careTeam"] = [{"reference": team}]
    swap = {'"Patient/ip1-pt"': f'"{pat}"', '"Organization/ip1-kommune"': f'"{org}"'}
    own: list[tuple[str, dict[str, Any]]] = []
    for res in plan_resources():
        if (res["resourceType"], res["id"]) in (("Consent", "ip1-plan"), ("CareTeam", "ip1")):
            text = json.dumps(res)
            for old, new in swap.items():
                text = text.replace(old, new)
            copy = json.loads(text)
            copy.pop("id")
            if copy["resourceType"] == "CareTeam":
                copy["participant"] = copy["participant"][:1]  # the person
            own.append((consent if copy["resourceType"] == "Consent" else team, copy))
    return {
        "resourceType": "Bundle",
        "type": "transaction",
        "entry": [
            {
                "fullUrl": org,
                "resource": {
                    "resourceType": "Organization",
                    "identifier": [{"system": ORGNR_SYSTEM, "value": ACTORS["outsider"][0]}],
                    "name": "Ávjovárri helsesenter",
                },
                "request": {"method": "POST", "url": "Organization"},
            },
            {
                "fullUrl": pat,
                "resource": {
                    "resourceType": "Patient",
                    "identifier": [{"system": FNR_SYSTEM, "value": fnr}],
                    "name": [{"family": "Ørnø-Sámi", "given": ["Ánte Æsa"]}],
                    "birthDate": "1990-05-17",
                },
                "request": {"method": "POST", "url": "Patient"},
            },
            *(
                {"fullUrl": url, "resource": res, "request": {"method": "POST", "url": rt}}
                for url, res in own
                for rt in (res["resourceType"],)
            ),
            {
                "fullUrl": f"urn:uuid:{uuid.uuid4()}",
                "resource": plan,
                "request": {"method": "POST", "url": "CarePlan"},
            },
        ],
    }


def test_an_outsider_learns_that_a_person_has_a_plan(world: SecureWorld) -> None:
    pt = world.client.get(f"/{PT}", headers=world.as_("owner")).json()
    known = next(i["value"] for i in pt["identifier"] if i["system"] == FNR_SYSTEM)
    unknown = synthetic_fnr(dt.date(1990, 5, 17), random.Random(5151))
    headers = {**world.as_("outsider"), **JSON}
    fresh = world.client.post("/", json=_new_plan(world, unknown), headers=headers)
    probe = world.client.post("/", json=_new_plan(world, known), headers=headers)
    assert fresh.status_code in (200, 201), fresh.text
    assert probe.status_code == fresh.status_code, probe.text
