"""A hospital's store for notification tests: ``standard_spec`` (the person refused «rus», NAV
and one doctor) with one more organisation, Romsa suohkan's coordinating unit (``KE``), which
the sharing Consent names as a recipient; and directory entries for the receivers."""

from __future__ import annotations

import random
from dataclasses import replace
from typing import Any

from ipfhir.adapter.directory import SqlDirectory, parse_directory
from ipfhir.adapter.directory.build import directory_bundle, organisation_entry
from ipfhir.mappings.identifiers import synthetic_orgnr
from tests.unit.consent.builders import Org, Sharing, build
from tests.unit.consent.conftest import ORGNR, standard_spec

KE = synthetic_orgnr(random.Random(5501))  # Romsa suohkan – koordinerende enhet
HOSPITAL = synthetic_orgnr(random.Random(1000))  # UNN HF – Sámi klinihkka (the sender)
PID = "ip1-pt"


def hospital_resources(**sharing: Any) -> list[dict[str, Any]]:
    base = standard_spec()
    assert base.sharing is not None
    recipients = (*base.sharing.recipients, "org:ke")
    spec = replace(
        base,
        orgs=[*base.orgs, Org("ke", KE, "Romsa suohkan – koordinerende enhet")],
        sharing=replace(base.sharing, recipients=recipients, **sharing),
    )
    assert isinstance(spec.sharing, Sharing)
    return build(spec)


def load_directory(directory: SqlDirectory, bases: dict[str, str]) -> None:
    """Directory entries (orgnr -> FHIR base), the KE for kommunenummer 5501."""
    names = {KE: "Romsa suohkan – koordinerende enhet", HOSPITAL: "UNN HF – Sámi klinihkka"}
    resources = []
    for orgnr, base in bases.items():
        ke = orgnr == KE
        resources += organisation_entry(
            orgnr,
            names.get(orgnr, f"Virksomhet {orgnr}"),
            base,
            kommunenummer="5501" if ke else None,
            coordinating_unit=ke,
            jwks_url=f"{base}/.well-known/jwks.json",
        )
    directory.load(parse_directory(directory_bundle(*resources)))


__all__ = ["HOSPITAL", "KE", "ORGNR", "PID", "hospital_resources", "load_directory"]
