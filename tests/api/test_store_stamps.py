"""Change stamps (SQLite and PostgreSQL): every write path bumps the stamps of the person whose
cached consent context it touches (a Patient, CarePlan, CareTeam, Consent or RelatedPerson; and
``"*"`` for the directory) in its own transaction; a rollback bumps nothing; another process sees
the bumps. A write of a type no cached context holds (Goal, Task, Observation) bumps nothing."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine

from ipfhir.adapter.errors import Conflict
from ipfhir.adapter.fhir.validation import minimal_structural_check
from ipfhir.adapter.ports import BulkReader, ChangeStamps
from ipfhir.adapter.store import SqlRepository
from ipfhir.adapter.store.stamps import ties
from tests.api.conftest import careplan, patient

ROOT = Path(__file__).resolve().parents[2]
Resource = dict[str, Any]


@pytest.fixture
def repo(engine: Engine) -> SqlRepository:
    return SqlRepository(engine, minimal_structural_check)


def _goal(pid: str, text: str = "Å gå tur til Čáhcesuolu") -> Resource:
    return {
        "resourceType": "Goal",
        "lifecycleStatus": "active",
        "description": {"text": text},
        "subject": {"reference": f"Patient/{pid}"},
    }


def _team(pid: str, name: str = "Teamet rundt Áilu i Kárášjohka") -> Resource:
    """A CareTeam: a type a cached consent context holds (its write bumps the person)."""
    return {
        "resourceType": "CareTeam",
        "status": "active",
        "name": name,
        "subject": {"reference": f"Patient/{pid}"},
    }


def _org(name: str = "Kárášjoga gielda") -> Resource:
    return {"resourceType": "Organization", "name": name}


def _changed(before: dict[str, int], after: dict[str, int]) -> set[str]:
    return {k for k in after if after[k] != before.get(k)}


class _Watch:
    """Stamps of a few keys before and after a block."""

    def __init__(self, repo: SqlRepository, *keys: str) -> None:
        self.repo, self.keys = repo, list(keys)

    def __enter__(self) -> _Watch:
        self.before = self.repo.stamps(self.keys)
        return self

    def __exit__(self, *_: Any) -> None:
        self.after = self.repo.stamps(self.keys)
        self.changed = _changed(self.before, self.after)


def test_store_offers_the_optional_ports(repo: SqlRepository) -> None:
    assert isinstance(repo, ChangeStamps)
    assert isinstance(repo, BulkReader)


def test_unknown_keys_read_zero_and_the_directory_key_is_always_there(
    repo: SqlRepository,
) -> None:
    got = repo.stamps(["Patient/ingen-sånn", "Patient/ingen-sånn"])
    assert got == {"*": 0, "Patient/ingen-sånn": 0}


def test_create_bumps_the_patient_and_the_subject(repo: SqlRepository) -> None:
    a = repo.create(patient())["id"]
    b = repo.create(patient(family="Ánde-Ødegård"))["id"]
    with _Watch(repo, f"Patient/{a}", f"Patient/{b}") as w:
        repo.create(careplan(a))
    assert w.changed == {f"Patient/{a}"}
    with _Watch(repo, f"Patient/{a}", f"Patient/{b}") as w:
        created = repo.create(patient(family="Nytt-Åsen"))["id"]
    assert repo.stamps([f"Patient/{created}"])[f"Patient/{created}"] != 0
    assert w.changed == set()


def test_update_bumps_the_person_before_and_after(repo: SqlRepository) -> None:
    a = repo.create(patient())["id"]
    b = repo.create(patient(family="Østgård-Sárá"))["id"]
    team = repo.create(_team(a))
    with _Watch(repo, f"Patient/{a}", f"Patient/{b}") as w:
        repo.update("CareTeam", team["id"], {**_team(b), "id": team["id"]})
    assert w.changed == {f"Patient/{a}", f"Patient/{b}"}
    with _Watch(repo, f"Patient/{a}", f"Patient/{b}") as w:
        repo.update("Patient", b, {**patient(family="Ære-Máret"), "id": b})
    assert w.changed == {f"Patient/{b}"}


def test_update_creating_with_a_client_id_bumps_the_person(repo: SqlRepository) -> None:
    a = repo.create(patient())["id"]
    with _Watch(repo, f"Patient/{a}") as w:
        outcome = repo.update("CareTeam", "team-avvir-1", {**_team(a), "id": "team-avvir-1"})
    assert outcome.created
    assert w.changed == {f"Patient/{a}"}


def test_delete_bumps_the_person_of_the_deleted_resource(repo: SqlRepository) -> None:
    a = repo.create(patient())["id"]
    rel = {
        "resourceType": "RelatedPerson",
        "patient": {"reference": f"Patient/{a}"},
        "name": [{"family": "Bråthen", "given": ["Ásllat"]}],
    }
    rid = repo.create(rel)["id"]
    with _Watch(repo, f"Patient/{a}") as w:
        repo.delete("RelatedPerson", rid)
    assert w.changed == {f"Patient/{a}"}
    with _Watch(repo, f"Patient/{a}") as w:
        repo.delete("RelatedPerson", rid)  # already deleted: no write, no bump
    assert w.changed == set()


def test_writes_no_cached_context_holds_bump_nothing(repo: SqlRepository) -> None:
    """Goals, Tasks, Observations of a person: what a cached consent context holds is unchanged
    by them, so they leave every cached context valid (many clients writing Goals for one
    person do not make each other reload the person's consent context)."""
    a = repo.create(patient())["id"]
    b = repo.create(patient(family="Ođđasæter"))["id"]
    task = {"resourceType": "Task", "status": "requested", "intent": "order"}
    obs = {"resourceType": "Observation", "status": "final", "code": {"text": "Søvn"}}
    with _Watch(repo, f"Patient/{a}", f"Patient/{b}") as w:
        goal = repo.create(_goal(a))
        repo.update("Goal", goal["id"], {**_goal(b), "id": goal["id"]})
        done = repo.create(task | {"for": {"reference": f"Patient/{a}"}})
        repo.create(obs | {"subject": {"reference": f"Patient/{a}"}})
        repo.transaction(_tx([_post(_goal(a)), _post(_goal(b))], "batch"))
        repo.delete("Task", done["id"])
    assert w.changed == set()


def test_directory_writes_bump_the_global_key_only(repo: SqlRepository) -> None:
    a = repo.create(patient())["id"]
    with _Watch(repo, f"Patient/{a}") as w:
        org = repo.create(_org())
    assert w.changed == {"*"}
    with _Watch(repo, f"Patient/{a}") as w:
        repo.update("Organization", org["id"], {**_org("Unjárgga gielda"), "id": org["id"]})
    assert w.changed == {"*"}
    with _Watch(repo, f"Patient/{a}") as w:
        repo.delete("Organization", org["id"])
    assert w.changed == {"*"}


def test_audit_events_bump_nothing(engine: Engine) -> None:
    system = SqlRepository(engine, minimal_structural_check, system=True)
    a = system.create(patient())["id"]
    event = {
        "resourceType": "AuditEvent",
        "type": {"code": "rest"},
        "recorded": "2024-06-11T10:00:00Z",
        "agent": [{"requestor": True, "who": {"display": "Tromsø kommune"}}],
        "source": {"observer": {"display": "ipfhir"}},
        "entity": [{"what": {"reference": f"Patient/{a}"}}],
    }
    with _Watch(system, f"Patient/{a}") as w:
        system.create(event)
    assert w.changed == set()


def _tx(entries: list[Resource], btype: str = "transaction") -> Resource:
    return {"resourceType": "Bundle", "type": btype, "entry": entries}


def _post(resource: Resource, full_url: str | None = None) -> Resource:
    entry: Resource = {"resource": resource, "request": {"method": "POST", "url": "x"}}
    entry["request"]["url"] = resource["resourceType"]
    if full_url:
        entry["fullUrl"] = full_url
    return entry


def test_transaction_bumps_each_person_once_and_the_directory(repo: SqlRepository) -> None:
    a = repo.create(patient())["id"]
    b = repo.create(patient(family="Ørjasæter"))["id"]
    team = repo.create(_team(b))
    put = {"resource": {**_team(b, "Øyvind og Ánde"), "id": team["id"]}}
    put["request"] = {"method": "PUT", "url": f"CareTeam/{team['id']}"}
    bundle = _tx([_post(careplan(a)), _post(_team(a)), _post(_goal(a)), _post(_org()), put])
    with _Watch(repo, f"Patient/{a}", f"Patient/{b}") as w:
        repo.transaction(bundle)
    assert w.changed == {"*", f"Patient/{a}", f"Patient/{b}"}
    assert w.after[f"Patient/{a}"] == w.before[f"Patient/{a}"] + 1  # two entries, one bump


def test_transaction_creating_a_person_bumps_the_new_person(repo: SqlRepository) -> None:
    urn = "urn:uuid:7d4a0c6e-9e3f-4a71-bc2d-3e4f5a6b7c8d"
    out = repo.transaction(
        _tx([_post(careplan("x") | {"subject": {"reference": urn}}), _post(patient(), urn)])
    )
    pid = out["entry"][1]["resource"]["id"]
    assert repo.stamps([f"Patient/{pid}"])[f"Patient/{pid}"] != 0


def test_batch_entries_bump_their_persons(repo: SqlRepository) -> None:
    a = repo.create(patient())["id"]
    b = repo.create(patient(family="Æsøy"))["id"]
    with _Watch(repo, f"Patient/{a}", f"Patient/{b}") as w:
        repo.transaction(_tx([_post(_team(a)), _post(_team(b))], "batch"))
    assert w.changed == {f"Patient/{a}", f"Patient/{b}"}


def test_rolled_back_transaction_bumps_nothing(repo: SqlRepository) -> None:
    a = repo.create(patient())["id"]
    b = repo.create(patient(family="Ĺåvvo"))["id"]
    repo.create(careplan(a))
    # the second active plan of ``a`` breaks the rule after the CareTeam of ``b`` and the
    # Organization were written in the same transaction: everything rolls back
    bundle = _tx([_post(_team(b)), _post(_org()), _post(careplan(a))])
    with _Watch(repo, f"Patient/{a}", f"Patient/{b}") as w, pytest.raises(Conflict):
        repo.transaction(bundle)
    assert w.changed == set()


def test_failed_single_write_bumps_nothing(repo: SqlRepository) -> None:
    a = repo.create(patient())["id"]
    repo.create(careplan(a))
    with _Watch(repo, f"Patient/{a}") as w, pytest.raises(Conflict):
        repo.create(careplan(a))
    assert w.changed == set()


def test_ties_of_references() -> None:
    assert ties("CarePlan", "p", {"subject": {"reference": "https://x.no/fhir/Patient/7"}}) == {
        "Patient/7"
    }
    assert ties("CareTeam", "t", {"subject": {"reference": "Patient/7/_history/2"}}) == {
        "Patient/7"
    }
    assert ties("RelatedPerson", "r", {"patient": {"reference": "Patient/8"}}) == {"Patient/8"}
    # held by no cached context: no bump
    assert ties("Goal", "g", {"subject": {"reference": "Patient/7/_history/2"}}) == set()
    assert ties("Coverage", "c", {"beneficiary": {"reference": "Patient/8"}}) == set()
    assert ties("Consent", "c", {"patient": {"reference": "Group/1"}}) == set()
    assert ties("Location", "l", {}) == {"*"}


_CHILD = """
import sys
from ipfhir.adapter.fhir.validation import minimal_structural_check
from ipfhir.adapter.store import SqlRepository, make_engine
url, schema, pid = sys.argv[1], sys.argv[2] or None, sys.argv[3]
repo = SqlRepository(make_engine(url, schema=schema), minimal_structural_check)
print(repo.stamps([f"Patient/{pid}"])[f"Patient/{pid}"])
repo.create({"resourceType": "CareTeam", "status": "active", "name": "Å lære å sykle",
             "subject": {"reference": f"Patient/{pid}"}})
"""


def test_another_process_sees_the_bumps_and_is_seen(repo: SqlRepository, engine: Engine) -> None:
    a = repo.create(patient())["id"]
    mine = repo.stamps([f"Patient/{a}"])[f"Patient/{a}"]
    schema = ""
    if engine.dialect.name == "postgresql":
        with engine.connect() as conn:
            schema = str(conn.exec_driver_sql("SELECT current_schema()").scalar_one())
    url = engine.url.render_as_string(hide_password=False)
    done = subprocess.run(
        [sys.executable, "-c", _CHILD, url, schema, a],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert int(done.stdout.split()[0]) == mine  # the child sees the parent's bump
    assert repo.stamps([f"Patient/{a}"])[f"Patient/{a}"] == mine + 1  # and the parent the child's
