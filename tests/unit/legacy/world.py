"""Two ends of legacy messaging for tests: Karasjok kommune's coordinating unit (a FHIR
adapter, the receiver of ``fixtures/legacy/dialog-1.1-behov-for-ip.xml``) and Finnmarkssykehuset
(a legacy hospital system with a folder or a queue), as the municipality's directory knows them."""

from __future__ import annotations

from typing import Any

from ipfhir.adapter.directory import SqlDirectory, parse_directory
from ipfhir.adapter.directory.build import directory_bundle, organisation_entry
from ipfhir.adapter.sync.receiver import Receiver
from ipfhir.adapter.sync.transports import LegacyInbox

__all__ = ["HOSPITAL", "HOSPITAL_HER", "KE_HER", "MUNICIPALITY", "inbox", "load"]

MUNICIPALITY = "932534908"  # Kárášjoga gielda (synthetic number, as in the fixture)
KE_HER = "9990011"  # its koordinerende enhet (made up)
HOSPITAL = "974471612"  # Finnmarkssykehuset HF (synthetic)
HOSPITAL_HER = "9990001"  # made up


def entries(base: str, hospital: str, kind: str = "kith-folder") -> list[Any]:
    return [
        *organisation_entry(
            MUNICIPALITY,
            "Kárášjoga gielda – koordinerende enhet",
            base,
            kommunenummer="5610",
            coordinating_unit=True,
            jwks_url=f"{base}/.well-known/jwks.json",
            her_id=KE_HER,
        ),
        *organisation_entry(
            HOSPITAL, "Finnmarkssykehuset HF", hospital, her_id=HOSPITAL_HER, legacy=kind
        ),
    ]


def load(directory: SqlDirectory, base: str, hospital: str, kind: str = "kith-folder") -> None:
    directory.load(parse_directory(directory_bundle(*entries(base, hospital, kind))))


def inbox(wiring: Any, directory: SqlDirectory, base: str) -> LegacyInbox:
    own = directory.get(MUNICIPALITY)
    assert own is not None
    return LegacyInbox(Receiver(wiring.repository, directory, base), directory, own)
