"""Completion is structural (every operation audited exactly once, on success and on error), and
the enforcement point fails closed (a store failure while reading what a write replaces is
never taken for "nothing there")."""

from __future__ import annotations

from typing import Any

import pytest

from ipfhir.adapter.consent import enforce, history
from ipfhir.adapter.consent.operation import Operation, completing
from ipfhir.adapter.ports import Actor
from tests.unit.consent.conftest import HPR, ORGNR, World

OWNER = Actor(organisation=ORGNR["kommune"], practitioner=HPR["koord"], purpose="COC")
FYSIO = Actor(organisation=ORGNR["sykehus"], practitioner=HPR["fysio"], purpose="COC")


def _outcomes(world: World) -> list[tuple[str, str]]:
    return [(e["subtype"][0]["code"], e["outcome"]) for e in world.audit.events]


def test_each_operation_is_audited_exactly_once(world: World) -> None:
    repo = world.factory.repository_for(FYSIO)
    repo.read("Goal", "ip1-g1")
    repo.vread("Goal", "ip1-g1", "1")
    repo.history("Goal", "ip1-g1")
    assert _outcomes(world) == [("read", "0"), ("vread", "0"), ("history", "0")]


def test_explanation_is_audited(world: World) -> None:
    """``$evaluate`` used to open an operation and never complete it."""
    world.factory.repository_for(OWNER).evaluate("Goal", "ip1-g1", FYSIO)
    assert _outcomes(world) == [("read", "0")]
    assert world.audit.events[0]["entity"][1]["what"]["reference"] == "Goal/ip1-g1/_history/1"


def test_an_exception_inside_an_operation_is_still_audited(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(*_args: Any) -> Any:
        raise RuntimeError("the explanation could not be built")

    monkeypatch.setattr(enforce, "explanation", broken)
    with pytest.raises(RuntimeError):
        world.factory.repository_for(OWNER).evaluate("Goal", "ip1-g1", FYSIO)
    assert _outcomes(world) == [("read", "8")]  # serious failure
    event = world.audit.events[0]
    assert "failed (RuntimeError)" in event["outcomeDesc"]


def test_a_failed_disclosure_goes_to_no_ledger(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(*_args: Any) -> Any:
        raise RuntimeError("the page could not be built")

    monkeypatch.setattr(history, "HistoryPage", broken)  # where the history page is built
    with pytest.raises(RuntimeError):
        world.factory.repository_for(FYSIO).history("Goal")
    # what it would have disclosed: a failure; what it refused (the goal on «rus»): a refusal
    assert sorted(_outcomes(world)) == [("history", "4"), ("history", "8")]
    assert world.ledger.recipients("Consent/ip1-sharing") == []
    world.factory.repository_for(FYSIO).read("Goal", "ip1-g1")
    assert [r.organisation for r in world.ledger.recipients("Consent/ip1-sharing")] == [
        ORGNR["sykehus"]
    ]


def test_a_refusal_ending_in_an_error_is_audited_as_a_refusal(world: World) -> None:
    nav = world.factory.repository_for(Actor(organisation=ORGNR["nav"], purpose="COC"))
    with pytest.raises(Exception, match="not found"):
        nav.read("Goal", "ip1-g1")
    assert _outcomes(world) == [("read", "4")]


def test_an_operation_in_a_scope_is_completed_without_being_asked(world: World) -> None:
    enforcement = world.factory.enforcement
    with pytest.raises(KeyError), completing():
        op = Operation(enforcement, FYSIO, "read")
        op.see(world.repo.read("Goal", "ip1-g1"))
        raise KeyError("boom")
    assert _outcomes(world) == [("read", "8")]
    op.complete()  # nothing left to write: exactly once
    assert len(world.audit.events) == 1


class _Failing:
    """The store, but reads of one resource fail the way a lost connection does."""

    def __init__(self, inner: Any, broken: tuple[str, str]) -> None:
        self._inner, self._broken = inner, broken

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)

    def read(self, rtype: str, rid: str) -> Any:
        if (rtype, rid) == self._broken:
            raise ConnectionError("server closed the connection unexpectedly")
        return self._inner.read(rtype, rid)


@pytest.mark.parametrize("interaction", ["update", "delete"])
def test_a_failed_read_of_what_a_write_replaces_refuses_the_write(
    world: World, interaction: str
) -> None:
    enforcement = world.factory.enforcement
    enforcement.inner = _Failing(world.repo, ("Goal", "ip1-g1"))  # type: ignore[assignment]
    before = world.repo.read("Goal", "ip1-g1")
    repo = world.factory.repository_for(OWNER)
    with pytest.raises(ConnectionError):
        if interaction == "update":
            repo.update("Goal", "ip1-g1", {**before, "lifecycleStatus": "cancelled"})
        else:
            repo.delete("Goal", "ip1-g1")
    assert world.repo.read("Goal", "ip1-g1") == before
