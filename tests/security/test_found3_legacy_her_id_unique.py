"""A HER-id names one communication party (Adresseregisteret), and the legacy inbox files a
received notice with the organisation whose HER-id the MsgHead Receiver names
(adapter/sync/transports/inbox.py ``_addressee``: the unit's HER-id first, then the
organisation's, then the organisasjonsnummer). The directory accepts a second organisation with
a HER-id another organisation already holds (a merged load checks only one coordinating unit
per kommunenummer), and the HER lookup then takes whichever entry sorts first."""

from __future__ import annotations

import random
from pathlib import Path

from sqlalchemy import Engine

from ipfhir.adapter.bootstrap import build_wiring
from ipfhir.adapter.directory import SqlDirectory, parse_directory
from ipfhir.adapter.directory.build import directory_bundle, organisation_entry
from ipfhir.adapter.ports import SearchQuery
from ipfhir.adapter.settings import Settings
from ipfhir.mappings.errors import IpError
from ipfhir.mappings.identifiers import synthetic_orgnr
from tests.unit.legacy.conftest import FIXTURES
from tests.unit.legacy.world import KE_HER, MUNICIPALITY, inbox, load

BASE = "http://127.0.0.1:18082"
NOTICE = (FIXTURES / "dialog-1.1-behov-for-ip.xml").read_bytes()
OTHER = synthetic_orgnr(random.Random(1))  # 929141776: sorts before Karasjok's number


def test_a_second_organisation_cannot_take_a_her_id_and_with_it_the_inbox(
    engine: Engine, tmp_path: Path
) -> None:
    """Attacker: whoever gets a directory file merged (an operator loading a partner's or a
    regional list, or a typo in one) gives another organisation served here — Porsanger
    kommune, say — the HER-id of Karasjok's koordinerende enhet. Changed: Finnmarkssykehuset's
    notice addressed to Karasjok's unit (its HER-id, and Karasjok's organisasjonsnummer) is
    filed as a Task in *Porsanger's* inbox: Porsanger's coordinating unit reads a Karasjok
    person's notice, and Karasjok never gets it (the hospital is answered OK). Correct answer:
    the load is refused (the HER-id is held by another organisation), or at the least a
    Receiver whose HER-id and organisasjonsnummer name different organisations is not filed
    with either; the notice lands with Karasjok or is refused."""
    wiring = build_wiring(Settings(data_dir=tmp_path, dev_mode=True), engine=engine)
    directory = SqlDirectory(engine)
    load(directory, BASE, tmp_path.as_uri())
    other = organisation_entry(
        OTHER,
        "Porsáŋggu gielda – Porsanger kommune",
        BASE,
        kommunenummer="5628",
        coordinating_unit=True,
        jwks_url=f"{BASE}/.well-known/jwks.json",
        her_id=KE_HER,
    )
    try:
        directory.load(parse_directory(directory_bundle(*other)))
    except IpError:
        return  # refused: the correct answer
    reply = inbox(wiring, directory, BASE).handle(NOTICE)
    assert reply is not None
    owners = [
        t["owner"]["identifier"]["value"]
        for t in wiring.repository.search(SearchQuery("Task", count=50)).matches
    ]
    assert OTHER not in owners, "Karasjok's notice was filed in Porsanger's inbox"
    assert owners in ([MUNICIPALITY], [])
