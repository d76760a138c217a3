"""The legacy inbox files a message with the one organisation its Receiver names — never with
whichever directory entry sorts first (adapter/sync/transports/inbox.py step 3). A directory
loaded before IP-6023 refused a shared HER-id may still hold one; the message is then refused
(IP-6157), as it is when the organisation's HER-id and organisasjonsnummer name different
organisations."""

from __future__ import annotations

import datetime as dt
import json
import random
from pathlib import Path

from sqlalchemy import Engine

from ipfhir.adapter.bootstrap import build_wiring
from ipfhir.adapter.directory import SqlDirectory, parse_directory
from ipfhir.adapter.directory.build import directory_bundle, organisation_entry
from ipfhir.adapter.ports import SearchQuery
from ipfhir.adapter.settings import Settings
from ipfhir.adapter.store.engine import WRITE_OPTION
from ipfhir.adapter.store.schema import directory_entries
from ipfhir.mappings.identifiers import synthetic_orgnr
from ipfhir.mappings.legacy import AppRec, read_message
from tests.unit.legacy.conftest import FIXTURES
from tests.unit.legacy.world import KE_HER, MUNICIPALITY, inbox, load

BASE = "http://127.0.0.1:18082"
NOTICE = (FIXTURES / "dialog-1.1-behov-for-ip.xml").read_bytes()
OTHER = synthetic_orgnr(random.Random(1))  # sorts before Karasjok's number


def _porsanger(her_id: str) -> dict[str, object]:
    """A directory row as an older load (before IP-6023) could have stored it."""
    [entry] = parse_directory(
        directory_bundle(
            *organisation_entry(
                OTHER,
                "Porsáŋggu gielda – Porsanger kommune",
                BASE,
                kommunenummer="5628",
                coordinating_unit=True,
                jwks_url=f"{BASE}/.well-known/jwks.json",
                her_id=her_id,
            )
        )
    )
    assert entry.endpoint is not None
    return {
        "orgnr": entry.orgnr,
        "kommunenummer": entry.kommunenummer,
        "coordinating_unit": True,
        "routable": True,
        "organization": json.dumps(entry.organization, ensure_ascii=False),
        "endpoint": json.dumps(entry.endpoint.resource, ensure_ascii=False),
        "loaded_at": dt.datetime(2026, 1, 1).isoformat(),
    }


def _refused_with(
    engine: Engine, tmp_path: Path, her_id: str, message: bytes = NOTICE
) -> tuple[str, list[str]]:
    wiring = build_wiring(Settings(data_dir=tmp_path, dev_mode=True), engine=engine)
    directory = SqlDirectory(engine)
    load(directory, BASE, tmp_path.as_uri())
    with engine.execution_options(**{WRITE_OPTION: True}).begin() as conn:
        conn.execute(directory_entries.insert().values(**_porsanger(her_id)))
    reply = inbox(wiring, directory, BASE).handle(message)
    assert reply is not None
    receipt = read_message(reply.data)
    assert isinstance(receipt, AppRec)
    owners = [
        t["owner"]["identifier"]["value"]
        for t in wiring.repository.search(SearchQuery("Task", count=50)).matches
    ]
    return (receipt.errors[0].ot or "") if receipt.errors else receipt.outcome, owners


def test_a_her_id_two_organisations_hold_files_the_notice_with_neither(
    engine: Engine, tmp_path: Path
) -> None:
    answer, owners = _refused_with(engine, tmp_path, KE_HER)
    assert answer.startswith("IP-6157: ") and owners == []


def test_an_unshared_her_id_of_another_organisation_changes_nothing(
    engine: Engine, tmp_path: Path
) -> None:
    answer, owners = _refused_with(engine, tmp_path, "9990777")
    assert answer == "ok" and owners == [MUNICIPALITY]


def test_an_organisation_her_id_and_number_naming_two_organisations_file_with_neither(
    engine: Engine, tmp_path: Path
) -> None:
    """The Receiver's unit HER-id is unknown; its organisation HER-id (9990010) is Porsanger's
    while its organisasjonsnummer is Karasjok's."""
    message = NOTICE.replace(b"<Id>9990011</Id>", b"<Id>9990888</Id>")
    answer, owners = _refused_with(engine, tmp_path, "9990010", message)
    assert answer.startswith("IP-6157: ") and owners == []
