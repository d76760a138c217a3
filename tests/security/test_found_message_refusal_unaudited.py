"""Every refusal is audited (docs/threat-model.md, "writes" and "audit"), but a refused
``$process-message`` leaves no AuditEvent: an authenticated organisation outside the directory
(IP-6070) or a directory member posing as another's endpoint (IP-6072) is answered 403 and
nothing records who tried (``adapter/sync/receiver.py: Receiver.process`` raises
``SenderRefused`` before anything is written; ``adapter/api/message_routes.py`` audits
nothing)."""

from __future__ import annotations

from ipfhir.adapter.ports import SearchQuery
from tests.api.notify_world import ORGNR
from tests.api.test_process_message import Receiving, ke, notification

__all__ = ["ke"]


def _agents(ke: Receiving) -> list[str]:
    events = ke.wiring.repository.search(SearchQuery("AuditEvent", count=500)).matches
    return [
        str(a["who"].get("identifier", {}).get("value"))
        for e in events
        for a in e.get("agent", [])
        if isinstance(a.get("who"), dict)
    ]


def test_a_refused_sender_is_audited(ke: Receiving) -> None:
    stranger = ke.post(notification(), orgnr=ORGNR["annen"])  # not in the directory
    impostor = ke.post(notification(), orgnr=ORGNR["nav"])  # in it, not the message's source
    assert (stranger.status_code, impostor.status_code) == (403, 403)
    agents = _agents(ke)
    assert ORGNR["annen"] in agents and ORGNR["nav"] in agents, agents
