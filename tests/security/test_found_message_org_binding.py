"""An outsider decides which Organization a received notification points to: the receiver finds
the sender's and the owner's Organization by organisasjonsnummer among ALL Organizations in the
store (``adapter/sync/inbox.py: _organisation`` → ``_find``, first match), and any
authenticated caller with the create scope may create an Organization bearing any
organisasjonsnummer (``adapter/directory/store.py``: "the FHIR store lets any caller with the
scope create an Organization"). The Task's requester then references the outsider's resource —
its name and telephone number — for the hospital the directory authenticated, and its owner
the outsider's copy of the coordinating unit: staff following the reference call the
outsider."""

from __future__ import annotations

from ipfhir.adapter.auth.devkey import mint_token
from ipfhir.mappings.identifiers import ORGNR_SYSTEM
from tests.api.notify_world import HOSPITAL, KE, ORGNR
from tests.api.test_process_message import Receiving, _response, ke, notification

__all__ = ["ke"]

PHONE = "+47 99 99 99 99"


def test_a_received_task_points_at_no_organization_an_outsider_wrote(ke: Receiving) -> None:
    token = mint_token(ke.data, ORGNR["annen"], scopes=("system/*.cruds",))
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/fhir+json"}
    for orgnr in (HOSPITAL, KE):
        decoy = {
            "resourceType": "Organization",
            "identifier": [{"system": ORGNR_SYSTEM, "value": orgnr}],
            "name": "Ring oss om pasienten – Áltá",
            "telecom": [{"system": "phone", "value": PHONE}],
        }
        assert ke.client.post("/Organization", json=decoy, headers=headers).status_code == 201
    assert _response(ke.post(notification()))["code"] == "ok"
    [task] = ke.tasks()
    for role in ("requester", "owner"):
        org = ke.wiring.repository.read(*task[role]["reference"].split("/"))
        assert PHONE not in str(org.get("telecom")), f"Task.{role} → the outsider's Organization"
