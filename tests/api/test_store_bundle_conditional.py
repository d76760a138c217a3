"""``ifNoneExist`` inside transaction and batch Bundles under concurrency (SQLite and
PostgreSQL): racing Bundles with the same condition create the resource once, and every
Bundle's references point at that one resource."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from sqlalchemy import Engine

from ipfhir.adapter.errors import BadRequest
from ipfhir.adapter.fhir.validation import minimal_structural_check
from ipfhir.adapter.ports import SearchParam, SearchQuery
from ipfhir.adapter.store import SqlRepository
from tests.api.conftest import FNR_SYSTEM, patient

RACERS = 5
Resource = dict[str, Any]


def _slow_validator(resource: Resource, profile: str | None = None) -> Resource:
    """Every racer has searched and found nothing before the first one writes."""
    time.sleep(0.05)
    return minimal_structural_check(resource, profile)


def _bundle(fnr: str, btype: str = "transaction") -> Resource:
    urn = "urn:uuid:8e5b1d7f-af40-4b82-8d3e-4f5a6b7c8d9e"
    goal = {
        "resourceType": "Goal",
        "lifecycleStatus": "active",
        "description": {"text": "Å bo trygt i Deatnu"},
        "subject": {"reference": urn},
    }
    entries = [
        {
            "fullUrl": urn,
            "resource": patient(fnr),
            "request": {
                "method": "POST",
                "url": "Patient",
                "ifNoneExist": f"identifier={FNR_SYSTEM}|{fnr}",
            },
        },
        {"resource": goal, "request": {"method": "POST", "url": "Goal"}},
    ]
    return {"resourceType": "Bundle", "type": btype, "entry": entries}


def _race(repo: SqlRepository, bundle: Resource) -> list[Resource]:
    start = threading.Barrier(RACERS)

    def one(_: int) -> Resource:
        start.wait()
        return repo.transaction(bundle)

    with ThreadPoolExecutor(RACERS) as pool:
        return list(pool.map(one, range(RACERS)))


def _patients(repo: SqlRepository, fnr: str) -> int:
    crit = SearchQuery("Patient", (SearchParam("identifier", (f"{FNR_SYSTEM}|{fnr}",)),))
    return int(repo.search(crit).total or 0)


@pytest.mark.parametrize("btype", ["transaction", "batch"])
def test_racing_bundles_create_the_person_once(engine: Engine, btype: str) -> None:
    repo = SqlRepository(engine, _slow_validator)
    fnr = patient()["identifier"][0]["value"]
    outs = _race(repo, _bundle(fnr, btype))
    statuses = [o["entry"][0]["response"]["status"] for o in outs]
    assert sorted(statuses) == ["200 OK"] * (RACERS - 1) + ["201 Created"]
    assert _patients(repo, fnr) == 1
    pid = outs[0]["entry"][0]["resource"]["id"]
    if btype == "transaction":  # references are rewritten within a transaction only
        subjects = {o["entry"][1]["resource"]["subject"]["reference"] for o in outs}
        assert subjects == {f"Patient/{pid}"}


def test_two_entries_with_one_condition_are_refused(engine: Engine) -> None:
    repo = SqlRepository(engine, minimal_structural_check)
    fnr = patient()["identifier"][0]["value"]
    bundle = _bundle(fnr)
    bundle["entry"][1] = {**bundle["entry"][0], "fullUrl": "urn:uuid:1"}
    with pytest.raises(BadRequest) as caught:
        repo.transaction(bundle)
    assert [i.message_id for i in caught.value.issues][:2] == ["IP-4112", "IP-4111"]
    assert _patients(repo, fnr) == 0
