"""A write's outcome is knowable after a lost answer (SQLite and PostgreSQL): a retry with the same
``X-Request-Id`` is answered with the first attempt's outcome — the same resource, version and
status — instead of writing again. The drop is a real one on PostgreSQL: the commit is applied,
then the server's database connection is terminated (``pg_terminate_backend``) before the
adapter sees the acknowledgement."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, func, select, text

from ipfhir.adapter.auth.devkey import mint_token
from ipfhir.adapter.store import idempotency
from ipfhir.adapter.store.schema import resource_versions, resources
from tests.api.conftest import JSON, OWNER_ORGNR, message_ids, patient
from tests.integration.audit_rows import audit_events


def _count(engine: Engine, rtype: str) -> int:
    with engine.connect() as conn:
        query = select(func.count()).select_from(resources).where(resources.c.res_type == rtype)
        return int(conn.execute(query).scalar_one())


def _versions(engine: Engine, ref: str) -> int:
    rtype, _, rid = ref.partition("/")
    v = resource_versions
    with engine.connect() as conn:
        query = select(func.count()).select_from(v).where(v.c.res_type == rtype, v.c.res_id == rid)
        return int(conn.execute(query).scalar_one())


def _post(client: TestClient, body: dict[str, Any], rid: str | None, **headers: str) -> Any:
    extra = {"X-Request-Id": rid} if rid else {}
    return client.post("/Patient", json=body, headers={**JSON, **extra, **headers})


@pytest.fixture
def lost_ack(engine: Engine, monkeypatch: pytest.MonkeyPatch) -> Iterator[list[int]]:
    """The next commit of a write made under a request key is applied by the database, and then
    the connection is lost before the adapter learns it (on PostgreSQL: its backend terminated
    by another session). Yields the list of commits that were cut."""
    cut: list[int] = []
    real = engine.dialect.do_commit
    dbapi = engine.dialect.loaded_dbapi

    def do_commit(dbapi_connection: Any) -> None:
        real(dbapi_connection)
        if cut or idempotency._KEY.get() is None:
            return
        cut.append(1)
        if engine.dialect.name == "postgresql":
            pid = dbapi_connection.info.backend_pid
            with engine.connect() as other:
                other.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
        raise dbapi.OperationalError("server closed the connection unexpectedly")

    monkeypatch.setattr(engine.dialect, "do_commit", do_commit)
    yield cut


def test_a_retry_after_a_lost_commit_answers_the_first_outcome(
    secure_client: TestClient, engine: Engine, lost_ack: list[int]
) -> None:
    body = patient(family="Ávži-Østby")
    first = _post(secure_client, body, "req-4711-åpen".encode().hex())
    assert lost_ack == [1] and first.status_code >= 500  # the client cannot tell
    assert _count(engine, "Patient") == 1  # ... but it was stored, with its audit
    again = _post(secure_client, body, "req-4711-åpen".encode().hex())
    assert again.status_code == 201, again.text
    assert _count(engine, "Patient") == 1
    pid = again.json()["id"]
    assert again.json()["meta"]["versionId"] == "1"
    assert again.headers["location"].endswith(f"/Patient/{pid}/_history/1")
    writes = audit_events(engine, f"Patient/{pid}")
    assert [e["action"] for e in writes.values() if e["action"] == "C"] == ["C"]


def test_the_same_request_id_writes_once(secure_client: TestClient, engine: Engine) -> None:
    body = patient(family="Sárá-Ødegård")
    answers = [_post(secure_client, body, "8c1f-ÆØÅ".encode().hex()) for _ in range(3)]
    assert {a.status_code for a in answers} == {201}
    assert len({a.json()["id"] for a in answers}) == 1
    assert _count(engine, "Patient") == 1
    other = _post(secure_client, body, "another-id")
    assert other.status_code == 201 and other.json()["id"] != answers[0].json()["id"]
    assert _post(secure_client, body, None).status_code == 201  # no id: an ordinary create
    assert _count(engine, "Patient") == 3


def test_a_replayed_update_is_not_refused_by_its_own_if_match(
    client: TestClient, engine: Engine
) -> None:
    """(Through the store-mechanics app: a Patient without a plan is visible to nobody.)"""
    pid = _post(client, patient(), None).json()["id"]
    body = {**patient(family="Niillas-Åsen"), "id": pid}
    headers = {**JSON, "If-Match": 'W/"1"', "X-Request-Id": "oppdater-1"}
    first = client.put(f"/Patient/{pid}", json=body, headers=headers)
    again = client.put(f"/Patient/{pid}", json=body, headers=headers)
    assert (first.status_code, again.status_code) == (200, 200)
    assert again.json()["meta"]["versionId"] == first.json()["meta"]["versionId"] == "2"
    assert _versions(engine, f"Patient/{pid}") == 2
    fresh = {**headers, "X-Request-Id": "oppdater-2"}  # a new request with a stale version
    assert client.put(f"/Patient/{pid}", json=body, headers=fresh).status_code == 412
    gone = {"X-Request-Id": "slett-1"}
    assert client.delete(f"/Patient/{pid}", headers=gone).status_code in (405, 409)  # kept


def test_another_caller_with_the_same_id_is_another_request(
    secure_client: TestClient, engine: Engine, settings: Any
) -> None:
    body = patient(family="Guttorm-Ørn")
    mine = _post(secure_client, body, "delt-id")
    token = mint_token(settings.data_dir, OWNER_ORGNR, scopes=("system/Patient.cruds",))
    theirs = _post(secure_client, body, "delt-id", Authorization=f"Bearer {token}")
    assert (mine.status_code, theirs.status_code) == (201, 201)
    assert mine.json()["id"] != theirs.json()["id"]
    assert _count(engine, "Patient") == 2


@pytest.mark.parametrize("value", ["", "x" * 201, "med mellomrom", "ø"])
def test_a_malformed_request_id_is_refused(secure_client: TestClient, value: str) -> None:
    r = secure_client.post(
        "/Patient",
        json=patient(),
        headers={**JSON, "X-Request-Id": value.encode()},  # type: ignore[dict-item]
    )
    assert r.status_code == 400
    assert message_ids(r.json()) == ["IP-4113"]
