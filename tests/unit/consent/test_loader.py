"""The plan context is loaded in bulk: three searches by person, two bulk party fetches, one
search for the roles of practitioners named without one (and a fetch of their organisations),
the goals of a judged CarePlan only — and it holds everything the decision reads."""

from __future__ import annotations

from collections import Counter
from typing import Any

from ipfhir.adapter.consent.loader import load_context
from ipfhir.adapter.ports import SearchQuery, SearchResult
from tests.unit.consent.conftest import HPR, ORGNR, World

PT = "Patient/ip1-pt"


class Counting:
    """The fake store, counting what the loader asks of it."""

    def __init__(self, inner: Any, bulk: bool) -> None:
        self.inner, self.calls = inner, Counter[str]()
        if bulk:
            self.fetch = self._fetch

    def search(self, query: SearchQuery) -> SearchResult:
        names = ",".join(p.name for p in query.params)
        self.calls[f"search {query.resource_type}?{names}"] += 1
        return self.inner.search(query)  # type: ignore[no-any-return]

    def read(self, resource_type: str, resource_id: str) -> dict[str, Any]:
        self.calls["read"] += 1
        return self.inner.read(resource_type, resource_id)  # type: ignore[no-any-return]

    def _fetch(self, refs: Any) -> list[dict[str, Any]]:
        self.calls["fetch"] += 1
        found = (self.inner.current.get(ref) for ref in refs)
        return [dict(r) for r in found if r]


def test_bulk_store_two_fetches_three_searches(world: World) -> None:
    repo = Counting(world.repo, bulk=True)
    ctx = load_context(repo, PT)  # type: ignore[arg-type]
    assert repo.calls == Counter(
        {
            "search CarePlan?subject": 1,
            "search CareTeam?subject": 1,
            "search Consent?patient": 1,
            "search PractitionerRole?practitioner": 1,  # the teacher, named by the Consent
            "fetch": 3,
        }
    )
    assert ctx.owner_orgnrs() == {ORGNR["kommune"]}
    assert ctx.coordinators("2026-06-01") == {(HPR["koord"], ORGNR["kommune"])}
    assert ctx.coordinator_hprs("2026-06-01") == {HPR["koord"]}
    assert ctx.get("PractitionerRole/ip1-laerer-role") is not None
    assert ctx.get("Organization/ip1-skole") is not None
    assert ctx.get(PT) is not None and ctx.of_type("Goal") == []
    assert {r.split("/")[0] for r in ctx.resources} == {
        "Patient",
        "CarePlan",
        "CareTeam",
        "Consent",
        "Organization",
        "Practitioner",
        "PractitionerRole",
    }


def test_store_without_fetch_one_id_search_per_type_and_level(world: World) -> None:
    repo = Counting(world.repo, bulk=False)
    plan = world.repo.read("CarePlan", "ip1")
    ctx = load_context(repo, PT, plan)  # type: ignore[arg-type]
    id_searches = {k: n for k, n in repo.calls.items() if k.endswith("?_id")}
    assert max(id_searches.values()) <= 2 and "read" not in repo.calls  # one per type and level
    assert "search Goal?_id" in id_searches  # the judged plan's goals, in the same round
    assert {g["id"] for g in ctx.of_type("Goal")} == {"ip1-g1", "ip1-g2", "ip1-g3"}
