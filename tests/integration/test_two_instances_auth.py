"""Two real ``ipfhir serve --dev`` processes on 127.0.0.1, each with its own SQLite data folder,
trust each other through nothing but ``ipfhir directory load`` of a file naming the other's
base URL and JWKS URL: the hospital (H) logs in at the municipality's (M) token endpoint with
a client assertion signed by its organisation key and reads with the token; a forged
assertion, a replay and a wrong audience are refused."""

from __future__ import annotations

import random
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import jwt
import pytest

from ipfhir.adapter.auth.assertion import ASSERTION_TYPE, client_assertion
from ipfhir.adapter.auth.orgkey import SigningKey, jwk_thumbprint, organisation_key
from ipfhir.adapter.auth.token_client import TokenClient
from ipfhir.mappings.identifiers import synthetic_orgnr
from tests.integration.conftest import ROOT, free_port, start_server

pytestmark = pytest.mark.slow

HOSPITAL = synthetic_orgnr(random.Random(1000))  # Universitetssykehuset Nord-Norge HF
MUNICIPALITY = synthetic_orgnr(random.Random(5501))  # Romsa suohkan / Tromsø kommune (KE)


@dataclass
class Instance:
    orgnr: str
    base: str
    data: Path
    database: str | None = None  # PostgreSQL URL; None: SQLite in ``data``

    def where(self) -> tuple[str, ...]:
        """The CLI arguments naming this instance's storage (key folder, database)."""
        return (
            "--data-dir",
            str(self.data),
            *(("--database", self.database) * bool(self.database)),
        )


def ipfhir(*args: str) -> subprocess.CompletedProcess[str]:
    cmd = [sys.executable, "-m", "ipfhir.adapter.cli", *args]
    return subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=120)


def trust(at: Instance, other: Instance, name: str, *flags: str) -> None:
    """``ipfhir directory entry`` for ``other``, loaded into ``at``'s database."""
    made = ipfhir(
        "directory", "entry", "--org", other.orgnr, "--name", name, "--base", other.base, *flags
    )
    assert made.returncode == 0, made.stderr
    file = at.data.parent / f"katalog-for-{at.orgnr}.json"
    file.write_text(made.stdout, encoding="utf-8")
    loaded = ipfhir("directory", "load", str(file), *at.where())
    assert loaded.returncode == 0, loaded.stderr


@pytest.fixture
def pair(tmp_path: Path) -> Iterator[tuple[Instance, Instance]]:
    procs = []
    instances = []
    for orgnr, name in ((HOSPITAL, "h"), (MUNICIPALITY, "m")):
        port = free_port()
        data = tmp_path / name / "data"
        data.parent.mkdir()
        procs.append(start_server(["--data-dir", str(data)], port, tmp_path / f"{name}.log"))
        instances.append(Instance(orgnr, f"http://127.0.0.1:{port}", data))
    h, m = instances
    try:
        trust(h, m, "Romsa suohkan – koordinerende enhet", "--kommune", "5501", "--ke")
        trust(m, h, "Universitetssykehuset Nord-Norge HF – Sámi klinihkka", "--kommune", "5501")
        yield h, m
    finally:
        for proc in procs:
            proc.terminate()
            proc.wait(timeout=30)


def _token_request(base: str, assertion: str) -> httpx.Response:
    form = {
        "grant_type": "client_credentials",
        "client_assertion_type": ASSERTION_TYPE,
        "client_assertion": assertion,
    }
    return httpx.post(f"{base}/auth/token", data=form, timeout=30)


def test_hospital_logs_in_at_the_municipality_and_reads(pair: tuple[Instance, Instance]) -> None:
    h, m = pair
    routed = ipfhir("directory", "route", "--kommune", "5501", "--data-dir", str(h.data))
    assert routed.stdout.startswith(f"{m.orgnr}\t5501\tKE\troutable\t{m.base}")
    published = httpx.get(f"{h.base}/.well-known/jwks.json", timeout=30).json()
    key = organisation_key(h.data)  # what H's process signs with: the key it publishes
    assert published == key.jwks()
    client = TokenClient(key, h.orgnr, f"{m.base}/auth/token")
    auth = client.headers()
    claims = jwt.decode(auth["Authorization"][7:], options={"verify_signature": False})
    assert (
        claims["iss"] == m.base and claims["helseid://claims/client/claims/orgnr_child"] == h.orgnr
    )
    capability = httpx.get(f"{m.base}/metadata", headers=auth, timeout=30)
    assert capability.status_code == 200
    assert capability.json()["resourceType"] == "CapabilityStatement"
    search = httpx.get(f"{m.base}/CarePlan", params={"status": "active"}, headers=auth, timeout=30)
    assert search.status_code == 200 and search.json()["resourceType"] == "Bundle"
    assert search.json().get("total", 0) == 0  # an outsider to every plan there: nothing
    assert httpx.get(f"{m.base}/CarePlan", timeout=30).status_code == 401
    # M's token is for M: H's own API does not take it
    assert httpx.get(f"{h.base}/CarePlan", headers=auth, timeout=30).status_code == 401
    # the same from the command line, as the README shows it
    args = ("--as", h.orgnr, "--to", m.orgnr, "--data-dir", str(h.data))
    printed = ipfhir("directory", "token", *args)
    assert printed.returncode == 0, printed.stderr
    cli_auth = {"Authorization": f"Bearer {printed.stdout.strip()}"}
    assert httpx.get(f"{m.base}/CarePlan", headers=cli_auth, timeout=30).status_code == 200
    refused = ipfhir("directory", "token", *args, "--scope", "system/*.cruds")
    assert refused.returncode == 1
    assert refused.stderr.startswith("ipfhir: IP-6040: ") and "invalid_scope" in refused.stderr


def test_forged_replayed_and_misaddressed_assertions_are_refused(
    pair: tuple[Instance, Instance],
) -> None:
    h, m = pair
    key = organisation_key(h.data)
    stranger = organisation_key(h.data.parent / "stranger")
    forged = SigningKey(stranger.private, key.kid)
    refusals = {
        "forged (wrong key)": _token_request(
            m.base, client_assertion(forged, h.orgnr, f"{m.base}/auth/token")
        ),
        "wrong audience": _token_request(
            m.base, client_assertion(key, h.orgnr, f"{h.base}/auth/token")
        ),
    }
    once = client_assertion(key, h.orgnr, f"{m.base}/auth/token")
    assert _token_request(m.base, once).status_code == 200
    refusals["replay"] = _token_request(m.base, once)
    unknown = SigningKey(stranger.private, jwk_thumbprint(stranger.private.public_key()))
    refusals["unknown organisation"] = _token_request(
        m.base, client_assertion(unknown, synthetic_orgnr(random.Random(7)), f"{m.base}/auth/token")
    )
    for name, answer in refusals.items():
        assert answer.status_code == 401, name
        assert answer.json()["error"] == "invalid_client", name
    assert len({a.content for a in refusals.values()}) == 1
