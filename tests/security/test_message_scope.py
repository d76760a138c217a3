"""``$process-message`` writes into the receiver's store, so reading is not enough to send: a
token must carry the message scope (``system/MessageHeader.c``). Played as an attacker — an
organisation in the directory holding a read-only token (the token endpoint's default grant, or
a configured issuer's reading token) — and as the worker that asks for the scope; and the scope
itself grants nothing through the REST API: it neither reads nor writes any resource there."""

from __future__ import annotations

from typing import Any

from ipfhir.adapter.auth.devkey import mint_token
from ipfhir.adapter.directory.guard_messages import MESSAGE_SCOPE
from ipfhir.adapter.ports import SearchQuery
from ipfhir.adapter.sync.messaging import Party
from tests.api.notify_world import HOSPITAL
from tests.api.test_process_message import M, Receiving, _ids, _response, notification
from tests.api.test_process_message import ke as ke  # noqa: F401  (the fixture)
from tests.api.test_token_endpoint import SENDER, World, ask, claims, form
from tests.api.test_token_endpoint import world as world  # noqa: F401  (the fixture)

SENDER_BASE = "https://ip.unjarga.example.no/fhir"  # SENDER's directory endpoint there


def _post(ke: Receiving, body: Any, *scopes: str) -> Any:
    token = mint_token(ke.data, HOSPITAL, scopes=scopes)
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/fhir+json"}
    return ke.client.post("/$process-message", json=body, headers=headers)


def test_a_reading_token_delivers_nothing(ke: Receiving) -> None:  # noqa: F811
    message = notification()
    for scopes in [("system/*.rs",), ("system/*.read",), ("system/Task.cruds",), ()]:
        refused = _post(ke, message, *scopes)
        assert refused.status_code == 403, (scopes, refused.text)
        assert _ids(refused) == ["IP-6120"]
    assert ke.tasks() == []
    events = ke.wiring.repository.search(SearchQuery("AuditEvent", count=50)).matches
    refusals = [e for e in events if e["outcome"] == "4" and "IP-6120" in e["outcomeDesc"]]
    assert len(refusals) == 4  # who tried is recorded, what it sent is not
    # the refusals recorded no answer: the same message with the scope is carried out once
    for scopes in [(MESSAGE_SCOPE,), ("system/*.cruds",), ("system/MessageHeader.write",)]:
        accepted = _post(ke, message, *scopes)
        assert _response(accepted)["code"] == "ok", scopes
    assert len(ke.tasks()) == 1


def test_the_message_scope_reads_and_writes_nothing_through_the_api(
    ke: Receiving,  # noqa: F811
) -> None:
    assert _response(_post(ke, notification(), MESSAGE_SCOPE))["code"] == "ok"
    token = mint_token(ke.data, HOSPITAL, scopes=(MESSAGE_SCOPE,))
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/fhir+json"}
    for path in ("/Task", "/Patient", "/Organization"):
        assert ke.client.get(path, headers=headers).status_code == 403, path
    for path in ("/MessageHeader", "/Bundle"):  # no type served over REST: never an answer
        assert ke.client.get(path, headers=headers).status_code in (400, 403, 404), path
    task = {"resourceType": "Task", "status": "requested", "intent": "proposal"}
    assert ke.client.post("/Task", json=task, headers=headers).status_code == 403
    header = {
        "resourceType": "MessageHeader",
        "eventCoding": {"system": "urn:x", "code": "x"},
        "source": {"endpoint": "urn:x"},
    }
    written = ke.client.post("/MessageHeader", json=header, headers=headers)
    assert written.status_code in (400, 403, 404), written.text  # never stored


def test_the_token_endpoint_grants_the_message_scope_only_when_asked(
    world: World,  # noqa: F811
) -> None:
    default = ask(world.client, form(world.key.sign(claims())))
    assert default.json()["scope"] == "system/*.rs"  # reading, as before
    sender = Party(SENDER, "Unjárgga gielda", SENDER_BASE)
    message = notification(source=sender, destination=M)
    message["entry"][1]["resource"]["requester"] = sender.reference()
    bearer = {"Authorization": f"Bearer {default.json()['access_token']}"}
    headers = {**bearer, "Content-Type": "application/fhir+json"}
    refused = world.client.post("/$process-message", json=message, headers=headers)
    assert refused.status_code == 403 and _ids(refused) == ["IP-6120"]
    granted = ask(world.client, form(world.key.sign(claims()), scope=MESSAGE_SCOPE))
    assert granted.status_code == 200 and granted.json()["scope"] == MESSAGE_SCOPE
    bearer = {"Authorization": f"Bearer {granted.json()['access_token']}"}
    headers = {**bearer, "Content-Type": "application/fhir+json"}
    sent = world.client.post("/$process-message", json=message, headers=headers)
    assert _response(sent)["code"] == "ok", sent.text
    # the scope is not a licence to read: the same token is refused a search
    assert world.client.get("/Task", headers=bearer).status_code == 403
    # and nothing beyond it is granted alongside
    wider = ask(world.client, form(world.key.sign(claims()), scope="system/MessageHeader.cud"))
    assert wider.json()["error"] == "invalid_scope"
