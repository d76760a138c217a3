"""``ipfhir serve --worker-as ORGNR``: the delivery worker runs inside the server process. The
hospital's server delivers its notification to the municipality's server with no ``ipfhir
worker`` anywhere, and stops cleanly on SIGTERM (exit 0, the worker's stop line in its log,
nothing left in flight); an unusable organisasjonsnummer stops the start (IP-6124, exit 2)."""

from __future__ import annotations

import json
import signal
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from ipfhir.adapter.bootstrap import build_wiring
from ipfhir.adapter.cli.main import main
from ipfhir.adapter.settings import Settings
from ipfhir.adapter.store.outbox import Outbox
from tests.api.notify_world import PID, hospital_resources
from tests.integration.conftest import free_port, start_server
from tests.integration.test_two_instances_auth import (
    HOSPITAL,
    MUNICIPALITY,
    Instance,
    ipfhir,
    trust,
)

pytestmark = pytest.mark.slow


@pytest.fixture
def servers(tmp_path: Path) -> Iterator[tuple[Instance, Instance, Any, Path]]:
    made = []
    for orgnr, name in ((HOSPITAL, "h"), (MUNICIPALITY, "m")):
        data = tmp_path / name / "data"
        data.parent.mkdir()
        made.append((Instance(orgnr, f"http://127.0.0.1:{free_port()}", data), name))
    (h, _), (m, _) = made
    wiring = build_wiring(Settings(data_dir=h.data, dev_mode=True))  # H's plan, before it starts
    for res in hospital_resources():
        wiring.repository.update(res["resourceType"], res["id"], res)
    wiring.engine.dispose()
    h_log = tmp_path / "h.log"
    h_port, m_port = (int(i.base.rsplit(":", 1)[1]) for i in (h, m))
    h_proc = start_server(["--data-dir", str(h.data), "--worker-as", h.orgnr], h_port, h_log)
    m_proc = start_server(["--data-dir", str(m.data)], m_port, tmp_path / "m.log")
    try:
        trust(h, m, "Romsa suohkan – koordinerende enhet", "--kommune", "5501", "--ke")
        trust(m, h, "Universitetssykehuset Nord-Norge HF – Sámi klinihkka", "--kommune", "5501")
        yield h, m, h_proc, h_log
    finally:
        for proc in (h_proc, m_proc):
            if proc.poll() is None:
                proc.terminate()
                proc.wait(timeout=30)


def test_the_server_delivers_its_outbox_and_stops_cleanly(
    servers: tuple[Instance, Instance, Any, Path],
) -> None:
    h, m, h_proc, h_log = servers
    sender = ("--as", h.orgnr, "--from-base", h.base, "--data-dir", str(h.data))
    queued = ipfhir(
        "notify", "--patient", PID, "--to-kommune", "5501", "--reason", "Hjerneslag", *sender
    )
    assert queued.returncode == 0, queued.stderr
    box = Outbox(build_wiring(Settings(data_dir=h.data, dev_mode=True)).engine)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and box.metrics()["delivered"] < 1:
        time.sleep(0.2)
    [message] = box.list()
    assert (message.status, message.attempts) == ("delivered", 1), message.last_error
    inbox = ipfhir("notify", "inbox", "--data-dir", str(m.data))
    assert [json.loads(line)["reasonCode"]["text"] for line in inbox.stdout.splitlines()] == [
        "Hjerneslag"
    ]
    h_proc.send_signal(signal.SIGTERM)
    assert h_proc.wait(timeout=60) == 0
    log = h_log.read_text(errors="replace")
    assert f"delivering the outbox as {h.orgnr}" in log and "outbox worker stopped" in log
    assert "Traceback" not in log
    assert box.metrics()["in_flight"] == 0


def test_an_unusable_organisation_number_stops_the_start(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(["serve", "--dev", "--data-dir", str(tmp_path), "--worker-as", "123456789"])
    assert code == 2
    assert capsys.readouterr().err.startswith("ipfhir: IP-6124: ")
