"""The adversarial suite's world: the server as production builds it (``build_app``, dev key,
real profile validator), over SQLite and PostgreSQL, holding one person's plan, and a token for
every actor of the threat model (docs/threat-model.md).

The plan (``standard_spec``: Bærum kommune owns it, coordinator Åse Sørli) has
- recipients by the sharing Consent: Vestre Viken HF (``recipient``: the physiotherapist) and a
  teacher at Høvik skole (``teacher``); the person refused the topic «rus» (Goal ip1-g2, measure
  m2, need n2), the environment NAV Bærum (``refused_org``, still a CareTeam member) and one
  hospital doctor (``refused_individual``);
- a mother (RelatedPerson ip1-mor) the person refused as well (``deny`` naming her);
- a former coordinator whose assignment ended 2026-06-30 (``ex_coordinator``, Tromsø kommune);
- ``outsider``: an organisation nothing in the plan names;
- ``colleague``: an employee of the owning municipality (its orgnr, an HPR number) without the
  coordinating unit's role claim: need to know makes it a stranger to the plan. ``owner`` is
  the municipality's coordinating unit (the ``koordinerende-enhet`` role claim).

Every test gets a fresh store; ``world.as_(actor)`` gives request headers for that actor.
"""

from __future__ import annotations

import random
import warnings
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine

from ipfhir.adapter.auth.devkey import mint_token
from ipfhir.adapter.bootstrap import Wiring, build_app, build_wiring
from ipfhir.adapter.consent.policy import OWNER_ROLE
from ipfhir.adapter.settings import Settings
from ipfhir.mappings.codes import SYSTEM_9034
from ipfhir.mappings.identifiers import HPR_SYSTEM, ORGNR_SYSTEM, synthetic_orgnr
from tests.unit.consent.builders import Relative, build
from tests.unit.consent.conftest import HPR, ORGNR, standard_spec

with warnings.catch_warnings():
    warnings.filterwarnings("ignore", message="Using `httpx` with")
    from fastapi.testclient import TestClient

PT = "Patient/ip1-pt"
EX_ORGNR = synthetic_orgnr(random.Random(1902))  # Tromsø kommune, the former coordinator's
EX_HPR = "9100009"
COLLEAGUE_HPR = "9100010"  # a municipal employee with no part in the plan
# actor -> (organisasjonsnummer, HPR number or None)
ACTORS: dict[str, tuple[str, str | None]] = {
    "owner": (ORGNR["kommune"], None),  # with the coordinating unit's role claim (ROLES)
    "coordinator": (ORGNR["kommune"], HPR["koord"]),
    "recipient": (ORGNR["sykehus"], HPR["fysio"]),
    "teacher": (ORGNR["skole"], HPR["laerer"]),
    "refused_org": (ORGNR["nav"], None),
    "refused_individual": (ORGNR["sykehus"], HPR["lege"]),
    "ex_coordinator": (EX_ORGNR, EX_HPR),
    "outsider": (ORGNR["annen"], None),
    "colleague": (ORGNR["kommune"], COLLEAGUE_HPR),  # the owning municipality, no role
}
ROLES: dict[str, tuple[str, ...]] = {"owner": (OWNER_ROLE,)}
NON_PRIVILEGED = tuple(a for a in ACTORS if a not in ("owner", "coordinator"))


def plan_resources() -> list[dict[str, Any]]:
    """The world's resources: ``standard_spec`` with the refused mother and the ex-coordinator."""
    spec = replace(standard_spec(), relatives=[Relative("mor", parental=False)])
    out = build(spec)
    out += [
        {
            "resourceType": "Organization",
            "id": "ip1-tromso",
            "identifier": [{"system": ORGNR_SYSTEM, "value": EX_ORGNR}],
            "name": "Tromsø kommune",
        },
        {
            "resourceType": "Practitioner",
            "id": "ip1-tidligere",
            "identifier": [{"system": HPR_SYSTEM, "value": EX_HPR}],
            "name": [{"text": "Ánde Bæivi"}],
        },
        {
            "resourceType": "PractitionerRole",
            "id": "ip1-tidligere-role",
            "practitioner": {"reference": "Practitioner/ip1-tidligere"},
            "organization": {"reference": "Organization/ip1-tromso"},
        },
    ]
    for res in out:
        if res["resourceType"] == "CareTeam":
            res["participant"].append(
                {
                    "id": "tidligere",
                    "role": [{"coding": [{"system": SYSTEM_9034, "code": "8"}]}],
                    "member": {"reference": "PractitionerRole/ip1-tidligere-role"},
                    "period": {"start": "2025-01-01", "end": "2026-06-30"},
                }
            )
        if res["resourceType"] == "Consent" and res["id"] == "ip1-sharing":
            res["provision"]["provision"].append(
                {
                    "type": "deny",
                    "actor": [
                        {
                            "role": {
                                "coding": [
                                    {
                                        "system": "http://terminology.hl7.org/CodeSystem/"
                                        "v3-ParticipationType",
                                        "code": "IRCP",
                                    }
                                ]
                            },
                            "reference": {"reference": "RelatedPerson/ip1-mor"},
                        }
                    ],
                }
            )
    return out


@dataclass
class SecureWorld:
    client: TestClient
    wiring: Wiring
    data: Path

    def as_(self, actor: str, *scopes: str, purpose: str | None = None) -> dict[str, str]:
        org, hpr = ACTORS[actor]
        token = mint_token(
            self.data,
            org,
            hpr=hpr,
            scopes=scopes or ("system/*.cruds",),
            purpose=purpose,
            roles=ROLES.get(actor, ()),
        )
        return {"Authorization": f"Bearer {token}"}


def _world(engine: Engine, tmp_path: Path) -> Iterator[SecureWorld]:
    settings = Settings(data_dir=tmp_path, dev_mode=True)
    wiring = build_wiring(settings, engine=engine, run_migrations=False)
    for res in plan_resources():
        wiring.repository.update(res["resourceType"], res["id"], res)
    with TestClient(build_app(settings, wiring)) as client:
        yield SecureWorld(client, wiring, tmp_path)


@pytest.fixture
def world(engine: Engine, tmp_path: Path) -> Iterator[SecureWorld]:
    """The plan on SQLite and on PostgreSQL (``engine`` from tests/conftest.py)."""
    yield from _world(engine, tmp_path)


@pytest.fixture
def sqlite_world(tmp_path: Path) -> Iterator[SecureWorld]:
    """The plan on SQLite only (for the slower, exhaustive tests)."""
    from ipfhir.adapter.store import make_engine, migrate

    engine = make_engine(f"sqlite:///{tmp_path / 'store.sqlite3'}")
    migrate(engine)
    yield from _world(engine, tmp_path)
    engine.dispose()


def message_ids(outcome: dict[str, Any]) -> list[str]:
    return [
        c["code"]
        for i in outcome.get("issue", [])
        for c in (i.get("details") or {}).get("coding", [])
    ]
