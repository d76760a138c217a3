"""Pages cut from what the caller may see (adapter.consent.paging), over the in-memory store:
many hidden rows between the visible ones never shorten a page or leave a ``next`` link
without a visible row behind it."""

from __future__ import annotations

from typing import Any

from ipfhir.adapter.consent.criteria import coarse, negative
from ipfhir.adapter.ports import SearchParam, SearchQuery
from tests.unit.consent.builders import TOPIC
from tests.unit.consent.conftest import World

PT = "Patient/ip1-pt"


def _fill(world: World, rows: int) -> None:
    """``rows`` Goals of which every ninth is visible to a recipient (the rest «rus»)."""
    for n in range(rows):
        goal: dict[str, Any] = {
            "resourceType": "Goal",
            "id": f"ip1-x{n:03d}",
            "lifecycleStatus": "active",
            "description": {"text": f"Mål {n}: få økonomien på plass"},
            "subject": {"reference": PT},
        }
        if n % 9:
            goal["meta"] = {"security": [{"system": TOPIC, "code": "rus"}]}
        world.repo.put(goal)


def _pages(repo: Any, count: int) -> list[list[str]]:
    query = SearchQuery("Goal", (SearchParam("subject", (PT,)),), count=count)
    pages: list[list[str]] = []
    while True:
        found = repo.search(query)
        pages.append([r["id"] for r in found.matches])
        if found.next_cursor is None:
            return pages
        query = SearchQuery(query.resource_type, query.params, count, cursor=found.next_cursor)


def test_hidden_rows_never_shorten_a_page(world: World) -> None:
    _fill(world, 67)
    owner = [i for page in _pages(world.as_owner(), 500) for i in page]
    recipient = world.as_org("sykehus", "fysio")
    everything = [i for page in _pages(recipient, 500) for i in page]
    assert len(everything) < len(owner)
    for count in (1, 2, 3, 4, 50):
        pages = _pages(recipient, count)
        assert [i for page in pages for i in page] == everything
        assert all(len(page) == count for page in pages[:-1])
        assert 1 <= len(pages[-1]) <= count  # no trailing empty page behind a next link
    total = recipient.search(
        SearchQuery("Goal", (SearchParam("subject", (PT,)),), 0, summary_count=True)
    )
    assert total.total == len(everything)


def test_an_outsider_gets_one_empty_page(world: World) -> None:
    _fill(world, 30)
    assert _pages(world.as_org("annen"), 1) == [[]]


def test_only_positive_criteria_reach_the_store() -> None:
    params = (
        SearchParam("status", ("active",), "not"),
        SearchParam("goal", ("true",), "missing"),
        SearchParam("goal", ("false",), "missing"),
        SearchParam("status", ("active",)),
    )
    assert [negative(p) for p in params] == [True, True, False, False]
    assert coarse(params) == params[2:]
