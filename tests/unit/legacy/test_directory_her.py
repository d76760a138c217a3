"""HER-id beside the organisasjonsnummer in the directory, and legacy (KITH XML) endpoints: a
folder or an AMQP queue, no JWKS — such a partner is routed to, never logged in."""

from __future__ import annotations

import random
from typing import Any

import pytest
from sqlalchemy import create_engine

from ipfhir.adapter.auth.assertion import AssertionVerifier
from ipfhir.adapter.directory import DirectoryFileError, SqlDirectory, parse_directory
from ipfhir.adapter.directory.build import directory_bundle, organisation_entry
from ipfhir.adapter.directory.model import HER_SYSTEM
from ipfhir.adapter.store.schema import metadata
from ipfhir.mappings.identifiers import synthetic_orgnr

KE = synthetic_orgnr(random.Random(5501))
HOSPITAL = synthetic_orgnr(random.Random(1000))
JWKS = {
    "keys": [
        {
            "kty": "EC",
            "crv": "P-256",
            "x": "f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU",
            "y": "x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0",
        }
    ]
}


def _legacy(kind: str = "kith-folder", address: str = "file:///srv/edi/ut") -> list[Any]:
    return organisation_entry(
        KE,
        "Romsa suohkan – koordinerende enhet",
        address,
        kommunenummer="5501",
        coordinating_unit=True,
        her_id="9990201",
        legacy=kind,
    )


def _fhir() -> list[Any]:
    return organisation_entry(
        HOSPITAL, "UNN HF", "http://127.0.0.1:18081", jwks=JWKS, her_id="9990101"
    )


def _directory(*resources: Any) -> SqlDirectory:
    engine = create_engine("sqlite://")
    metadata.create_all(engine)
    directory = SqlDirectory(engine)
    directory.load(parse_directory(directory_bundle(*resources)))
    return directory


def test_her_id_and_the_kind_of_endpoint_are_read_and_found() -> None:
    directory = _directory(*_legacy(), *_fhir())
    legacy, fhir = directory.get(KE), directory.get(HOSPITAL)
    assert legacy is not None and legacy.her_id == "9990201"
    assert legacy.endpoint is not None and legacy.endpoint.legacy and legacy.routable
    assert fhir is not None and fhir.her_id == "9990101"
    assert fhir.endpoint is not None and not fhir.endpoint.legacy
    assert directory.by_her_id("9990201") == legacy and directory.by_her_id("1") is None
    assert directory.route(kommunenummer="5501") == legacy  # routing picks the legacy receiver


def test_an_amqp_queue_is_a_legacy_endpoint() -> None:
    directory = _directory(*_legacy("kith-amqp", "amqp://127.0.0.1:5672/romsa.inn"))
    entry = directory.get(KE)
    assert entry is not None and entry.endpoint is not None
    assert entry.endpoint.connection_type == "kith-amqp"


@pytest.mark.parametrize(
    ("kind", "address"),
    [
        ("kith-folder", "relative/folder"),
        ("kith-folder", "file://host/srv/edi"),
        ("kith-folder", "http://127.0.0.1:8080"),
        ("kith-amqp", "amqp://guest:guest@127.0.0.1/q"),
        ("kith-amqp", "amqp://127.0.0.1:5672"),
        ("kith-amqp", "amqp://127.0.0.1/q?x=1"),
    ],
)
def test_an_unusable_legacy_address_is_refused(kind: str, address: str) -> None:
    with pytest.raises(DirectoryFileError) as refused:
        parse_directory(directory_bundle(*_legacy(kind, address)))
    assert [i.message_id for i in refused.value.issues] == ["IP-6022"]


def test_two_her_ids_or_a_word_are_refused() -> None:
    for values in (["9990201", "9990202"], ["HER-9990201"]):
        org, endpoint = _legacy()
        org["identifier"] = [i for i in org["identifier"] if i["system"] != HER_SYSTEM]
        org["identifier"] += [{"system": HER_SYSTEM, "value": v} for v in values]
        with pytest.raises(DirectoryFileError) as refused:
            parse_directory(directory_bundle(org, endpoint))
        assert [i.message_id for i in refused.value.issues] == ["IP-6021"]


def test_a_legacy_endpoint_with_keys_is_refused() -> None:
    org, endpoint = _legacy()
    endpoint["extension"] = _fhir()[1]["extension"]
    with pytest.raises(DirectoryFileError) as refused:
        parse_directory(directory_bundle(org, endpoint))
    assert [i.message_id for i in refused.value.issues] == ["IP-6018"]


def test_a_legacy_partner_is_no_login_client() -> None:
    directory = _directory(*_legacy(), *_fhir())
    verifier = AssertionVerifier(directory.get, None, "http://127.0.0.1:1/auth/token")  # type: ignore[arg-type]
    assert verifier._entry(KE, KE, None) is None
    assert verifier._entry(HOSPITAL, HOSPITAL, None) is not None


def _porsanger(her_id: str) -> list[Any]:
    return organisation_entry(
        synthetic_orgnr(random.Random(5628)),
        "Porsáŋggu gielda – Porsanger kommune",
        "http://127.0.0.1:18083",
        kommunenummer="5628",
        coordinating_unit=True,
        jwks=JWKS,
        her_id=her_id,
    )


def test_a_her_id_twice_in_one_file_is_refused() -> None:
    with pytest.raises(DirectoryFileError) as refused:
        parse_directory(directory_bundle(*_legacy(), *_porsanger("9990201")))
    [issue] = refused.value.issues
    assert issue.message_id == "IP-6023" and issue.expression == (
        "Bundle.entry[2].resource.identifier",
    )
    assert KE in issue.text


def test_a_merged_load_may_not_take_a_her_id_another_organisation_holds() -> None:
    directory = _directory(*_legacy(), *_fhir())
    with pytest.raises(DirectoryFileError) as refused:
        directory.load(parse_directory(directory_bundle(*_porsanger("9990201"))))
    assert [i.message_id for i in refused.value.issues] == ["IP-6023"]
    assert directory.by_her_id("9990201") == directory.get(KE)  # nothing of the load stored
    assert len(directory.entries()) == 2
    directory.load(parse_directory(directory_bundle(*_legacy())))  # its own again: fine
    directory.load(parse_directory(directory_bundle(*_porsanger("9990201"))), replace=True)
    assert [e.her_id for e in directory.entries()] == ["9990201"]  # a whole new directory: fine
