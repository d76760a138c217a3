"""Two adapters on this machine for the delivery engine's fault tests and ``bench/bench_sync.py``:
the receiving municipality M, a real ``ipfhir serve --dev`` process (its own SQLite data folder,
killable and restartable on the same port), and the sending hospital H, a database (SQLite or
PostgreSQL) with its outbox, its directory naming M, and its organisation key — delivered by
workers in this process. M's directory names H with H's JWKS inline (H runs no server), so
H's workers log in at M's token endpoint exactly as ``ipfhir worker`` does.

Messages are ip-notifications for ``persons`` synthetic persons (valid-checksum fødselsnummer),
queued straight into the outbox: what is measured and proven is delivery, not the sender's
consent reads (those have their own tests and bench)."""

from __future__ import annotations

import datetime as dt
import json
import random
import subprocess
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, func, select

from ipfhir.adapter.auth.orgkey import organisation_key
from ipfhir.adapter.directory import SqlDirectory, parse_directory
from ipfhir.adapter.directory.build import directory_bundle, organisation_entry
from ipfhir.adapter.fhir.validation import minimal_structural_check
from ipfhir.adapter.startup import prepare_database
from ipfhir.adapter.store import SqlRepository, make_engine
from ipfhir.adapter.store.outbox import Outbox, enqueue
from ipfhir.adapter.store.schema import received_messages, resources
from ipfhir.adapter.sync.messaging import Party, code, message_bundle
from ipfhir.adapter.sync.policy import RetryPolicy
from ipfhir.adapter.sync.tokens import DirectoryTokens
from ipfhir.adapter.sync.worker import HttpTransport, Transport, Worker
from ipfhir.mappings.identifiers import FNR_SYSTEM, synthetic_fnr, synthetic_orgnr
from tests.integration.conftest import free_port, start_server

__all__ = ["Exchange", "HOSPITAL", "MUNICIPALITY"]

HOSPITAL = synthetic_orgnr(random.Random(1000))  # UNN HF – Sámi klinihkka
MUNICIPALITY = synthetic_orgnr(random.Random(5501))  # Romsa suohkan – koordinerende enhet
H_BASE = "http://127.0.0.1:9"  # H's address in M's directory (the messages' source)


