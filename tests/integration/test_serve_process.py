"""``ipfhir serve`` as a real process: SQLite by default; two processes sharing PostgreSQL."""

from __future__ import annotations

import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest
from sqlalchemy import create_engine, text

from tests.api.conftest import PG_URL, careplan, patient, postgres_or_skip
from tests.integration.conftest import free_port, start_server

JSON = {"Content-Type": "application/fhir+json"}


def test_serve_creates_sqlite_in_data_dir_and_answers(sqlite_server: str, tmp_path: Path) -> None:
    r = httpx.post(f"{sqlite_server}/Patient", json=patient(), headers=JSON)
    assert r.status_code == 201
    assert r.headers["location"].startswith(f"{sqlite_server}/Patient/")
    assert (tmp_path / "data" / "ipfhir.sqlite3").exists()
    got = httpx.get(r.headers["location"].rsplit("/_history", 1)[0])
    assert got.json()["name"][0]["family"] == "Ørnø-Sámi"


@pytest.mark.postgres
def test_two_processes_share_one_postgres(tmp_path: Path) -> None:
    postgres_or_skip()
    schema = f"ipfhir_serve_{uuid.uuid4().hex[:8]}"
    admin = create_engine(PG_URL)
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    url = f"{PG_URL}?options=-csearch_path%3D{schema}"
    ports = [free_port(), free_port()]
    procs = []
    try:
        procs = [start_server(["--database", url], p, tmp_path / f"{p}.log") for p in ports]
        bases = [f"http://127.0.0.1:{p}" for p in ports]
        pid = httpx.post(f"{bases[0]}/Patient", json=patient(), headers=JSON).json()["id"]
        with ThreadPoolExecutor(4) as pool:
            codes = list(
                pool.map(
                    lambda i: (
                        httpx.post(
                            f"{bases[i % 2]}/CarePlan", json=careplan(pid), headers=JSON, timeout=30
                        ).status_code
                    ),
                    range(4),
                )
            )
        assert sorted(codes) == [201, 409, 409, 409]
        seen = httpx.get(f"{bases[1]}/CarePlan?patient={pid}").json()
        assert seen["total"] == 1
    finally:
        for proc in procs:
            proc.terminate()
            proc.wait(timeout=20)
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()
