"""The outbox remembers, over a message's whole life, how many of its attempts may have reached
the receiver (``maybe_reached``): each delivered or retried, each whose lease ran out unsettled
— never one that ended the message dead (its ``last_error`` says how) — and a replay keeps the
count while ``attempts`` starts again. ``enqueue_if_absent`` queues nothing, and raises
nothing, for a message id already there. SQLite and PostgreSQL."""

from __future__ import annotations

import time

import pytest
from sqlalchemy import Engine
from sqlalchemy.exc import IntegrityError

from ipfhir.adapter.fhir.validation import minimal_structural_check
from ipfhir.adapter.store import SqlRepository
from ipfhir.adapter.store.outbox import Outbox, enqueue, enqueue_if_absent


class Clock:
    def __init__(self) -> None:
        self.now = time.time() + 3600.0  # past the real clock enqueue() stamps with

    def __call__(self) -> float:
        return self.now


def _queue(engine: Engine, mid: str, *, once: bool = False) -> object:
    repo = SqlRepository(engine, minimal_structural_check)
    payload = {"resourceType": "Bundle", "id": mid, "note": "Plan for Åse Ørnulf"}
    where, kind, person = (
        "http://romsa.example/$process-message",
        "ip-transfer-plan",
        "Patient/p-æøå",
    )
    with repo.begin_write() as conn:
        if once:
            return enqueue_if_absent(
                conn, destination=where, kind=kind, payload=payload, person=person, message_id=mid
            )
        return enqueue(
            conn, destination=where, kind=kind, payload=payload, person=person, message_id=mid
        )


def _reached(box: Outbox, mid: str) -> tuple[str, int, int]:
    message = box.get(mid)
    assert message is not None
    return message.status, message.attempts, message.maybe_reached


def test_retried_and_delivered_attempts_are_counted_dead_ones_are_not(engine: Engine) -> None:
    clock = Clock()
    box = Outbox(engine, clock)
    _queue(engine, "m-1")
    assert _reached(box, "m-1") == ("queued", 0, 0)
    [first] = box.claim()
    assert first.maybe_reached == 0
    box.retry(first, "no answer: ReadTimeout", 0.0)
    assert _reached(box, "m-1") == ("queued", 1, 1)
    [second] = box.claim()
    box.dead(second, "HTTP 403: the receiver refused the message")
    assert _reached(box, "m-1") == ("dead", 2, 1)  # the refused attempt is not counted
    assert box.replay("m-1")
    assert _reached(box, "m-1") == ("queued", 0, 1)  # a replay keeps the history
    [third] = box.claim()
    assert third.maybe_reached == 1
    box.delivered(third, "ok")
    assert _reached(box, "m-1") == ("delivered", 1, 2)


def test_an_attempt_whose_lease_ran_out_is_counted(engine: Engine) -> None:
    clock = Clock()
    box = Outbox(engine, clock)
    _queue(engine, "m-2")
    box.claim(lease=30)  # the worker dies after sending, before it settles
    clock.now += 31
    [again] = box.claim(lease=30)
    assert (again.attempts, again.maybe_reached) == (2, 1)
    box.dead(again, "IP-6057: held back unsent")
    assert _reached(box, "m-2") == ("dead", 2, 1)
    assert box.replay("m-2")
    [stopped] = box.claim()
    box.release(stopped)  # not sent after all: neither attempt nor history spent
    assert _reached(box, "m-2") == ("queued", 0, 1)


def test_enqueue_if_absent_is_a_no_op_for_an_id_already_there(engine: Engine) -> None:
    box = Outbox(engine, Clock())
    assert _queue(engine, "m-3", once=True) is True
    assert _queue(engine, "m-3", once=True) is False  # no unique-key error: nothing queued
    assert [m.message_id for m in box.list()] == ["m-3"]
    with pytest.raises(IntegrityError):
        _queue(engine, "m-3")  # the plain enqueue still refuses a second message of an id
