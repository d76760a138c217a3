"""Directory files: the fixture reads as the entries it describes; every broken rule is one
IP-60xx refusal at the offending element; hostile shapes are refusals, never crashes."""

from __future__ import annotations

import base64
import copy
import json
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric import ec

from ipfhir.adapter.auth.orgkey import jwk_thumbprint, public_jwk
from ipfhir.adapter.directory import DirectoryFileError, parse_directory
from ipfhir.adapter.directory.build import directory_bundle, organisation_entry
from ipfhir.adapter.directory.model import (
    JWKS_EXTENSION,
    MUNICIPALITY_EXTENSION,
    is_kommunenummer,
    person_kommunenummer,
)

FIXTURE = Path(__file__).resolve().parents[3] / "fixtures" / "directory" / "nord-norge.json"
TROMSO_KE, KAUTOKEINO_KE, UNJARGA, UNN = "953761106", "933086860", "994459856", "961651727"


def fixture() -> dict[str, Any]:
    data: dict[str, Any] = json.loads(FIXTURE.read_text(encoding="utf-8"))
    return data


def _ids(err: DirectoryFileError) -> list[tuple[str, tuple[str, ...]]]:
    return [(i.message_id, i.expression) for i in err.issues]


def _public_jwks() -> dict[str, Any]:
    key = ec.generate_private_key(ec.SECP256R1()).public_key()
    return {"keys": [public_jwk(key, jwk_thumbprint(key))]}


def test_the_fixture_reads_as_four_organisations() -> None:
    entries = {e.orgnr: e for e in parse_directory(fixture())}
    assert set(entries) == {TROMSO_KE, KAUTOKEINO_KE, UNJARGA, UNN}
    ke = entries[TROMSO_KE]
    assert (ke.kommunenummer, ke.coordinating_unit, ke.routable) == ("5501", True, True)
    assert ke.name == "Romsa suohkan / Tromsø kommune – koordinerende enhet"
    assert ke.endpoint is not None and ke.endpoint.jwks is not None
    assert ke.endpoint.token_url == "https://ip.tromso.kommune.example.no/fhir/auth/token"
    kautokeino = entries[KAUTOKEINO_KE].endpoint
    assert kautokeino is not None and kautokeino.jwks is None
    assert kautokeino.jwks_url == "https://ip.guovdageaidnu.example.no/fhir/.well-known/jwks.json"
    assert entries[UNN].coordinating_unit is False
    assert entries[UNN].endpoint is not None
    assert entries[UNN].endpoint.payload_types == ("ip-notification", "ip-plan")
    assert entries[UNN].endpoint.connection_type == "hl7-fhir-rest"


@pytest.mark.parametrize(
    ("value", "ok"),
    [("5501", True), ("0301", True), ("5636", True), ("0000", False), ("5700", False)]
    + [("301", False), ("55011", False), ("55a1", False), ("5500", False), ("٥٥٠١", False)],
)
def test_kommunenummer_format(value: str, ok: bool) -> None:
    assert is_kommunenummer(value) is ok


def _org(bundle: dict[str, Any], n: int = 0) -> dict[str, Any]:
    res: dict[str, Any] = bundle["entry"][n]["resource"]
    return res


def _break(change: Any) -> DirectoryFileError:
    bundle = fixture()
    change(bundle)
    with pytest.raises(DirectoryFileError) as caught:
        parse_directory(bundle)
    return caught.value


def test_an_orgnr_with_a_wrong_control_digit_is_refused() -> None:
    err = _break(lambda b: _org(b)["identifier"][0].update(value="953761107"))
    assert _ids(err) == [("IP-6012", ("Bundle.entry[0].resource.identifier",))]


def test_an_organisation_without_orgnr_is_refused() -> None:
    err = _break(lambda b: _org(b).pop("identifier"))
    assert _ids(err) == [("IP-6012", ("Bundle.entry[0].resource.identifier",))]


def test_a_kommunenummer_of_three_digits_is_refused() -> None:
    def change(b: dict[str, Any]) -> None:
        _org(b)["address"][0]["_district"]["extension"][0]["valueCoding"]["code"] = "501"

    err = _break(change)
    assert _ids(err) == [("IP-6014", ("Bundle.entry[0].resource.address.district",))]


def test_a_coordinating_unit_without_kommunenummer_is_refused() -> None:
    err = _break(lambda b: _org(b).pop("address"))
    assert [i for i, _ in _ids(err)] == ["IP-6015"]


def test_two_coordinating_units_for_one_kommune_are_refused() -> None:
    def change(b: dict[str, Any]) -> None:
        unn = _org(b, 6)
        unn["type"] = copy.deepcopy(_org(b)["type"])

    err = _break(change)
    assert _ids(err) == [("IP-6015", ("Bundle.entry[6].resource.type",))]


def test_an_organisation_twice_is_refused() -> None:
    def change(b: dict[str, Any]) -> None:
        _org(b, 4)["identifier"] = copy.deepcopy(_org(b, 6)["identifier"])

    err = _break(change)
    assert _ids(err) == [("IP-6013", ("Bundle.entry[6].resource.identifier",))]


def test_an_endpoint_reference_to_nothing_is_refused() -> None:
    err = _break(lambda b: _org(b)["endpoint"][0].update(reference="Endpoint/finnes-ikke"))
    assert _ids(err) == [("IP-6016", ("Bundle.entry[0].resource.endpoint[0]",))]


