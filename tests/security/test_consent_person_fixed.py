"""A Consent's person never changes (IP-5114): the owner cannot move the person's sharing
consent to another stored person — that person would hold a consent they never gave, and the
first person's recipients would lose what it gave them without being told."""

from __future__ import annotations

import copy
from pathlib import Path

import pytest
from sqlalchemy import Engine

from ipfhir.adapter.bootstrap import Wiring, build_wiring, secure_factory
from ipfhir.adapter.directory import SqlDirectory
from ipfhir.adapter.settings import Settings
from ipfhir.mappings.errors import PlanRuleViolation
from tests.api.notify_world import hospital_resources, load_directory
from tests.api.test_revocation_sender import BASES, OWNER


@pytest.fixture
def hospital(engine: Engine, tmp_path: Path) -> Wiring:
    wiring = build_wiring(Settings(data_dir=tmp_path, dev_mode=True), engine=engine)
    for res in hospital_resources():
        wiring.repository.update(res["resourceType"], res["id"], res)
    load_directory(SqlDirectory(engine), BASES)
    return wiring


def test_a_consent_moved_to_another_person_is_refused_and_stays(hospital: Wiring) -> None:
    other = {
        "resourceType": "Patient",
        "id": "ip1-annen",
        "name": [{"family": "Åsen", "given": ["Bjørg"]}],
        "birthDate": "1980-02-03",
    }
    hospital.repository.update("Patient", "ip1-annen", other)
    repo = secure_factory(hospital).repository_for(OWNER)
    stored = repo.read("Consent", "ip1-sharing")
    moved = copy.deepcopy(stored)
    moved["patient"] = {"reference": "Patient/ip1-annen"}
    moved["performer"][0]["reference"] = "Patient/ip1-annen"
    with pytest.raises(PlanRuleViolation) as refused:
        repo.update("Consent", "ip1-sharing", moved)
    [issue] = refused.value.issues
    assert issue.message_id == "IP-5114" and issue.expression == ("Consent.patient",)
    assert repo.read("Consent", "ip1-sharing")["patient"] == stored["patient"]


def test_a_consent_updated_for_the_same_person_is_not_refused(hospital: Wiring) -> None:
    repo = secure_factory(hospital).repository_for(OWNER)
    consent = copy.deepcopy(repo.read("Consent", "ip1-sharing"))
    consent["dateTime"] = "2026-02-01"
    repo.update("Consent", "ip1-sharing", consent)
    assert repo.read("Consent", "ip1-sharing")["dateTime"].startswith("2026-02-01")
