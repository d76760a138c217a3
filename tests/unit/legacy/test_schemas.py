"""The shipped schema set: an unedited copy with its licence, compiled once (also under threads),
imports answered from the package only."""

from __future__ import annotations

import hashlib
from concurrent.futures import ThreadPoolExecutor
from importlib import resources

import pytest
from lxml import etree  # type: ignore[import-untyped]

from ipfhir.mappings.legacy import read_message, schemas
from tests.unit.legacy.conftest import FIXTURES, REFERENCE, reference_or_skip

XSD = resources.files("ipfhir.mappings.legacy").joinpath("xsd")


def test_copy_is_marked_and_licensed() -> None:
    provenance = XSD.joinpath("PROVENANCE.md").read_text(encoding="utf-8")
    assert "1e6a50b265c7d6f2087cc8a9e9876b788ed89b83" in provenance and "unedited" in provenance
    assert "MIT License" in XSD.joinpath("LICENSE").read_text(encoding="utf-8")


def test_copy_is_unedited() -> None:
    reference_or_skip()  # skips only off CI, without the shared folder (see conftest)
    source = REFERENCE / "ks-no-fiks-nhn-client"
    for original in source.iterdir():
        shipped = XSD.joinpath(original.name).read_bytes()
        assert hashlib.sha256(shipped).digest() == hashlib.sha256(original.read_bytes()).digest()


def test_compiled_once_even_when_threads_race() -> None:
    schemas._compiled.clear()
    data = [p.read_bytes() for p in sorted(FIXTURES.glob("*.xml"))] * 4
    with ThreadPoolExecutor(max_workers=8) as pool:
        compiled = list(pool.map(lambda _: schemas.message_schema(), range(16)))
        models = list(pool.map(read_message, data))
    assert len({id(c) for c in compiled}) == 1
    assert models[:5] == models[5:10] == models[15:20]


def test_imports_outside_the_package_are_refused() -> None:
    parser = etree.XMLParser(no_network=True)
    parser.resolvers.add(schemas._PackageResolver())
    driver = etree.fromstring(
        b'<xs:schema xmlns:xs="http://www.w3.org/2001/XMLSchema">'
        b'<xs:import namespace="urn:x" schemaLocation="http://example.org/evil.xsd"/>'
        b"</xs:schema>",
        parser,
        base_url=str(schemas._folder() / "probe.xsd"),
    )
    with pytest.raises(etree.XMLSchemaParseError):
        etree.XMLSchema(driver)


def test_one_schema_set_knows_every_supported_root() -> None:
    schema = schemas.message_schema()
    for name in ("dialog-1.1-behov-for-ip.xml", "apprec-1.1-ok.xml", "apprec-1.0-ok-med-feil.xml"):
        assert schema.validate(etree.fromstring((FIXTURES / name).read_bytes()))
