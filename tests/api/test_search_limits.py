"""Limits on what one request may ask of the database (issue 10, finding 4): criteria per
request, values per OR list and in all (IP-4120..4122, from Settings), and PostgreSQL's
statement_timeout answered as 503 IP-4130 instead of a request that never ends."""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import text

from ipfhir.adapter.api.app import create_app
from ipfhir.adapter.bootstrap import Wiring
from ipfhir.adapter.settings import Settings
from ipfhir.adapter.store import make_engine
from tests.api.conftest import MECHANICS_ACTOR, create, message_ids, patient, store_mechanics_app
from tests.permit_all import PermitAll
from tests.pg import PG_URL, postgres_or_skip

with warnings.catch_warnings():  # starlette asks for httpx2; httpx is what the project pins
    warnings.filterwarnings("ignore", message="Using `httpx` with")
    from fastapi.testclient import TestClient


@pytest.fixture
def tight(wiring: Wiring, tmp_path: Any) -> Iterator[TestClient]:
    s = Settings(
        data_dir=tmp_path, search_max_params=3, search_max_or_values=4, search_max_values=6
    )
    with TestClient(store_mechanics_app(s, wiring)) as c:
        yield c


def test_limits_come_from_settings(tight: TestClient) -> None:
    ok = tight.get("/Patient?identifier=a,b,c,d&gender=male&birthdate=2000")
    assert ok.status_code == 200, ok.text
    cases = {
        "/Patient?identifier=a&identifier=b&gender=male&birthdate=2000": "IP-4120",
        "/Patient?identifier=a,b,c,d,e": "IP-4121",
        "/Patient?identifier=a,b,c,d&gender=male,female,other": "IP-4122",
    }
    for url, message_id in cases.items():
        r = tight.get(url)
        assert r.status_code == 400, (url, r.text)
        (found,) = r.json()["issue"]
        assert found["code"] == "too-costly"
        assert message_ids(r.json()) == [message_id]
        assert found["expression"]


def test_limits_apply_to_post_search_and_conditional_create(tight: TestClient) -> None:
    form = {"Content-Type": "application/x-www-form-urlencoded"}
    r = tight.post("/Patient/_search", content=b"identifier=1,2,3,4,5", headers=form)
    assert r.status_code == 400
    assert message_ids(r.json()) == ["IP-4121"]
    r = tight.post(
        "/Patient",
        json=patient(),
        headers={"Content-Type": "application/fhir+json", "If-None-Exist": "identifier=1,2,3,4,5"},
    )
    assert r.status_code == 400
    assert message_ids(r.json()) == ["IP-4121"]


def test_default_limits_allow_ordinary_searches(client: TestClient) -> None:
    pid = create(client, patient())["id"]
    values = ",".join(["x"] * 99 + [pid])
    r = client.get(f"/Patient?_id={values}")
    assert r.status_code == 200, r.text
    assert r.json()["total"] == 1


@pytest.mark.postgres
def test_statement_timeout_is_a_setting_of_the_engine() -> None:
    postgres_or_skip()
    engine = make_engine(PG_URL, statement_timeout_s=0.2)
    try:
        with engine.connect() as conn:
            assert conn.execute(text("SHOW statement_timeout")).scalar_one() == "200ms"
    finally:
        engine.dispose()
    assert Settings().db_statement_timeout_s == 30.0


class _SlowRepository:
    """Stands in for a search no limit foresaw: a statement that runs for 5 s."""

    def __init__(self, engine: Any) -> None:
        self.engine = engine

    def search(self, _query: Any) -> Any:
        with self.engine.connect() as conn:
            conn.execute(text("SELECT pg_sleep(5)"))
        raise AssertionError("statement_timeout did not cancel the statement")


@pytest.mark.postgres
def test_a_statement_timeout_answers_503_and_the_server_goes_on(tmp_path: Any) -> None:
    postgres_or_skip()
    engine = make_engine(PG_URL, statement_timeout_s=0.2)
    app = create_app(
        Settings(data_dir=tmp_path),
        PermitAll(_SlowRepository(engine)),
        validate=lambda *_a: {"resourceType": "OperationOutcome", "issue": []},
        validator_name="none",
        actor_resolver=lambda _request: MECHANICS_ACTOR,
    )
    try:
        with TestClient(app) as c:
            r = c.get("/Patient?identifier=1")
            assert r.status_code == 503, r.text
            assert r.headers["Retry-After"]
            (found,) = r.json()["issue"]
            assert found["code"] == "timeout"
            assert message_ids(r.json()) == ["IP-4130"]
            assert c.get("/metadata").status_code == 200
    finally:
        engine.dispose()


class _PoolDry:
    """A store whose connection pool stays empty past its timeout (every connection busy)."""

    def __init__(self, inner: Any) -> None:
        self._inner = inner

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)

    def search(self, query: Any) -> Any:
        from sqlalchemy.exc import TimeoutError as PoolTimeout

        raise PoolTimeout("QueuePool limit of size 1 overflow 1 reached, connection timed out")


def test_an_empty_connection_pool_answers_503_and_the_server_goes_on(
    wiring: Wiring, tmp_path: Any
) -> None:
    """No connection free within the pool's timeout is a database that did not answer in
    time: 503 IP-4130 with Retry-After, like a statement timeout (it was 500 IP-4901)."""
    app = create_app(
        Settings(data_dir=tmp_path),
        PermitAll(_PoolDry(wiring.repository)),
        validate=lambda *_a: {"resourceType": "OperationOutcome", "issue": []},
        validator_name="none",
        actor_resolver=lambda _request: MECHANICS_ACTOR,
    )
    with TestClient(app) as c:
        r = c.get("/Patient?identifier=1")
        assert r.status_code == 503, r.text
        assert r.headers["Retry-After"]
        assert message_ids(r.json()) == ["IP-4130"]
        assert c.get("/metadata").status_code == 200
