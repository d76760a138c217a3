"""Sharing consent rules per recipient and per source on the project's fixtures, through the
enforcement point on every egress path (JSON and XML):

- sixteen-alone: Ingrid refuses psykisk-helse to the school only (a per-recipient refusal);
- sami-plan: a permit-only consent where Finnmarkssykehuset gets, of the information with a
  topic, only somatisk-helse, behandling, hjelpemidler and mat;
- guardian-adult: nothing from the GP's office (legekontor) to Vekst, his workplace («fra
  nærmere bestemte fagmiljø», a source rule) — NAV still gets it.
"""

from __future__ import annotations

from typing import Any

import pytest

from ipfhir.adapter.consent.context import DIRECTORY_TYPES
from tests.unit.consent.real_plans import (
    Place,
    as_text,
    egress,
    fixture_bundle,
    identifier,
    one,
    shown_parts,
)
from tests.unit.consent.test_real_plans import _stored

ORGNR = "4.101"


def _egress(place: Place, org: str) -> list[dict[str, Any]]:
    orgnr = identifier(one(place.bundle, "Organization", org), ORGNR)
    return egress(place, place.as_actor(orgnr))


def _seen(place: Place, org: str) -> tuple[set[str], str]:
    out = _egress(place, org)
    as_json, as_xml = as_text(out)
    return shown_parts(out), as_json + as_xml


def _id(place: Place, local: str) -> str:
    return f"{place.plan_id}-{local}"


@pytest.fixture(scope="module")
def sixteen() -> Place:
    return _stored(fixture_bundle("sixteen-alone"), "2026-06-01")


@pytest.fixture(scope="module")
def sami() -> Place:
    return _stored(fixture_bundle("sami-plan"), "2026-06-01")


@pytest.fixture(scope="module")
def guardian() -> Place:
    return _stored(fixture_bundle("guardian-adult"), "2026-06-01")


def test_a_topic_refused_to_one_recipient_only(sixteen: Place) -> None:
    school, school_text = _seen(sixteen, "skole")
    hospital, _ = _seen(sixteen, "helse-stavanger")
    mental = {_id(sixteen, "humor"), "bup-samtaler", "n-samtaler"}  # psykisk-helse
    assert mental & school == set()
    assert mental <= hospital  # the refusal names the school only
    assert {_id(sixteen, "skolen"), "tilrettelegging", "n-timeplan"} <= school
    assert "psykisk-helse" not in school_text
    # nor in the free text: the situation, the hospital's and the coordinator's contributions
    for words in ("nedfor", "BUP", "depresjon"):
        assert words not in _person_data(sixteen, "skole"), words
    shown = _person_data(sixteen, "skole")
    assert "Jeg vil selv bestemme hva som står i planen." in shown
    assert "Diabetespoliklinikken møter i ansvarsgruppa" in shown  # somatisk-helse is not refused


def _person_data(place: Place, org: str) -> str:
    """What ``org`` gets of the person's data (directory entries such as a PractitionerRole's
    title are public)."""
    out = [r for r in _egress(place, org) if r["resourceType"] not in DIRECTORY_TYPES]
    as_json, as_xml = as_text(out)
    return as_json + as_xml


def test_a_permit_gives_a_recipient_only_its_topics(sami: Place) -> None:
    hospital, text = _seen(sami, "finnmarkssykehuset")
    assert {"poliklinikka", "ruovttubalvalus", "synshjelpemidler", "n-insulin", "n-syn"} <= hospital
    assert {_id(sami, "biebmu"), _id(sami, "samegiella")} <= hospital  # mat, behandling
    others = {_id(sami, "ruovttus"), _id(sami, "johtin"), "johtin", "n-transport", "r-bearas"}
    assert others & hospital == set()  # bolig, fritid, mobilitet, sosialt-nettverk
    assert '"fritid"' not in text and '"bolig"' not in text
    coordinator = _stored(fixture_bundle("sami-plan"), "2026-06-01")
    orgnr = identifier(one(coordinator.bundle, "Organization", "karasjok"), ORGNR)
    owner = shown_parts(egress(coordinator, coordinator.as_actor(orgnr)))
    assert others <= owner  # the owner gets all of it


def test_nothing_from_a_refused_environment_reaches_that_recipient(guardian: Place) -> None:
    workplace, text = _seen(guardian, "vekst")
    nav, _ = _seen(guardian, "nav")
    assert "helsekontroll" not in workplace  # the GP's measure
    assert "helsekontroll" in nav
    assert {"vta", "praktisk-bistand"} <= workplace
    gp = {
        p["member"]["reference"]
        for p in one(guardian.bundle, "CareTeam")["participant"]
        if "legekontor" in p["member"]["reference"] or "fastlege" in p["member"]["reference"]
    }
    assert len(gp) == 2  # the GP's office and the GP (PractitionerRole at the office)

    def members(out: list[dict[str, Any]]) -> set[str]:
        return {
            p["member"]["reference"]
            for r in out
            if r["resourceType"] == "CareTeam"
            for p in r.get("participant", [])
        }

    assert members(_egress(guardian, "vekst")) & gp == set()
    assert gp <= members(_egress(guardian, "nav"))


def test_the_day_centre_gets_only_its_topics_of_a_plan_consented_by_the_nearest_relative() -> None:
    place = _stored(fixture_bundle("demens-naermeste"), "2026-06-01")
    centre, _ = _seen(place, "dagsenter")
    assert {"dagaktivitet", _id(place, "tur"), "n-dag", "r-sang"} <= centre  # fritid
    assert {
        "hjemmesykepleie",
        "legekontroll",
        _id(place, "avlastning"),
        "n-medisiner",
    } & centre == set()
    text = _person_data(place, "dagsenter")
    assert "Hun trives på dagsenteret" in text  # a part without topics
    assert "Alzheimers sykdom" not in text  # somatisk-helse is not among the centre's topics
