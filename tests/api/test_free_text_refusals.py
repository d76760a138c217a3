"""Free text under the person's refusals, through the production server (``build_app``: bearer
tokens, the real profile validator, consent enforcement, SQLite and PostgreSQL).

In ``rus-psykisk-helse`` Jørgen refused the topics psykisk-helse and familie. His situation,
the hospital's contribution and the cooperation with the hospital are written in labelled parts
(fixtures/plans); NAV, a recipient, must not get the sentences about his anxiety, his daughter
or the DPS on any path — read, vread, search with includes, ``$everything``, history, batch —
in JSON or XML, while it still gets the parts it may see. Before the parts existed NAV got the
whole ``CarePlan.description`` ("Jeg har angst …", "… en datter på seks år …") and the
cooperation text naming the DPS."""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine

from ipfhir.adapter.auth.devkey import mint_token
from ipfhir.adapter.bootstrap import build_app, build_wiring
from ipfhir.adapter.settings import Settings
from tests.unit.consent.fakes import FixedClock
from tests.unit.consent.real_plans import fixture_bundle, identifier, one

with warnings.catch_warnings():
    warnings.filterwarnings("ignore", message="Using `httpx` with")
    from fastapi.testclient import TestClient

BUNDLE = fixture_bundle("rus-psykisk-helse")
WITHHELD = (
    "Jeg har angst",
    "datter på seks år",
    "Emma",
    "DPS",
    "angstbehandlingen",
    "behandling for angst",
)
SHOWN = (
    "Jeg bor midlertidig på hybel hos Kirkens Bymisjon i Kvadraturen.",
    "Jeg har jobbet på verft og vil gjerne i jobb igjen.",
    "LAR-teamet møter i ansvarsgruppa hver tredje måned.",
    "Legemiddelassistert rehabilitering (LAR).",
)


def _token(data: Path, org: str, prac: str | None = None) -> dict[str, str]:
    orgnr = identifier(one(BUNDLE, "Organization", org), "4.101")
    hpr = identifier(one(BUNDLE, "Practitioner", prac), "4.4") if prac else None
    return {"Authorization": f"Bearer {mint_token(data, orgnr, hpr=hpr)}"}


@pytest.fixture
def client(engine: Engine, tmp_path: Path) -> Iterator[TestClient]:
    settings = Settings(data_dir=tmp_path, dev_mode=True)
    app = build_app(settings, build_wiring(settings, engine=engine, run_migrations=False))
    app.state.ctx.factory.enforcement.clock = FixedClock("2026-06-01T10:00:00Z")
    with TestClient(app) as client:
        owner = _token(tmp_path, "krs-kommune", "koordinator")
        posted = client.post(
            "/", json=BUNDLE, headers={**owner, "Content-Type": "application/fhir+json"}
        )
        assert posted.status_code == 200, posted.text
        yield client


def _paths() -> list[str]:
    plan = one(BUNDLE, "CarePlan")["id"]
    patient = f"Patient/{one(BUNDLE, 'Patient')['id']}"
    return [
        f"/CarePlan/{plan}",
        f"/CarePlan/{plan}/_history/1",
        f"/CarePlan/{plan}/_history",
        f"/CareTeam/{plan}",
        f"/CarePlan/{plan}/$everything",
        f"/CarePlan?subject={patient}&_include=CarePlan:care-team&_include=CarePlan:goal",
        f"/CareTeam?subject={patient}&_revinclude=CarePlan:care-team",
        f"/CarePlan?_id={plan}",
        "/CarePlan/_history",
        "/CareTeam/_history",
    ]


def _bodies(client: TestClient, headers: dict[str, str]) -> str:
    out = []
    for path in _paths():
        sep = "&" if "?" in path else "?"
        for fmt in ("json", "xml"):
            got = client.get(f"{path}{sep}_format={fmt}", headers=headers)
            assert got.status_code in (200, 404), (path, got.text)
            out.append(got.text)
    batch = {
        "resourceType": "Bundle",
        "type": "batch",
        "entry": [{"request": {"method": "GET", "url": p.lstrip("/")}} for p in _paths()[:5]],
    }
    got = client.post("/", json=batch, headers={**headers, "Content-Type": "application/fhir+json"})
    assert got.status_code == 200, got.text
    return "\n".join([*out, got.text])


def test_a_recipient_never_gets_the_refused_parts_of_free_text(
    client: TestClient, tmp_path: Path
) -> None:
    nav = _bodies(client, _token(tmp_path, "nav"))
    for sentence in WITHHELD:
        assert sentence not in nav, sentence
    for sentence in SHOWN:  # the parts NAV may see still arrive (in JSON and in XML)
        assert nav.count(sentence) >= 2, sentence


def test_the_owner_and_the_coordinator_get_the_whole_text(
    client: TestClient, tmp_path: Path
) -> None:
    for who in (("krs-kommune", "koordinator"), ("krs-kommune", None)):
        owner = _bodies(client, _token(tmp_path, *who))
        for sentence in (*WITHHELD, *SHOWN):
            assert sentence in owner, (who, sentence)
