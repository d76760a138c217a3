"""Fixtures for the FHIR API tests: one app per test over SQLite (tmp file) and PostgreSQL
(one schema per session, emptied before each test, dropped at the end).

``client`` is test wiring, on purpose: the server-mechanics tests (CRUD, versions, search,
paging, bundles, formats, limits) exercise the store and the HTTP layer, so they assemble the
routes around the store with a permit-all factory (:func:`store_mechanics_app`,
``tests/permit_all.py``). Run through consent
enforcement they would mostly test the policy (a Patient without a plan is visible to nobody).
The server itself is built only by :func:`adapter.bootstrap.build_app`; that path is covered by
``secure_client`` (``test_server_secure.py``: the same mechanics for an actor who owns the plans,
and refusal without a token) and by ``test_consent*``.
"""

from __future__ import annotations

import datetime as dt
import random
import warnings
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import Engine

from ipfhir.adapter.api.app import create_app
from ipfhir.adapter.auth.devkey import mint_token
from ipfhir.adapter.bootstrap import Wiring, build_app, build_wiring
from ipfhir.adapter.consent.policy import OWNER_ROLE
from ipfhir.adapter.ports import Actor
from ipfhir.adapter.settings import Settings
from ipfhir.mappings.identifiers import synthetic_fnr, synthetic_orgnr
from tests.permit_all import PermitAll

with warnings.catch_warnings():  # starlette asks for httpx2; httpx is what the project pins
    warnings.filterwarnings("ignore", message="Using `httpx` with")
    from fastapi.testclient import TestClient

FNR_SYSTEM = "urn:oid:2.16.578.1.12.4.1.4.1"
IP_CATEGORY = {"coding": [{"system": "urn:oid:2.16.578.1.12.4.1.1.9602", "code": "A02-2"}]}
JSON = {"Content-Type": "application/fhir+json"}


@pytest.fixture
def wiring(engine: Engine, tmp_path: Any) -> Wiring:
    return build_wiring(Settings(data_dir=tmp_path), engine=engine, run_migrations=False)


@pytest.fixture
def settings(tmp_path: Any) -> Settings:
    return Settings(data_dir=tmp_path, max_body_bytes=64 * 1024, max_json_depth=32)


OWNER_ORGNR = synthetic_orgnr(random.Random(4711))  # the plans' owner in the secure tests
MECHANICS_ACTOR = Actor(organisation=OWNER_ORGNR, scopes=("system/*.cruds",))


def store_mechanics_app(settings: Settings, wiring: Wiring) -> Any:
    """Routes over the store, every caller permitted everything (no authentication, no
    consent): test wiring only."""
    return create_app(
        settings,
        PermitAll(wiring.repository),
        validate=wiring.validate,
        validator_name=wiring.validator_name,
        actor_resolver=lambda _request: MECHANICS_ACTOR,
    )


@pytest.fixture
def client(wiring: Wiring, settings: Settings) -> Iterator[TestClient]:
    with TestClient(store_mechanics_app(settings, wiring)) as c:
        yield c


@pytest.fixture
def secure_client(wiring: Wiring, settings: Settings) -> Iterator[TestClient]:
    """The server as production builds it (dev key in ``data_dir``), a token of the owner."""
    dev = settings.model_copy(update={"dev_mode": True})
    with TestClient(build_app(dev, wiring)) as c:
        token = mint_token(
            dev.data_dir, OWNER_ORGNR, scopes=("system/*.cruds",), roles=(OWNER_ROLE,)
        )
        c.headers["Authorization"] = f"Bearer {token}"
        yield c


_rng = random.Random(20240611)


def patient(fnr: str | None = None, family: str = "Ørnø-Sámi") -> dict[str, Any]:
    number = fnr or synthetic_fnr(dt.date(1980 + _rng.randrange(30), 5, 17), _rng)
    return {
        "resourceType": "Patient",
        "identifier": [{"system": FNR_SYSTEM, "value": number}],
        "name": [{"family": family, "given": ["Áile Ænne"]}],
        "birthDate": "1988-05-17",
    }


def careplan(patient_id: str, status: str = "active", start: str = "2024-03-01") -> dict[str, Any]:
    return {
        "resourceType": "CarePlan",
        "status": status,
        "intent": "plan",
        "category": [IP_CATEGORY],
        "title": "Individuell plan for Áile — mål: å bo hjemme",
        "subject": {"reference": f"Patient/{patient_id}"},
        "period": {"start": start},
    }


def audit_event(patient_id: str) -> dict[str, Any]:
    """An AuditEvent about ``Patient/patient_id``, as the audit log holds one (a row appended,
    made a resource when AuditEvents are read)."""
    return {
        "resourceType": "AuditEvent",
        "type": {"system": "http://dicom.nema.org/resources/ontology/DCM", "code": "110110"},
        "recorded": "2026-12-01T08:00:00+01:00",
        "outcome": "0",
        "agent": [{"requestor": True, "who": {"display": "Ålesund kommune"}}],
        "source": {"observer": {"display": "ipfhir"}},
        "entity": [{"what": {"reference": f"Patient/{patient_id}"}}],
    }


def create(client: TestClient, resource: dict[str, Any]) -> dict[str, Any]:
    r = client.post(f"/{resource['resourceType']}", json=resource, headers=JSON)
    assert r.status_code == 201, r.text
    body: dict[str, Any] = r.json()
    return body


def message_ids(outcome: dict[str, Any]) -> list[str]:
    return [
        c["code"]
        for i in outcome.get("issue", [])
        for c in (i.get("details") or {}).get("coding", [])
    ]
