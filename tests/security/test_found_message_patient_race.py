"""Two hospitals' notifications (or two of one hospital) for the same person arriving at once:
the receiver looks the person up by fødselsnummer on a connection of its own, outside the write
transaction (``adapter/sync/inbox.py: _patient`` → ``_find`` → ``repository.search``), and
creates the Patient when none is found — so concurrent messages each create one, and the
coordinating unit holds two Patients for one person (on PostgreSQL; SQLite's single writer
serialises the transactions)."""

from __future__ import annotations

import threading
from typing import Any

from ipfhir.adapter.ports import SearchParam, SearchQuery
from tests.api.notify_world import HOSPITAL
from tests.api.test_process_message import FNR, Receiving, ke, notification

__all__ = ["ke"]


def test_concurrent_notifications_for_one_person_make_one_patient(ke: Receiving) -> None:
    receiver = ke.client.app.state.message_receiver  # type: ignore[attr-defined]
    messages = [notification() for _ in range(6)]  # six message ids, one person
    start = threading.Barrier(len(messages))
    answers: list[Any] = []

    def deliver(message: dict[str, Any]) -> None:
        start.wait()
        answers.append(receiver.process(HOSPITAL, message))

    threads = [threading.Thread(target=deliver, args=(m,)) for m in messages]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert [a[1]["entry"][0]["resource"]["response"]["code"] for a in answers] == ["ok"] * 6
    query = SearchQuery(
        "Patient",
        (SearchParam("identifier", (f"urn:oid:2.16.578.1.12.4.1.4.1|{FNR}",)),),
        count=50,
    )
    patients = ke.wiring.repository.search(query).matches
    assert len(patients) == 1, [p["id"] for p in patients]
    assert {t["for"]["reference"] for t in ke.tasks()} == {f"Patient/{patients[0]['id']}"}
