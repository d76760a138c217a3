"""SQLite writers of one process take turns on a lock before ``BEGIN IMMEDIATE``
(``adapter.store.engine.writer_turn``): a waiting writer is woken when the one before it is
done instead of polling from SQLite's busy handler. The tests follow the order of events, never
the clock."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

from sqlalchemy import text

from ipfhir.adapter.store import make_engine
from ipfhir.adapter.store.engine import WRITE_OPTION, writer_turn
from ipfhir.adapter.store.unit import begin_write


def test_writers_of_one_engine_share_one_turn(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'turn.sqlite3'}")
    writer = engine.execution_options(**{WRITE_OPTION: True})
    assert _lock(writer_turn(engine)) is _lock(writer_turn(writer))
    other = make_engine(f"sqlite:///{tmp_path / 'other.sqlite3'}")
    assert _lock(writer_turn(other)) is not _lock(writer_turn(engine))
    pg = make_engine("postgresql+psycopg://nobody@127.0.0.1:1/none")  # never connected
    with writer_turn(pg), writer_turn(pg):
        pass  # nothing to wait for on PostgreSQL


def test_a_second_writer_begins_only_after_the_first_committed(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'turn.sqlite3'}")
    writer = engine.execution_options(**{WRITE_OPTION: True})
    with engine.begin() as conn:
        conn.execute(text("CREATE TABLE notes (n INTEGER)"))
    order: list[str] = []
    first_in, release = threading.Event(), threading.Event()

    def first() -> None:
        with begin_write(writer) as conn:
            conn.execute(text("INSERT INTO notes VALUES (1)"))
            order.append("first wrote")
            first_in.set()
            release.wait(timeout=10)
            order.append("first commits")

    def second() -> None:
        first_in.wait(timeout=10)
        with begin_write(writer) as conn:
            seen = conn.execute(text("SELECT count(*) FROM notes")).scalar_one()
            order.append(f"second began, saw {seen}")

    threads = [threading.Thread(target=first), threading.Thread(target=second)]
    for t in threads:
        t.start()
    first_in.wait(timeout=10)
    turn = writer_turn(writer)
    taken = threading.Thread(target=lambda: order.append(f"turn free: {_try(turn)}"))
    taken.start()
    taken.join()
    release.set()
    for t in threads:
        t.join(timeout=10)
    assert order == ["first wrote", "turn free: False", "first commits", "second began, saw 1"]


def test_the_turn_is_re_entrant_within_a_thread(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'turn.sqlite3'}")
    with writer_turn(engine), writer_turn(engine):
        pass
    assert _try(writer_turn(engine))


def _lock(turn: object) -> object:
    return turn._lock  # type: ignore[attr-defined]


def _try(turn: object) -> bool:
    lock: Any = _lock(turn)
    got = bool(lock.acquire(blocking=False))
    if got:
        lock.release()
    return got
