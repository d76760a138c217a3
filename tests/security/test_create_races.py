"""A PUT authorised as a creation that loses the race for its id (issue 9, TOCTOU).

The consent layer judges a PUT to an id with nothing current there as a creation (who may
create this for the person?); if another writer creates the id between that judgement and the
store's write, the write must not turn into an update of the other writer's resource — an update
no one authorised (the caller may not even be allowed to see it). The store is asked for a
creation only: a version there ends the write as a conflict (409 IP-4404, the answer a lost
race always gets), and the winner's version stays as it was.

The race is made deterministic: the store's ``update`` (and ``transaction``) first lets the
"other writer" create the id through the store itself, then runs the request's write.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import pytest

from ipfhir.adapter.store.writes import Writer
from tests.security.conftest import PT, SecureWorld, message_ids

JSON = {"Content-Type": "application/fhir+json"}
Resource = dict[str, Any]


def _goal(rid: str, text: str) -> Resource:
    return {
        "resourceType": "Goal",
        "id": rid,
        "lifecycleStatus": "proposed",
        "description": {"text": text},
        "subject": {"reference": PT},
    }


def _racing(world: SecureWorld, name: str, winner: Resource) -> None:
    """Make the store's ``name`` write first create ``winner`` (once), as a concurrent writer."""
    store = world.wiring.repository
    real: Callable[..., Any] = getattr(store, name)
    done = threading.Event()

    def first_the_other_writer(*args: Any, **kwargs: Any) -> Any:
        if not done.is_set():
            done.set()
            store.update(winner["resourceType"], winner["id"], winner)
        return real(*args, **kwargs)

    setattr(store, name, first_the_other_writer)


def _assert_lost(world: SecureWorld, response: Any, winner: Resource) -> None:
    assert response.status_code == 409, response.text
    assert message_ids(response.json()) == ["IP-4404"]
    stored = world.wiring.repository.read(winner["resourceType"], winner["id"])
    assert stored["description"] == winner["description"]
    assert stored["meta"]["versionId"] == "1"


def test_a_put_judged_as_a_creation_never_overwrites_the_id_taken_meanwhile(
    world: SecureWorld,
) -> None:
    winner = _goal("ip1-ny", "Jeg vil lære å sykle, sier Siri")
    _racing(world, "update", winner)
    loser = _goal("ip1-ny", "Overskrevet av en annen")
    response = world.client.put(
        "/Goal/ip1-ny", json=loser, headers={**world.as_("coordinator"), **JSON}
    )
    _assert_lost(world, response, winner)


def test_a_transaction_put_judged_as_a_creation_never_overwrites_the_id_taken_meanwhile(
    world: SecureWorld,
) -> None:
    winner = _goal("ip1-ny", "Jeg vil bo i egen leilighet i Kárášjohka")
    _racing(world, "transaction", winner)
    loser = _goal("ip1-ny", "Overskrevet av en annen")
    bundle = {
        "resourceType": "Bundle",
        "type": "transaction",
        "entry": [{"resource": loser, "request": {"method": "PUT", "url": "Goal/ip1-ny"}}],
    }
    response = world.client.post("/", json=bundle, headers={**world.as_("owner"), **JSON})
    assert response.status_code == 409, response.text
    assert "IP-4404" in message_ids(response.json())
    stored = world.wiring.repository.read("Goal", "ip1-ny")
    assert stored["description"] == winner["description"]


def test_the_insert_race_on_the_unique_key_ends_in_the_same_conflict(
    world: SecureWorld, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Both writers found nothing: the loser's insert meets the winner's row inside its own
    transaction (PostgreSQL: unique key; SQLite: the row read as absent before). The rerun
    sees the winner's row and, a creation only, ends as a conflict instead of an update."""
    winner = _goal("ip1-ny", "Jeg vil gå på ski i Alta")
    store = world.wiring.repository
    postgres = world.wiring.engine.dialect.name == "postgresql"
    real_current, real_update = Writer._current, store.update
    armed: list[bool] = []  # set while the loser's write runs, emptied at its first look

    def absent_at_first_look(self: Writer, conn: Any, rtype: str, rid: str) -> Any:
        if not armed:
            return real_current(self, conn, rtype, rid)
        armed.clear()
        if postgres:  # the winner commits while the loser's transaction is open
            other = threading.Thread(target=real_update, args=("Goal", "ip1-ny", winner))
            other.start()
            other.join()
        return None  # the loser's look found nothing: its insert meets the winner's row

    def loser_write(*args: Any, **kwargs: Any) -> Any:
        if not postgres:  # SQLite's writers queue: the winner went first, the look was stale
            real_update("Goal", "ip1-ny", winner)
        armed.append(True)
        return real_update(*args, **kwargs)

    monkeypatch.setattr(Writer, "_current", absent_at_first_look)
    monkeypatch.setattr(store, "update", loser_write)
    loser = _goal("ip1-ny", "Overskrevet av en annen")
    response = world.client.put(
        "/Goal/ip1-ny", json=loser, headers={**world.as_("coordinator"), **JSON}
    )
    _assert_lost(world, response, winner)
    assert not armed  # the stale look happened
