"""Every stored write is audited (docs/threat-model.md, "writes"; house rule): the resources a
received message makes the receiver create — the Patient it is for and the Organizations of the
sender and the owner — are stored without an AuditEvent naming them; only the Task's version is
recorded (``adapter/sync/inbox.py``: ``_patient`` and ``_organisation`` write through
``repository.writer.create``, ``record_write`` is given the Task alone)."""

from __future__ import annotations

from typing import Any

from ipfhir.adapter.ports import SearchQuery
from tests.api.test_process_message import Receiving, _response, ke, notification

__all__ = ["ke"]


def _audited(ke: Receiving) -> set[str]:
    events = ke.wiring.repository.search(SearchQuery("AuditEvent", count=500)).matches
    return {
        str(x["what"].get("reference"))
        for e in events
        for x in e.get("entity", [])
        if isinstance(x.get("what"), dict)
    }


def _written(ke: Receiving, rtype: str) -> list[dict[str, Any]]:
    return ke.wiring.repository.search(SearchQuery(rtype, count=50)).matches


def test_what_a_message_creates_is_all_audited(ke: Receiving) -> None:
    assert _response(ke.post(notification()))["code"] == "ok"
    [task] = ke.tasks()
    stored = [task, *_written(ke, "Patient"), *_written(ke, "Organization")]
    assert len(stored) == 4  # the Task, the Patient, the sender's and the owner's Organization
    versions = {f"{r['resourceType']}/{r['id']}/_history/{r['meta']['versionId']}" for r in stored}
    missing = sorted(versions - _audited(ke))
    assert missing == [], missing
