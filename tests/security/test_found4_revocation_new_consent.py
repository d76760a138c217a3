"""A narrowing made by *creating* a Consent tells nobody (:class:`adapter.services.revoke
.RevocationNotices` skips every ``create``, and the recipients ledger is read per Consent id).

The policy combines every sharing Consent of the person in force (``rules_for``): a second
Consent whose nested deny applies to a recipient takes away what the first gave it. The
person (through the plan's owner) records «I no longer want the coordinating unit to see my
plan» as a new Consent instead of editing the old one: the coordinating unit that was notified
under the first Consent is never sent an ``ip-revocation``, keeps the notification, and may
pass it on."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine

from ipfhir.adapter.bootstrap import Wiring, build_wiring, secure_factory
from ipfhir.adapter.directory import SqlDirectory
from ipfhir.adapter.errors import NotFound
from ipfhir.adapter.ports import Actor
from ipfhir.adapter.settings import Settings
from tests.api.notify_world import KE, hospital_resources, load_directory
from tests.api.test_revocation_sender import BASES, OWNER, _notified, _revocations


@pytest.fixture
def hospital(engine: Engine, tmp_path: Path) -> Wiring:
    wiring = build_wiring(Settings(data_dir=tmp_path, dev_mode=True), engine=engine)
    for res in hospital_resources():
        wiring.repository.update(res["resourceType"], res["id"], res)
    load_directory(SqlDirectory(engine), BASES)
    return wiring


def _ke_sees_plan(wiring: Wiring) -> bool:
    repo = secure_factory(wiring).repository_for(
        Actor(organisation=KE, scopes=("system/*.rs",), purpose="COC")
    )
    try:
        return any(r.get("resourceType") == "CarePlan" for r in repo.everything("ip1"))
    except NotFound:
        return False


def test_a_second_consent_refusing_the_coordinating_unit_sends_no_revocation(
    hospital: Wiring,
) -> None:
    """Correct: the KE, notified under the person's consent, gets an ``ip-revocation`` when a
    Consent change of any kind (update, delete, or a new Consent) takes what it had away;
    today: no notice is queued."""
    _notified(hospital)
    assert _ke_sees_plan(hospital)
    repo = secure_factory(hospital).repository_for(OWNER)
    first = repo.read("Consent", "ip1-sharing")
    second: dict[str, Any] = {
        k: copy.deepcopy(v) for k, v in first.items() if k not in ("id", "meta")
    }
    ke_actor = next(
        a for a in first["provision"]["actor"] if a["reference"]["reference"].endswith("ip1-ke")
    )
    second["provision"] = {
        "type": "permit",
        "period": first["provision"]["period"],
        "actor": [ke_actor],
        "provision": [{"type": "deny", "actor": [ke_actor]}],  # nothing at all to the KE
    }
    repo.create(second)
    assert not _ke_sees_plan(hospital)  # the KE has lost the plan
    assert [m.destination for m in _revocations(hospital)] == [BASES[KE] + "/$process-message"]


def test_a_consent_moved_to_another_person_sends_no_revocation(hospital: Wiring) -> None:
    """The owner updates the person's sharing Consent, changing only ``Consent.patient`` (and
    the performer) to another stored person. The first person's recipients lose everything
    (no consent of theirs is left) yet ``narrowing`` compares provisions only, so no
    ``ip-revocation`` goes to the KE notified under it; and the other person now has a
    sharing consent they never gave. Correct: a Consent's person never changes (refused 4xx,
    as a plan's subject), or at the very least the change is a withdrawal for the first
    person and the KE is told."""
    from ipfhir.mappings.errors import IpError

    _notified(hospital)
    assert _ke_sees_plan(hospital)
    other = {
        "resourceType": "Patient",
        "id": "ip1-annen",
        "name": [{"family": "Åsen", "given": ["Bjørg"]}],
        "birthDate": "1980-02-03",
    }
    hospital.repository.update("Patient", "ip1-annen", other)
    repo = secure_factory(hospital).repository_for(OWNER)
    consent = copy.deepcopy(repo.read("Consent", "ip1-sharing"))
    consent["patient"] = {"reference": "Patient/ip1-annen"}
    consent["performer"][0]["reference"] = "Patient/ip1-annen"
    try:
        repo.update("Consent", "ip1-sharing", consent)
    except IpError:  # any 4xx refusal
        return  # refused: the consent stays the first person's
    assert not _ke_sees_plan(hospital)
    assert [m.destination for m in _revocations(hospital)] == [BASES[KE] + "/$process-message"]
