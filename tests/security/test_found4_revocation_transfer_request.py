"""A consent withdrawn while a plan transfer request waits at the new municipality: the
revocation notice reaches B (B is in A's recipients ledger: the request disclosed the person
to it) but names notifications only (:func:`adapter.sync.sent.delivered_to` reads outbox rows
of kind ``ip-notification``), and B's receiver seals only notification Tasks. So B keeps the
transfer request (``Task.for`` the Patient it brought, A's free-text reason) in its inbox,
status ``requested`` and answerable, after the person withdrew the consent under which A sent
it. (The Patient itself is deny-by-default at B: B's coordinating unit cannot read it.)"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest

from ipfhir.adapter.consent.policy import OWNER_ROLE
from ipfhir.adapter.errors import NotFound
from ipfhir.adapter.ports import Actor, SearchQuery
from ipfhir.adapter.services.transfer import request
from ipfhir.mappings.codes import ext_url
from tests.api.transfer_world import A_ORG, B_ORG, PID, A, Net, build_net


@pytest.fixture
def net(tmp_path: Path) -> Net:
    return build_net(tmp_path)


def _b_owner_sees(net: Net, rtype: str) -> list[dict[str, Any]]:
    actor = Actor(organisation=B_ORG, roles=(OWNER_ROLE,), scopes=("system/*.rs",), purpose="COC")
    repo = net.b.factory.repository_for(actor)
    if rtype == "Patient":  # the person the request brought, read by id
        [task] = net.b.tasks()
        try:
            return [repo.read("Patient", task["for"]["reference"].split("/")[1])]
        except NotFound:
            return []
    return repo.search(SearchQuery(rtype, count=20)).matches


def test_a_withdrawn_consent_leaves_the_waiting_transfer_request_at_b(net: Net) -> None:
    """Correct: the notice names the transfer request too, and B seals it (answered as missing,
    cancelled, as a revoked notification); today it stays in B's coordinating unit's inbox."""
    request(net.a.wiring, net.a.factory, net.a.directory, sender=A, patient_id=PID, to_org=B_ORG)
    assert net.deliver(net.a) == 1
    assert _b_owner_sees(net, "Task")
    owner = Actor(organisation=A_ORG, roles=(OWNER_ROLE,), scopes=("system/*.cruds",))
    repo = net.a.factory.repository_for(owner)
    consent = copy.deepcopy(repo.read("Consent", "ip1-sharing"))
    consent["status"] = "inactive"
    consent["extension"] = [{"url": ext_url("ip-consent-revoked"), "valueDate": "2026-11-30"}]
    repo.update("Consent", "ip1-sharing", consent)
    kinds = [m.kind for m in net.a.outbox.list()]
    assert "ip-revocation" in kinds, kinds  # B is told ...
    net.deliver(net.a)
    assert [m.status for m in net.a.outbox.list()] == ["delivered", "delivered"]
    assert _b_owner_sees(net, "Task") == []  # ... and keeps nothing of the request
