"""End to end with real ``ipfhir serve --dev`` processes and the real CLI:

- a legacy hospital (Finnmarkssykehuset, a folder) sends a Dialogmelding notice; ``ipfhir
  legacy receive`` on the FHIR municipality files it as a Task in the coordinating unit's inbox
  (seen over HTTP by the KE's token), and the AppRec goes back to the hospital's folder; hostile
  XML gets an AppRec «avvist» and stores nothing;
- the reverse: a FHIR hospital's ``ipfhir notify`` to a legacy municipality (a folder) leaves
  with ``ipfhir worker`` as a valid Dialogmelding without the refused topic; the municipality's
  AppRec and its answer (accepted, coordinator appointed) come back through ``ipfhir legacy
  receive``, and the hospital's Task is accepted."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from lxml import etree  # type: ignore[import-untyped]

from ipfhir.adapter.bootstrap import build_wiring
from ipfhir.adapter.directory.build import directory_bundle, organisation_entry
from ipfhir.adapter.settings import Settings
from ipfhir.adapter.sync.messaging import NOTIFICATION_RESPONSE, Party, code, message_bundle
from ipfhir.mappings.legacy import AppRec, Message, read_message, write
from ipfhir.mappings.legacy.fhir import from_fhir, to_fhir
from ipfhir.mappings.legacy.schemas import message_schema
from ipfhir.mappings.legacy.write_apprec import receipt_for
from tests.api.notify_world import HOSPITAL as H_ORGNR
from tests.api.notify_world import KE as KE_ORGNR
from tests.api.notify_world import PID, hospital_resources
from tests.integration.conftest import dev_token, free_port, start_server
from tests.integration.test_two_instances_auth import ipfhir
from tests.unit.legacy.conftest import FIXTURES
from tests.unit.legacy.world import MUNICIPALITY, entries

pytestmark = pytest.mark.slow

NOTICE = (FIXTURES / "dialog-1.1-behov-for-ip.xml").read_bytes()


@pytest.fixture
def server(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    port = free_port()
    data = tmp_path / "data"
    proc = start_server(["--data-dir", str(data)], port, tmp_path / "serve.log")
    try:
        yield f"http://127.0.0.1:{port}", data
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def _load(data: Path, resources: list[Any]) -> None:
    file = data.parent / "katalog.json"
    file.write_text(json.dumps(directory_bundle(*resources), ensure_ascii=False), encoding="utf-8")
    done = ipfhir("directory", "load", str(file), "--data-dir", str(data))
    assert done.returncode == 0, done.stderr


def _receive(data: Path, orgnr: str, folder: Path, *extra: str) -> None:
    done = ipfhir(
        "legacy", "receive", "--as", orgnr, "--folder", str(folder), "--once",
        "--data-dir", str(data), *extra,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr


def _valid(data: bytes) -> Message | AppRec:
    assert message_schema().validate(etree.fromstring(data)), message_schema().error_log
    return read_message(data)


def _folders(root: Path, *names: str) -> list[Path]:
    made = [root / n for n in names]
    for folder in made:
        folder.mkdir()
    return made


def test_a_legacy_hospital_notifies_a_fhir_municipality(
    server: tuple[str, Path], tmp_path: Path
) -> None:
    base, data = server
    incoming, hospital, unknown = _folders(tmp_path, "inn", "sykehus", "ukjent")
    _load(data, entries(base, hospital.as_uri()))
    (incoming / "melding-1.xml").write_bytes(NOTICE)
    (incoming / "xxe.xml").write_bytes((FIXTURES / "hostile" / "xxe-file.xml").read_bytes())
    _receive(data, MUNICIPALITY, incoming, "--reply", unknown.as_uri())
    token = dev_token(data, MUNICIPALITY, "system/*.rs")
    found = httpx.get(
        f"{base}/Task?status=requested",
        headers={"Authorization": f"Bearer {token}"},
        timeout=30,
    ).json()
    [task] = [e["resource"] for e in found.get("entry", [])]
    assert task["owner"]["identifier"]["value"] == MUNICIPALITY
    assert "Mun háliidan ovttasbargat" in task["reasonCode"]["text"]
    [ok] = [_valid(p.read_bytes()) for p in hospital.glob("*.xml")]
    assert isinstance(ok, AppRec) and ok.outcome == "ok"
    assert ok.original.id == "6f1c2a9e-4b7d-4c1e-9a55-0c0ffee00001"
    [avvist] = [_valid(p.read_bytes()) for p in unknown.glob("*.xml")]
    assert isinstance(avvist, AppRec) and avvist.outcome == "rejected"
    assert (avvist.errors[0].ot or "").startswith("IP-6202: ")
    assert sorted(p.name for p in (incoming / ".done").iterdir()) == ["melding-1.xml", "xxe.xml"]


H = Party(H_ORGNR, "UNN HF – Sámi klinihkka", "")
KE = Party(KE_ORGNR, "Romsa suohkan – koordinerende enhet", "")


def test_a_fhir_hospital_notifies_a_legacy_municipality(
    server: tuple[str, Path], tmp_path: Path
) -> None:
    base, data = server
    romsa, incoming = _folders(tmp_path, "romsa", "sykehus-inn")
    _load(
        data,
        [
            *organisation_entry(
                KE.orgnr,
                KE.name,
                romsa.as_uri(),
                kommunenummer="5501",
                coordinating_unit=True,
                her_id="9990201",
                legacy="kith-folder",
            ),
            *organisation_entry(
                H.orgnr,
                H.name,
                base,
                jwks_url=f"{base}/.well-known/jwks.json",
                her_id="9990101",
            ),
        ],
    )
    wiring = build_wiring(Settings(data_dir=data, dev_mode=True))
    for res in hospital_resources():
        wiring.repository.update(res["resourceType"], res["id"], res)
    sender = ("--as", H.orgnr, "--data-dir", str(data))
    done = ipfhir(
        "notify", "--patient", PID, "--to-kommune", "5501", "--reason", "Hjerneslag", *sender
    )
    assert done.returncode == 0, done.stderr
    queued = json.loads(done.stdout.strip().splitlines()[-1])
    worker = ipfhir("worker", "--once", *sender)
    assert worker.returncode == 0, worker.stderr
    [written] = list(romsa.glob("*.xml"))
    notice = _valid(written.read_bytes())
    assert isinstance(notice, Message) and notice.msg_id == queued["message_id"]
    text = written.read_text(encoding="utf-8")
    assert "Tiltak m1: støttekontakt" in text and "rus" not in text
    # the legacy municipality: an AppRec, then its answer (accepted, coordinator appointed)
    receipt = receipt_for(
        notice, receipt_id="c0ffee00-0000-4000-8000-0000000000a1", gen_date=notice.gen_date
    )
    (incoming / "apprec.xml").write_bytes(write(receipt))
    bundle = to_fhir(notice)
    task = bundle["entry"][1]["resource"]
    # the answer is written now: a Task's lastModified is never before its authoredOn (inv-1),
    # and the hospital's Task was authored when this test queued it
    now = dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    answered = {
        "resourceType": "Task",
        "id": "c0ffee00-0000-4000-8000-0000000000a2",
        "identifier": task["identifier"],
        "status": "accepted",
        "intent": "proposal",
        "code": task["code"],
        "lastModified": now,
        "output": [{"type": code("coordinator"), "valueString": "Áslat Nilsen, tlf 77 79 00 00"}],
        "requester": H.reference(),
        "owner": KE.reference(),
    }
    answer = message_bundle(
        message_id="c0ffee00-0000-4000-8000-0000000000a3",
        event=NOTIFICATION_RESPONSE,
        source=Party(KE.orgnr, KE.name, "urn:ipfhir:her:9990201"),
        destination=Party(H.orgnr, H.name, "urn:ipfhir:her:9990101"),
        timestamp=now,
        resources=[answered],
    )
    (incoming / "svar.xml").write_bytes(write(from_fhir(answer)))
    _receive(data, H.orgnr, incoming)
    mine = build_wiring(Settings(data_dir=data, dev_mode=True)).repository.read(
        "Task", queued["task_id"]
    )
    assert mine["status"] == "accepted"
    assert mine["output"][0]["valueString"] == "Áslat Nilsen, tlf 77 79 00 00"
    apprecs = [_valid(p.read_bytes()) for p in romsa.glob("apprec-*.xml")]
    assert [(r.outcome, r.original.id) for r in apprecs] == [  # type: ignore[union-attr]
        ("ok", "c0ffee00-0000-4000-8000-0000000000a3")
    ]
    assert sorted(p.name for p in (incoming / ".done").iterdir()) == ["apprec.xml", "svar.xml"]
