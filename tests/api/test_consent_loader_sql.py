"""The consent loader's plain-SQL path (``SqlRepository.reader``: reference index + fetch by id on
one connection) finds exactly what the searches find, in the same order, on SQLite and
PostgreSQL — including after a Consent is moved to another person and a party is deleted."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

from sqlalchemy import Engine

from ipfhir.adapter.bootstrap import Wiring, build_wiring
from ipfhir.adapter.consent.loader import ContextReader, load_context
from ipfhir.adapter.ports import SearchQuery, SearchResult
from ipfhir.adapter.settings import Settings
from tests.unit.consent.builders import build
from tests.unit.consent.conftest import standard_spec


def _accept_all(resource: dict[str, Any], profile: str | None = None) -> dict[str, Any]:
    return {"resourceType": "OperationOutcome", "issue": []}


class SearchesOnly:
    """The store without its ``reader``: the loader falls back to searches and ``fetch``."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner

    def search(self, query: SearchQuery) -> SearchResult:
        return self.inner.search(query)  # type: ignore[no-any-return]

    def fetch(self, refs: Any) -> list[dict[str, Any]]:
        return self.inner.fetch(refs)  # type: ignore[no-any-return]


def _world(engine: Engine, tmp_path: Path, plans: int = 3) -> Wiring:
    wiring = build_wiring(
        Settings(data_dir=tmp_path), engine=engine, validate=_accept_all, run_migrations=False
    )
    for n in range(plans):
        for res in build(replace(standard_spec(), plan=f"ip{n}", seed=n)):
            wiring.repository.update(res["resourceType"], res["id"], res)
    return wiring


def _same(wiring: Wiring, patient: str, plan: dict[str, Any] | None = None) -> list[str]:
    repo = wiring.repository
    assert isinstance(repo, ContextReader)
    fast = load_context(repo, patient, plan)
    slow = load_context(SearchesOnly(repo), patient, plan)  # type: ignore[arg-type]
    assert list(fast.resources.items()) == list(slow.resources.items())
    return list(fast.resources)


def test_reader_finds_what_the_searches_find(engine: Engine, tmp_path: Path) -> None:
    wiring = _world(engine, tmp_path)
    for n in range(3):
        refs = _same(wiring, f"Patient/ip{n}-pt")
        kinds = {r.split("/")[0] for r in refs}
        assert {"Patient", "CarePlan", "CareTeam", "Consent", "PractitionerRole"} <= kinds
        assert all(not r.startswith("Goal/") for r in refs)
        plan = wiring.repository.read("CarePlan", f"ip{n}")
        with_goals = _same(wiring, f"Patient/ip{n}-pt", plan)
        assert any(r.startswith("Goal/") for r in with_goals)
    assert _same(wiring, "Patient/nobody") == []


def test_reader_follows_moves_and_deletions(engine: Engine, tmp_path: Path) -> None:
    wiring = _world(engine, tmp_path, plans=2)
    repo = wiring.repository
    before = _same(wiring, "Patient/ip0-pt")
    consent_ref = next(r for r in before if r.startswith("Consent/"))
    consent = repo.read(*consent_ref.split("/"))
    repo.update("Consent", consent["id"], {**consent, "patient": {"reference": "Patient/ip1-pt"}})
    after = _same(wiring, "Patient/ip0-pt")
    assert consent_ref not in after and consent_ref in _same(wiring, "Patient/ip1-pt")
    role = next(r for r in before if r.startswith("PractitionerRole/"))
    repo.delete(*role.split("/"))  # a deleted party is left out, as the searches leave it out
    assert role not in _same(wiring, "Patient/ip0-pt")


def test_fetch_keeps_input_order_and_skips_missing(engine: Engine, tmp_path: Path) -> None:
    wiring = _world(engine, tmp_path, plans=2)
    refs = [("CarePlan", "ip1"), ("Patient", "absent"), ("Patient", "ip0-pt"), ("CarePlan", "ip0")]
    got = [(r["resourceType"], r["id"]) for r in wiring.repository.fetch(refs)]
    assert got == [("CarePlan", "ip1"), ("Patient", "ip0-pt"), ("CarePlan", "ip0")]