@dataclass
class Exchange:
    h_engine: Engine
    h_data: Path
    m_data: Path
    log: Path
    port: int = field(default_factory=free_port)
    proc: subprocess.Popen[bytes] | None = None
    _fnrs: list[str] = field(default_factory=list)

    @property
    def m_base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def destination(self) -> str:
        return f"{self.m_base}/$process-message"

    def prepare(self) -> None:
        """Both databases and directories; M started."""
        self.h_data.mkdir(parents=True, exist_ok=True)
        self.m_data.mkdir(parents=True, exist_ok=True)
        prepare_database(self.h_engine)
        key = organisation_key(self.h_data)
        m_engine = make_engine(f"sqlite:///{(self.m_data / 'ipfhir.sqlite3').resolve()}")
        prepare_database(m_engine)
        h_entry = organisation_entry(HOSPITAL, "UNN HF – Sámi klinihkka", H_BASE, jwks=key.jwks())
        SqlDirectory(m_engine).load(parse_directory(directory_bundle(*h_entry)))
        m_engine.dispose()
        m_entry = organisation_entry(
            MUNICIPALITY,
            "Romsa suohkan – koordinerende enhet",
            self.m_base,
            kommunenummer="5501",
            coordinating_unit=True,
            jwks_url=f"{self.m_base}/.well-known/jwks.json",
        )
        SqlDirectory(self.h_engine).load(parse_directory(directory_bundle(*m_entry)))
        self.start()

    def start(self, *extra: str) -> None:
        args = ["--data-dir", str(self.m_data), *extra]
        self.proc = start_server(args, self.port, self.log)

    def kill(self) -> None:
        assert self.proc is not None
        self.proc.kill()  # SIGKILL: no shutdown, a transaction under way is cut off
        self.proc.wait(timeout=30)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(timeout=30)

    def queue(self, count: int, persons: int, start: int = 0) -> list[str]:
        """``count`` notifications, person ``n % persons``, one write transaction each."""
        if len(self._fnrs) < persons:
            rng = random.Random(4242)
            self._fnrs = [
                synthetic_fnr(dt.date(1940, 1, 1) + dt.timedelta(days=rng.randrange(25000)), rng)
                for _ in range(persons)
            ]
        repo = SqlRepository(self.h_engine, minimal_structural_check)
        ids = []
        for n in range(start, start + count):
            person = n % persons
            bundle = self.notification(self._fnrs[person], n)
            with repo.begin_write() as conn:
                ids.append(
                    enqueue(
                        conn,
                        destination=self.destination,
                        kind="ip-notification",
                        payload=bundle,
                        person=f"Patient/bench-{person}",
                        message_id=bundle["id"],
                    )
                )
        return ids

    def notification(self, fnr: str, n: int) -> dict[str, Any]:
        h = Party(HOSPITAL, "UNN HF – Sámi klinihkka", H_BASE)
        m = Party(MUNICIPALITY, "Romsa suohkan – koordinerende enhet", self.m_base)
        pid, tid = str(uuid.uuid4()), str(uuid.uuid4())
        patient = {
            "resourceType": "Patient",
            "id": pid,
            "identifier": [{"system": FNR_SYSTEM, "value": fnr}],
            "name": [{"family": "Sørli", "given": ["Åse"]}],
        }
        task = {
            "resourceType": "Task",
            "id": tid,
            "identifier": [{"system": "urn:ietf:rfc:3986", "value": f"urn:uuid:{tid}"}],
            "status": "requested",
            "intent": "proposal",
            "code": code("ip-notification"),
            "for": {"reference": f"urn:uuid:{pid}"},
            "requester": h.reference(),
            "owner": m.reference(),
            "reasonCode": {"text": f"Melding {n}: trenger koordinator før utskriving"},
        }
        return message_bundle(
            message_id=str(uuid.uuid4()),
            event="ip-notification",
            source=h,
            destination=m,
            timestamp="2026-12-01T14:00:00Z",
            resources=[task, patient],
        )

    def worker(
        self, policy: RetryPolicy, transport: Transport[Any, Any] | None = None, batch: int = 20
    ) -> Worker:
        tokens = DirectoryTokens(
            SqlDirectory(self.h_engine), organisation_key(self.h_data), HOSPITAL
        )
        made = transport or HttpTransport(connect_timeout=1, read_timeout=10, token_for=tokens)
        return Worker(Outbox(self.h_engine), made, policy, batch=batch)

    def tokens(self) -> DirectoryTokens:
        return DirectoryTokens(SqlDirectory(self.h_engine), organisation_key(self.h_data), HOSPITAL)

    def received(self) -> tuple[int, int, int]:
        """At M: (received message rows, Tasks, distinct Task identifiers)."""
        m_engine = make_engine(f"sqlite:///{(self.m_data / 'ipfhir.sqlite3').resolve()}")
        try:
            with m_engine.connect() as conn:
                rows = conn.execute(
                    select(func.count())
                    .select_from(received_messages)
                    .where(received_messages.c.sender == HOSPITAL)
                ).scalar_one()
            tasks = _task_identifiers(m_engine)
        finally:
            m_engine.dispose()
        return int(rows), len(tasks), len(set(tasks))


def _task_identifiers(engine: Engine) -> list[str]:
    with engine.connect() as conn:
        bodies = conn.execute(
            select(resources.c.body).where(
                resources.c.res_type == "Task", resources.c.deleted.is_(False)
            )
        ).scalars()
        return [
            i["value"]
            for body in bodies
            for i in json.loads(body).get("identifier", [])
            if i.get("system") == "urn:ietf:rfc:3986"
        ]
