"""The plan-context cache (adapter.consent.cache): handed out again only while the store's change
stamps are unchanged, so a change written by another process (a second Enforcement on the same
store) takes effect on the next request; bounded; never reused after a write; never skips the
audit. The in-memory store keeps stamps as adapter.ports.ChangeStamps describes them."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest

from ipfhir.adapter.audit import InMemoryAuditSink, InMemoryLedger
from ipfhir.adapter.consent.cache import ContextCache, cacheable
from ipfhir.adapter.consent.context import PlanContext
from ipfhir.adapter.consent.enforce import ConsentRepositoryFactory
from ipfhir.adapter.consent.operation import Enforcement, Operation
from ipfhir.adapter.errors import NotFound
from ipfhir.adapter.ports import Actor, ChangeStamps, SearchQuery
from ipfhir.mappings.identifiers import HPR_SYSTEM
from tests.unit.consent.builders import Sharing, build, sharing_consent
from tests.unit.consent.conftest import HPR, ORGNR, World, standard_spec
from tests.unit.consent.fakes import FixedClock, MemoryRepository

PT = "Patient/ip1-pt"
FYSIO = Actor(organisation=ORGNR["sykehus"], practitioner=HPR["fysio"], purpose="COC")
TEACHER = Actor(organisation=ORGNR["skole"], practitioner=HPR["laerer"], purpose="COC")
OWNER = Actor(organisation=ORGNR["kommune"], practitioner=HPR["koord"], purpose="COC")


class Process:
    """One server process: its own Enforcement (and cache) over the shared store."""

    def __init__(self, store: Any, size: int = 16) -> None:
        self.audit, self.cache = InMemoryAuditSink(), ContextCache(size)
        enforcement = Enforcement(
            store, self.audit, InMemoryLedger(), FixedClock(), False, self.cache
        )
        self.factory = ConsentRepositoryFactory(enforcement)

    def as_(self, actor: Actor) -> Any:
        return self.factory.repository_for(actor)


class NoStamps:
    """The in-memory store without ``stamps`` (a store that keeps none)."""

    def __init__(self, inner: MemoryRepository) -> None:
        self.inner = inner

    def __getattr__(self, name: str) -> Any:
        if name == "stamps":
            raise AttributeError(name)
        return getattr(self.inner, name)


def _store(*plans: str) -> MemoryRepository:
    store = MemoryRepository()
    for plan in plans or ("ip1",):
        for res in build(replace(standard_spec(), plan=plan)):
            store.put(res)
    return store


def _revoke(writer: Process, store: MemoryRepository) -> None:
    spec = standard_spec()
    revoked = sharing_consent(spec, Sharing(**{**vars(spec.sharing), "status": "inactive"}))
    writer.as_(OWNER).update("Consent", "ip1-sharing", revoked)


def test_a_cache_hit_reads_only_the_stamps_and_still_audits() -> None:
    store = _store()
    one = Process(store)
    hospital = one.as_(FYSIO)
    hospital.read("CarePlan", "ip1")
    searches_before = _searches(store)
    reads_before = store.stamp_reads
    assert hospital.read("CarePlan", "ip1")["id"] == "ip1"
    # the context came from the cache: no search by the person, only the Goals the plan names
    # fetched by id (a Goal write bumps no stamp, so they are never cached)
    assert _searched(store)[searches_before:] == [("Goal", "_id")]
    assert store.stamp_reads == reads_before + 1  # checked with one stamps query
    assert one.cache.hits >= 1 and len(one.cache) == 1
    shown = [e for e in one.audit.events if e["outcome"] == "0"]
    assert len(shown) == 2  # the hit is audited like the first read
    assert {"reference": "Consent/ip1-sharing"} in [e["what"] for e in shown[1]["entity"]]


def _searches(store: MemoryRepository) -> int:
    return int(getattr(store, "searches", 0))


def _searched(store: MemoryRepository) -> list[tuple[str, ...]]:
    """(type, parameters...) of every search made, in order."""
    return list(getattr(store, "searched", []))


@pytest.fixture(autouse=True)
def _count_searches(monkeypatch: pytest.MonkeyPatch) -> None:
    original = MemoryRepository.search

    def counting(self: MemoryRepository, query: SearchQuery) -> Any:
        self.searches = getattr(self, "searches", 0) + 1  # type: ignore[attr-defined]
        shape = (query.resource_type, *(p.name for p in query.params))
        self.searched = [*getattr(self, "searched", []), shape]  # type: ignore[attr-defined]
        return original(self, query)

    monkeypatch.setattr(MemoryRepository, "search", counting)


def test_revocation_through_a_second_process_takes_effect_on_the_next_request() -> None:
    store = _store()
    first, second = Process(store), Process(store)
    assert first.as_(FYSIO).read("CarePlan", "ip1")["id"] == "ip1"
    assert len(first.cache) == 1
    _revoke(second, store)
    with pytest.raises(NotFound):
        first.as_(FYSIO).read("CarePlan", "ip1")
    assert first.audit.events[-1]["outcome"] == "4"


def test_a_directory_change_takes_effect_on_the_next_request() -> None:
    store = _store()
    first = Process(store)
    assert first.as_(TEACHER).read("Goal", "ip1-g1")["id"] == "ip1-g1"
    teacher = store.read("Practitioner", "ip1-laerer")
    teacher["identifier"] = [{"system": HPR_SYSTEM, "value": "9100099"}]  # HPR corrected
    store.update("Practitioner", "ip1-laerer", teacher)  # written by another process
    with pytest.raises(NotFound):
        first.as_(TEACHER).read("Goal", "ip1-g1")
    moved = replace(TEACHER, practitioner="9100099")
    assert first.as_(moved).read("Goal", "ip1-g1")["id"] == "ip1-g1"


def test_a_write_in_the_same_operation_drops_the_context_found_before_it() -> None:
    class FrozenStamps:  # a store whose stamps never move: only forget() can protect
        def __init__(self, inner: MemoryRepository) -> None:
            self.inner = inner

        def stamps(self, refs: Any) -> dict[str, int]:
            return dict.fromkeys(("*", *refs), 7)

        def __getattr__(self, name: str) -> Any:
            return getattr(self.inner, name)

    store = _store()
    frozen = FrozenStamps(store)
    assert isinstance(frozen, ChangeStamps)
    cache = ContextCache(8)
    enforcement = Enforcement(
        frozen,
        InMemoryAuditSink(),
        InMemoryLedger(),
        FixedClock(),
        False,
        cache,
    )
    op = Operation(enforcement, FYSIO, "update")
    before = op.context(PT)
    assert op.access(PT).basis == "consent" and len(cache) == 1
    _revoke(Process(store), store)
    op.forget()
    after = op.context(PT)
    assert after is not before and op.access(PT).basis == "none"
    assert after.get("Consent/ip1-sharing")["status"] == "inactive"  # type: ignore[index]


def test_the_writers_own_response_is_judged_on_the_plan_as_written() -> None:
    store = _store()
    first = Process(store)
    owner = first.as_(OWNER)
    owner.read("CarePlan", "ip1")  # the owner's context is cached
    spec = standard_spec()
    revoked = sharing_consent(spec, Sharing(**{**vars(spec.sharing), "status": "inactive"}))
    shown = owner.update("Consent", "ip1-sharing", revoked).resource
    assert shown["status"] == "inactive"
    with pytest.raises(NotFound):
        first.as_(FYSIO).read("CarePlan", "ip1")


def test_a_store_without_stamps_loads_afresh_every_time() -> None:
    store = _store()
    first, second = Process(NoStamps(store)), Process(store)
    first.as_(FYSIO).read("CarePlan", "ip1")
    first.as_(FYSIO).read("CarePlan", "ip1")
    assert len(first.cache) == 0 and first.cache.hits == 0
    _revoke(second, store)
    with pytest.raises(NotFound):
        first.as_(FYSIO).read("CarePlan", "ip1")


def test_the_cache_is_bounded_least_recently_used_first() -> None:
    store = _store("ip1", "ip2", "ip3")
    first = Process(store, size=2)
    for plan in ("ip1", "ip2", "ip1", "ip3"):
        first.as_(OWNER).read("CarePlan", plan)
    assert len(first.cache) == 2
    assert first.cache.get("Patient/ip2-pt", (1, 1)) is None  # evicted (least recently used)
    assert list(first.cache._entries) == ["Patient/ip1-pt", "Patient/ip3-pt"]


def test_size_zero_switches_the_cache_off() -> None:
    store = _store()
    first = Process(store, size=0)
    first.as_(FYSIO).read("CarePlan", "ip1")
    assert len(first.cache) == 0 and store.stamp_reads == 0
    with pytest.raises(ValueError):
        ContextCache(-1)


def test_a_page_of_several_persons_reads_their_stamps_in_one_query() -> None:
    store = _store("ip1", "ip2")
    first = Process(store)
    found = first.as_(OWNER).search(SearchQuery("Goal", count=50))
    assert {g["subject"]["reference"] for g in found.matches} == {PT, "Patient/ip2-pt"}
    assert store.stamp_reads == 1


def test_a_context_with_another_persons_relative_is_not_cached(world: World) -> None:
    ctx = PlanContext.of(
        PT,
        [
            world.repo.read("Patient", "ip1-pt"),
            {"resourceType": "RelatedPerson", "id": "x", "patient": {"reference": "Patient/p2"}},
        ],
    )
    assert not cacheable(ctx)
    assert cacheable(PlanContext.of(PT, [world.repo.read("Organization", "ip1-kommune")]))
    cache = ContextCache(4)
    cache.put((1, 1), ctx)
    assert len(cache) == 0
