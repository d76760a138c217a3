"""Patient ids say nothing of the person (issue 9, class 8): the mapping made the Patient id a
uuid5 of the fødselsnummer, so anyone could compute the id of any person's record and probe
for it. The id is now scoped to the plan like every other id of it; the round trip stays
lossless (the plan carries no Patient id; FHIR → plan → FHIR gives the same Bundle)."""

from __future__ import annotations

import copy
import datetime as dt
import json
import random
import uuid
from pathlib import Path
from typing import Any

from ipfhir.mappings.fhir_common import IDENTIFIER_SYSTEMS
from ipfhir.mappings.from_fhir import bundle_to_plan
from ipfhir.mappings.identifiers import synthetic_fnr
from ipfhir.mappings.rules import load_plan
from ipfhir.mappings.to_fhir import plan_to_bundle

PLANS = Path(__file__).resolve().parents[2] / "fixtures" / "plans"
_OLD_NAMESPACE = uuid.UUID("6f1c3a52-8c55-5f0e-9a51-7b3c1f0a4e21")  # the former derivation


def _patient(bundle: dict[str, Any]) -> dict[str, Any]:
    return next(
        e["resource"] for e in bundle["entry"] if e["resource"]["resourceType"] == "Patient"
    )


def test_a_patient_id_does_not_derive_from_the_national_identity() -> None:
    rng = random.Random(913)
    for path in sorted(PLANS.glob("*.plan.json")):
        data = json.loads(path.read_text(encoding="utf-8"))
        plan = load_plan(data)
        bundle = plan_to_bundle(plan)
        patient = _patient(bundle)
        ident = plan.person.identifier
        old = uuid.uuid5(_OLD_NAMESPACE, f"{IDENTIFIER_SYSTEMS[ident.system]}|{ident.value}")
        assert patient["id"] != str(old), path.name
        assert ident.value not in patient["id"] and ident.value not in json.dumps(
            [e.get("fullUrl") for e in bundle["entry"]]
        )
        other = copy.deepcopy(data)  # another person with the same birth date, same plan
        person = other["person"]
        born = dt.date.fromisoformat(person["birth_date"])
        dnr = person["identifier"]["system"] == "dnr"
        while person["identifier"]["value"] == data["person"]["identifier"]["value"]:
            person["identifier"]["value"] = synthetic_fnr(born, rng, d_number=dnr)
        assert _patient(plan_to_bundle(load_plan(other)))["id"] == patient["id"], path.name
        again = plan_to_bundle(bundle_to_plan(bundle))  # lossless round trip
        assert again == bundle, path.name
