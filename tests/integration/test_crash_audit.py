"""``kill -9`` of a real ``ipfhir serve`` under concurrent write load, then a restart on the same
database (SQLite and PostgreSQL): every write the server acknowledged is there, and every write
the database holds — acknowledged or not, its answer lost with the process — has its
create/update/delete AuditEvent (the audit commits in the write's own transaction)."""

from __future__ import annotations

import itertools
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import Engine, select

from ipfhir.adapter.store import make_engine
from ipfhir.adapter.store.schema import resource_versions
from ipfhir.mappings.identifiers import ORGNR_SYSTEM
from tests.api.conftest import careplan, patient
from tests.integration.audit_rows import all_audit_events
from tests.integration.conftest import ORGNR, dev_token, free_port, start_server
from tests.pg import PG_URL, postgres_schema

JSON = {"Content-Type": "application/fhir+json"}
CLIENTS = 8
ENOUGH = 30  # acknowledged writes before the kill (waited for at most MAX_LOAD_S)
MAX_LOAD_S = 20.0
PLAN_PARTS = {
    "created": "2024-03-01",
    "careTeam": [{"reference": "CareTeam/ip-team"}],
    "supportingInfo": [{"reference": "Consent/ip-samtykke"}],
}


def _goal(pid: str, n: int) -> dict[str, Any]:
    return {
        "resourceType": "Goal",
        "lifecycleStatus": "active",
        "description": {"text": f"Mål {n}: å gå tur langs Tanaelva med Ánde og Åse"},
        "subject": {"reference": f"Patient/{pid}"},
    }


class _Load:
    """Writers that POST Goals and update each with If-Match, noting every acknowledged write."""

    def __init__(self, base: str, auth: dict[str, str], pid: str) -> None:
        self.base, self.headers, self.pid = base, {**JSON, **auth}, pid
        self.acked: list[tuple[str, str]] = []  # ("Goal/id", versionId) answered 201/200
        self.stop = threading.Event()
        self._n = itertools.count()
        self._lock = threading.Lock()

    def _ack(self, response: httpx.Response) -> str:
        body = response.json()
        with self._lock:
            self.acked.append((f"Goal/{body['id']}", body["meta"]["versionId"]))
        return str(body["id"])

    def run(self) -> None:
        with httpx.Client(base_url=self.base, headers=self.headers, timeout=20) as client:
            while not self.stop.is_set():
                n = next(self._n)
                try:
                    made = client.post("/Goal", json=_goal(self.pid, n))
                    assert made.status_code == 201, made.text
                    gid = self._ack(made)
                    body = {**_goal(self.pid, n), "id": gid, "lifecycleStatus": "completed"}
                    etag = {"If-Match": made.headers["etag"]}
                    changed = client.put(f"/Goal/{gid}", json=body, headers=etag)
                    assert changed.status_code == 200, changed.text
                    self._ack(changed)
                except httpx.TransportError:
                    return  # the server is gone


def _setup(base: str, auth: dict[str, str]) -> str:
    def post(res: dict[str, Any]) -> dict[str, Any]:
        r = httpx.post(f"{base}/{res['resourceType']}", json=res, headers={**JSON, **auth})
        assert r.status_code == 201, r.text
        return dict(r.json())

    org = post(
        {
            "resourceType": "Organization",
            "identifier": [{"system": ORGNR_SYSTEM, "value": ORGNR}],
            "name": "Deatnu gielda – helse og omsorg",
        }
    )
    pid = str(post(patient())["id"])
    post({**careplan(pid), "author": {"reference": f"Organization/{org['id']}"}, **PLAN_PARTS})
    return pid


def _stored_writes(engine: Engine) -> set[tuple[str, str]]:
    v = resource_versions
    with engine.connect() as conn:
        rows = conn.execute(
            select(v.c.res_type, v.c.res_id, v.c.version).where(v.c.res_type != "AuditEvent")
        )
        return {(f"{t}/{i}", str(n)) for t, i, n in rows}


def _audited_writes(engine: Engine) -> set[tuple[str, str]]:
    out = set()
    for event in all_audit_events(engine):
        if event["action"] not in ("C", "U", "D"):
            continue
        for entity in event.get("entity", []):
            ref, _, version = str(entity["what"].get("reference", "")).partition("/_history/")
            if version:
                out.add((ref, version))
    return out


def _crash_and_restart(tmp_path: Path, url: str, engine: Engine) -> None:
    data = tmp_path / "data"
    args = ["--database", url, "--data-dir", str(data)]
    port = free_port()
    proc = start_server(args, port, tmp_path / "first.log")
    try:
        auth = {"Authorization": f"Bearer {dev_token(data)}"}
        base = f"http://127.0.0.1:{port}"
        load = _Load(base, auth, _setup(base, auth))
        threads = [threading.Thread(target=load.run) for _ in range(CLIENTS)]
        for t in threads:
            t.start()
        until = time.monotonic() + MAX_LOAD_S
        while len(load.acked) < ENOUGH and time.monotonic() < until:
            time.sleep(0.05)
        proc.kill()  # SIGKILL: no shutdown, answers in flight are lost
        proc.wait(timeout=20)
        load.stop.set()
        for t in threads:
            t.join(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert len(load.acked) >= ENOUGH, "the load wrote too little before the kill to prove anything"
    port = free_port()
    again = start_server(args, port, tmp_path / "second.log")
    try:
        base = f"http://127.0.0.1:{port}"
        for ref, version in load.acked[-5:]:
            got = httpx.get(f"{base}/{ref}/_history/{version}", headers=auth)
            assert got.status_code == 200, got.text
        stored = _stored_writes(engine)
        assert set(load.acked) <= stored  # every acknowledged write survived
        missing = stored - _audited_writes(engine)
        assert not missing, f"stored without their AuditEvent: {sorted(missing)[:5]}"
    finally:
        again.terminate()
        again.wait(timeout=20)


def test_kill_9_under_load_on_sqlite(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'data' / 'ipfhir.sqlite3'}"
    with _engine(url) as engine:
        _crash_and_restart(tmp_path, url, engine)


@pytest.mark.postgres
def test_kill_9_under_load_on_postgres(tmp_path: Path) -> None:
    with postgres_schema("ipfhir_crash") as schema, _engine(PG_URL, schema) as engine:
        _crash_and_restart(tmp_path, f"{PG_URL}?options=-csearch_path%3D{schema}", engine)


@contextmanager
def _engine(url: str, schema: str | None = None) -> Iterator[Engine]:
    engine = make_engine(url, schema=schema, pool_size=1)
    try:
        yield engine
    finally:
        engine.dispose()