@pytest.mark.parametrize(
    "address",
    [
        "http://ip.tromso.kommune.example.no/fhir",  # plain http beyond this machine
        "https://bruker:passord@ip.tromso.example.no/fhir",
        "https://ip.tromso.example.no/fhir?x=1",
        "/fhir",
        "ftp://ip.tromso.example.no/fhir",
        42,
    ],
)
def test_an_unusable_endpoint_address_is_refused(address: Any) -> None:
    err = _break(lambda b: _org(b, 1).update(address=address))
    assert _ids(err) == [("IP-6017", ("Bundle.entry[1].resource.address",))]


def _set_jwks(bundle: dict[str, Any], attachment: Any) -> None:
    _org(bundle, 1)["extension"] = [{"url": JWKS_EXTENSION, "valueAttachment": attachment}]


def _data(value: Any) -> dict[str, str]:
    return {"data": base64.b64encode(json.dumps(value).encode()).decode()}


@pytest.mark.parametrize(
    "attachment",
    [
        None,
        {"url": "http://nøkler.example.no/jwks.json"},
        {"data": "ikke base64 ☃"},
        _data({"keys": []}),
        _data({"keys": [{"kty": "oct", "k": "aGVtbWVsaWc"}]}),  # a shared secret
        _data([1, 2]),
    ],
)
def test_an_unusable_jwks_is_refused(attachment: Any) -> None:
    err = _break(lambda b: _set_jwks(b, attachment))
    assert [i for i, _ in _ids(err)] == ["IP-6018"]


def test_a_private_key_in_the_directory_is_refused() -> None:
    private = ec.generate_private_key(ec.SECP256R1())
    jwk = public_jwk(private.public_key(), "k1")
    jwk["d"] = base64.urlsafe_b64encode(
        private.private_numbers().private_value.to_bytes(32, "big")
    ).decode()
    err = _break(lambda b: _set_jwks(b, _data({"keys": [jwk]})))
    assert _ids(err)[0][0] == "IP-6018"
    assert "private key" in err.issues[0].text


@pytest.mark.parametrize(
    "bundle",
    [[], "Bundle", {"resourceType": "Patient"}, {"resourceType": "Bundle", "type": "batch"}],
)
def test_not_a_directory_bundle(bundle: Any) -> None:
    with pytest.raises(DirectoryFileError) as caught:
        parse_directory(bundle)
    assert [i for i, _ in _ids(caught.value)] == ["IP-6011"]


def test_a_patient_in_the_directory_file_is_refused() -> None:
    err = _break(lambda b: b["entry"].append({"resource": {"resourceType": "Patient"}}))
    assert _ids(err) == [("IP-6011", ("Bundle.entry[8].resource",))]


WRONG_TYPES = ["tekst", 7, None, True, [1, "x", None], {"a": 1}, [{"b": []}]]
ORG_KEYS = ["identifier", "address", "type", "extension", "endpoint", "name", "active"]
ENDPOINT_KEYS = ["status", "connectionType", "payloadType", "address", "extension"]


@pytest.mark.parametrize("wrong", WRONG_TYPES)
def test_wrong_json_types_are_refusals_not_crashes(wrong: Any) -> None:
    for n, keys in ((0, ORG_KEYS), (1, ENDPOINT_KEYS)):
        for key in keys:
            bundle = fixture()
            _org(bundle, n)[key] = copy.deepcopy(wrong)
            try:
                parse_directory(bundle)
            except DirectoryFileError as err:
                assert err.issues[0].message_id.startswith("IP-60")
    for where in ("entry", "type"):
        bundle = fixture()
        bundle[where] = copy.deepcopy(wrong)
        try:
            parse_directory(bundle)
        except DirectoryFileError as err:
            assert err.issues[0].message_id.startswith("IP-60")


def test_an_inactive_organisation_is_kept_but_not_routable() -> None:
    orgnr = UNJARGA
    resources = organisation_entry(
        orgnr, "Unjárgga gielda", "https://ip.example.no/fhir", jwks=_public_jwks()
    )
    resources[0]["active"] = False
    [entry] = parse_directory(directory_bundle(*resources))
    assert entry.routable is False


def _address(code: str, **more: Any) -> dict[str, Any]:
    coding = {"system": "https://register.geonorge.no/sosi-kodelister/kommunenummer", "code": code}
    ext = {"url": MUNICIPALITY_EXTENSION, "valueCoding": coding}
    return {"line": ["Storgáhta 1"], "_district": {"extension": [ext]}, **more}


@pytest.mark.parametrize(
    ("addresses", "expected"),
    [
        ([_address("5612")], "5612"),
        ([_address("5612", use="home")], "5612"),
        ([_address("5501", period={"end": "2024-01-31"}), _address("5612")], "5612"),  # moved
        ([_address("5501", use="work"), _address("5612")], "5612"),
        ([_address("5501"), _address("5612")], None),  # two homes in force: no guess
        ([_address("501")], None),
        ([{"line": ["Uten kommune"]}], None),
        ("tekst", None),
    ],
)
def test_person_kommunenummer(addresses: Any, expected: str | None) -> None:
    patient = {"resourceType": "Patient", "address": addresses}
    assert person_kommunenummer(patient, "2024-06-01") == expected
