"""``notify`` refuses before anything is queued when the route or the sender cannot be known:
a person with no home address naming a kommunenummer (IP-6052: the caller must name the
target), a sender whose own organisasjonsnummer is malformed (IP-6055) or not in the directory
(IP-6053). These refusals concern the request, not an element of a resource: they carry no
FHIRPath expression."""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine

from ipfhir.adapter.bootstrap import Wiring, build_wiring, secure_factory
from ipfhir.adapter.cli.main import main
from ipfhir.adapter.directory import SqlDirectory
from ipfhir.adapter.directory.model import MUNICIPALITY_EXTENSION
from ipfhir.adapter.ports import SearchQuery
from ipfhir.adapter.services.notify import notify
from ipfhir.adapter.settings import Settings
from ipfhir.adapter.store.outbox import Outbox
from ipfhir.adapter.sync.messages import NotifyRefused
from ipfhir.adapter.sync.messaging import Party
from ipfhir.mappings.identifiers import synthetic_orgnr
from tests.api.notify_world import HOSPITAL, KE, PID, hospital_resources, load_directory

SENDER = Party(HOSPITAL, "UNN HF – Sámi klinihkka", "http://127.0.0.1:18081")


def _home(code: str, **more: Any) -> dict[str, Any]:
    coding = {"system": "https://register.geonorge.no/sosi-kodelister/kommunenummer", "code": code}
    ext = {"url": MUNICIPALITY_EXTENSION, "valueCoding": coding}
    return {"line": ["Storgáhta 1"], "city": "Romsa", "_district": {"extension": [ext]}, **more}


def _hospital(engine: Engine, tmp_path: Path, address: list[dict[str, Any]]) -> Wiring:
    wiring = build_wiring(Settings(data_dir=tmp_path, dev_mode=True), engine=engine)
    for res in hospital_resources():
        if res["resourceType"] == "Patient":
            res = {k: v for k, v in res.items() if k != "address"}
            res |= {"address": address} if address else {}
        wiring.repository.update(res["resourceType"], res["id"], res)
    return wiring


def _queued(engine: Engine, wiring: Wiring) -> list[Any]:
    tasks = wiring.repository.search(SearchQuery("Task", count=50)).matches
    return [*Outbox(engine).list(), *tasks]


def _setup(engine: Engine, tmp_path: Path, address: list[dict[str, Any]]) -> Any:
    wiring = _hospital(engine, tmp_path, address)
    directory = SqlDirectory(engine)
    load_directory(directory, {KE: "http://127.0.0.1:18082"})
    return wiring, directory


def _notify_by_address(wiring: Wiring, directory: SqlDirectory) -> Any:
    """No target given: the person's home address in force routes the notification."""
    return notify(wiring, secure_factory(wiring), directory, sender=SENDER, patient_id=PID)


@pytest.mark.parametrize(
    "address",
    [
        [],
        [{"use": "home", "line": ["Storgáhta 1"], "city": "Romsa"}],  # no kommunenummer
        [_home("5501", period={"end": "2024-01-31"})],  # moved away
        [_home("5501"), _home("5612")],  # two homes in force
    ],
    ids=["no address", "no kommunenummer", "moved away", "two homes"],
)
def test_a_person_without_one_home_kommune_is_not_routed_by_guess(
    engine: Engine, tmp_path: Path, address: list[dict[str, Any]]
) -> None:
    wiring, directory = _setup(engine, tmp_path, address)
    with pytest.raises(NotifyRefused) as refused:
        _notify_by_address(wiring, directory)
    [issue] = refused.value.issues
    assert (issue.message_id, issue.expression, issue.code) == ("IP-6052", (), "required")
    assert PID in issue.text
    assert _queued(engine, wiring) == []


def test_the_home_kommune_in_force_routes_the_notification(engine: Engine, tmp_path: Path) -> None:
    wiring, directory = _setup(engine, tmp_path, [_home("5501", use="home")])
    queued = _notify_by_address(wiring, directory)
    assert queued.receiver == KE and len(_queued(engine, wiring)) == 2  # the message, the Task


def _cli(tmp_path: Path, orgnr: str) -> list[str]:
    return ["notify", "--as", orgnr, "--patient", PID, "--to-org", KE, "--data-dir", str(tmp_path)]


@pytest.mark.parametrize(
    ("orgnr", "message_id"),
    [
        ("98765432", "IP-6055"),  # eight digits
        (HOSPITAL[:-1] + str((int(HOSPITAL[-1]) + 1) % 10), "IP-6055"),  # wrong check digit
        ("Ås kommune", "IP-6055"),
        (synthetic_orgnr(random.Random(6053)), "IP-6053"),  # not in the directory
    ],
)
def test_a_sender_that_cannot_be_named_queues_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], orgnr: str, message_id: str
) -> None:
    assert main(_cli(tmp_path, orgnr)) == 1
    err = capsys.readouterr().err
    assert err.startswith(f"ipfhir: {message_id}: ") and len(err.splitlines()) == 1
    assert " at " not in err  # no element: the refusal is of the argument
