"""``ipfhir serve --dev`` as a real process with tokens from ``ipfhir token``: SQLite by default;
two processes sharing PostgreSQL (and one dev key folder)."""

from __future__ import annotations

import random
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import pytest

from ipfhir.mappings.identifiers import ORGNR_SYSTEM, synthetic_orgnr
from tests.api.conftest import careplan, patient
from tests.integration.conftest import ORGNR, Server, dev_token, free_port, start_server
from tests.pg import PG_URL, postgres_schema

# what ip-careplan requires besides careplan(): the plan's team and consents (written later)
IP_PLAN_PARTS = {
    "created": "2024-03-01",
    "careTeam": [{"reference": "CareTeam/ip-team"}],
    "supportingInfo": [{"reference": "Consent/ip-samtykke"}],
}

JSON = {"Content-Type": "application/fhir+json"}
STRANGER = synthetic_orgnr(random.Random(99))  # an organisation without any consent


def _owner() -> dict[str, Any]:
    return {
        "resourceType": "Organization",
        "identifier": [{"system": ORGNR_SYSTEM, "value": ORGNR}],
        "name": "Unjárgga gielda – helse og omsorg",
    }


def _post(base: str, auth: dict[str, str], res: dict[str, Any]) -> httpx.Response:
    return httpx.post(
        f"{base}/{res['resourceType']}", json=res, headers={**JSON, **auth}, timeout=30
    )


def test_serve_creates_sqlite_in_data_dir_and_answers(
    sqlite_server: Server, tmp_path: Path
) -> None:
    base, auth = sqlite_server.base, sqlite_server.headers
    assert httpx.get(f"{base}/Patient").status_code == 401  # no token, no data
    org = _post(base, auth, _owner()).json()
    r = _post(base, auth, patient())
    assert r.status_code == 201
    assert r.headers["location"].startswith(f"{base}/Patient/")
    assert (tmp_path / "data" / "ipfhir.sqlite3").exists()
    author = {"reference": f"Organization/{org['id']}"}
    plan = {**careplan(r.json()["id"]), "author": author, **IP_PLAN_PARTS}
    assert _post(base, auth, plan).status_code == 201
    got = httpx.get(r.headers["location"].rsplit("/_history", 1)[0], headers=auth)
    assert got.status_code == 200 and got.json()["name"][0]["family"] == "Ørnø-Sámi"
    stranger = {"Authorization": f"Bearer {dev_token(tmp_path / 'data', STRANGER)}"}
    assert (
        httpx.get(f"{base}/CarePlan?patient={r.json()['id']}", headers=stranger).json().get("entry")
        is None
    )


@pytest.mark.postgres
def test_two_processes_share_one_postgres(tmp_path: Path) -> None:
    with postgres_schema("ipfhir_serve") as schema:
        _two_processes(tmp_path, f"{PG_URL}?options=-csearch_path%3D{schema}")


def _two_processes(tmp_path: Path, url: str) -> None:
    data = tmp_path / "data"
    ports = [free_port(), free_port()]
    procs = []
    try:
        for p in ports:  # one after the other: the first creates the dev key, both trust it
            procs.append(
                start_server(["--database", url, "--data-dir", str(data)], p, tmp_path / f"{p}.log")
            )
        bases = [f"http://127.0.0.1:{p}" for p in ports]
        auth = {"Authorization": f"Bearer {dev_token(data)}"}
        org = _post(bases[0], auth, _owner()).json()["id"]
        pid = _post(bases[0], auth, patient()).json()["id"]
        plan = {**careplan(pid), "author": {"reference": f"Organization/{org}"}, **IP_PLAN_PARTS}
        with ThreadPoolExecutor(4) as pool:
            codes = list(pool.map(lambda i: _post(bases[i % 2], auth, plan).status_code, range(4)))
        assert sorted(codes) == [201, 409, 409, 409]
        seen = httpx.get(f"{bases[1]}/CarePlan?patient={pid}", headers=auth).json()
        assert len(seen["entry"]) == 1
    finally:
        for proc in procs:
            proc.terminate()
            proc.wait(timeout=20)
