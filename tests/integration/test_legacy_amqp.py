"""Legacy messaging over AMQP against the RabbitMQ server on 127.0.0.1:5672 (skipped with the
reason when it is absent, failing when ``IPFHIR_REQUIRE_RABBITMQ=1`` as in CI): the same
exactly-once rules as the folder — a notice in the queue becomes a Task and an AppRec in the
hospital's queue; a duplicate gets the same AppRec; a message we cannot handle now is given back
once, then dead-lettered to ``<queue>.dead``; a broker that is away is retried, then dead."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from lxml import etree  # type: ignore[import-untyped]
from sqlalchemy import Engine
from sqlalchemy.exc import OperationalError

from ipfhir.adapter.bootstrap import Wiring, build_wiring, secure_factory
from ipfhir.adapter.directory import SqlDirectory, parse_directory
from ipfhir.adapter.directory.build import directory_bundle, organisation_entry
from ipfhir.adapter.ports import SearchQuery
from ipfhir.adapter.services.notify import notify
from ipfhir.adapter.settings import Settings
from ipfhir.adapter.store.outbox import Outbox
from ipfhir.adapter.sync.gate import ConsentGate
from ipfhir.adapter.sync.messaging import Party
from ipfhir.adapter.sync.policy import Attempt, RetryPolicy
from ipfhir.adapter.sync.transports import (
    AmqpChannel,
    AmqpPoller,
    LegacyTransport,
    TransportRouter,
)
from ipfhir.adapter.sync.transports.channels import declare
from ipfhir.adapter.sync.transports.outgoing import her_ids_of
from ipfhir.adapter.sync.worker import Worker
from ipfhir.mappings.legacy import AppRec, Message, read_message
from ipfhir.mappings.legacy.schemas import message_schema
from tests.api.notify_world import HOSPITAL as H_ORGNR
from tests.api.notify_world import KE as KE_ORGNR
from tests.api.notify_world import PID, hospital_resources
from tests.unit.legacy.conftest import FIXTURES
from tests.unit.legacy.rabbit import queue_address, rabbitmq_or_skip
from tests.unit.legacy.world import MUNICIPALITY, inbox, load

BASE = "http://127.0.0.1:18082"
NOTICE = (FIXTURES / "dialog-1.1-behov-for-ip.xml").read_bytes()


@pytest.fixture
def amqp() -> AmqpChannel:
    rabbitmq_or_skip()
    return AmqpChannel()


def _take(channel: AmqpChannel, address: str) -> list[tuple[Any, bytes]]:
    """Every message waiting in the queue (properties, body), acknowledged."""
    connection = channel.connect(address)
    try:
        ch = connection.channel()
        if not address.endswith(".dead"):
            declare(ch, channel.queue_of(address))
        out = []
        while True:
            method, properties, body = ch.basic_get(channel.queue_of(address), auto_ack=True)
            if method is None:
                return out
            out.append((properties, bytes(body)))
    finally:
        connection.close()


def _cleanup(channel: AmqpChannel, *addresses: str) -> None:
    connection = channel.connect(addresses[0])
    try:
        ch = connection.channel()
        for address in addresses:
            queue = channel.queue_of(address)
            ch.queue_delete(queue)
            ch.queue_delete(f"{queue}.dead")
    finally:
        connection.close()


def _valid(data: bytes) -> Message | AppRec:
    assert message_schema().validate(etree.fromstring(data)), message_schema().error_log
    return read_message(data)


def _municipality(
    engine: Engine, tmp_path: Path, amqp: AmqpChannel
) -> tuple[Wiring, AmqpPoller, str, str, str]:
    wiring = build_wiring(Settings(data_dir=tmp_path, dev_mode=True), engine=engine)
    directory = SqlDirectory(engine)
    incoming, hospital, unknown = (queue_address(n) for n in ("inn", "sykehus", "ukjent"))
    load(directory, BASE, hospital, "kith-amqp")
    poller = AmqpPoller(inbox(wiring, directory, BASE), incoming, {"amqp": amqp}, amqp, unknown)
    return wiring, poller, incoming, hospital, unknown


def _tasks(wiring: Wiring) -> list[dict[str, Any]]:
    return wiring.repository.search(SearchQuery("Task", count=50)).matches


def test_a_notice_from_the_queue_lands_and_the_apprec_goes_back(
    engine: Engine, tmp_path: Path, amqp: AmqpChannel
) -> None:
    wiring, poller, incoming, hospital, unknown = _municipality(engine, tmp_path, amqp)
    try:
        amqp.put(incoming, "notice.xml", NOTICE)
        amqp.put(incoming, "notice-again.xml", NOTICE)  # the hospital resends
        assert poller.run_once() == 2
        [task] = _tasks(wiring)
        assert task["owner"]["identifier"]["value"] == MUNICIPALITY
        receipts = _take(amqp, hospital)
        assert len(receipts) == 2 and receipts[0][1] == receipts[1][1]  # the same AppRec twice
        receipt = _valid(receipts[0][1])
        assert isinstance(receipt, AppRec) and receipt.outcome == "ok"
        assert receipt.original.id == "6f1c2a9e-4b7d-4c1e-9a55-0c0ffee00001"
        assert _take(amqp, incoming) == [] and _take(amqp, unknown) == []
    finally:
        _cleanup(amqp, incoming, hospital, unknown)


def test_hostile_xml_from_the_queue_is_answered_avvist(
    engine: Engine, tmp_path: Path, amqp: AmqpChannel
) -> None:
    wiring, poller, incoming, hospital, unknown = _municipality(engine, tmp_path, amqp)
    try:
        amqp.put(incoming, "xxe.xml", (FIXTURES / "hostile" / "xxe-file.xml").read_bytes())
        assert poller.run_once() == 1
        [(_props, body)] = _take(amqp, unknown)
        receipt = _valid(body)
        assert isinstance(receipt, AppRec) and receipt.outcome == "rejected"
        assert (receipt.errors[0].ot or "").startswith("IP-6202: ")
        assert _tasks(wiring) == []
    finally:
        _cleanup(amqp, incoming, hospital, unknown)


class _Away:
    """An inbox whose database is away."""

    max_bytes = 1_000_000

    def handle(self, data: bytes) -> None:
        raise OperationalError("SELECT 1", {}, Exception("database is locked"))


def test_a_message_we_cannot_handle_now_is_retried_once_then_dead_lettered(
    amqp: AmqpChannel,
) -> None:
    incoming = queue_address("inn")
    try:
        poller = AmqpPoller(_Away(), incoming, {"amqp": amqp}, amqp)  # type: ignore[arg-type]
        amqp.put(incoming, "notice.xml", NOTICE)
        assert poller.run_once(limit=1) == 1  # given back
        assert poller.run_once(limit=1) == 1  # redelivered, refused again: dead-lettered
        assert poller.run_once() == 0
        [(_props, body)] = _take(amqp, incoming + ".dead")
        assert body == NOTICE
    finally:
        _cleanup(amqp, incoming)


SENDER = Party(H_ORGNR, "UNN HF – Sámi klinihkka", "http://127.0.0.1:18081")


class _NoHttp:
    def post(self, message: Any) -> Attempt:
        raise AssertionError("a legacy receiver's message went to HTTP")


def _hospital(
    engine: Engine, tmp_path: Path, queue: str, amqp: AmqpChannel
) -> tuple[Wiring, Worker]:
    wiring = build_wiring(Settings(data_dir=tmp_path, dev_mode=True), engine=engine)
    for res in hospital_resources():
        wiring.repository.update(res["resourceType"], res["id"], res)
    directory = SqlDirectory(engine)
    resources = organisation_entry(
        KE_ORGNR,
        "Romsa suohkan – koordinerende enhet",
        queue,
        kommunenummer="5501",
        coordinating_unit=True,
        her_id="9990201",
        legacy="kith-amqp",
    )
    directory.load(parse_directory(directory_bundle(*resources)))
    notify(
        wiring, secure_factory(wiring), directory, sender=SENDER, patient_id=PID, to_org=KE_ORGNR
    )
    worker = Worker(
        Outbox(engine),
        TransportRouter(_NoHttp(), LegacyTransport({"amqp": amqp}, her_ids_of(directory))),
        policy=RetryPolicy(max_attempts=2, base=0.0, cap=0.0),
        before_send=ConsentGate(secure_factory(wiring), directory),
    )
    return wiring, worker


def test_a_notification_to_a_legacy_queue_is_a_valid_dialogmelding(
    engine: Engine, tmp_path: Path, amqp: AmqpChannel
) -> None:
    queue = queue_address("romsa")
    try:
        _wiring, worker = _hospital(engine, tmp_path, queue, amqp)
        assert worker.run_once() == 1
        [(properties, body)] = _take(amqp, queue)
        message = _valid(body)
        assert isinstance(message, Message)
        [sent] = Outbox(engine).list()
        assert sent.status == "delivered" and properties.message_id == f"{sent.message_id}.xml"
        assert message.msg_id == sent.message_id and properties.delivery_mode == 2
        assert "rus" not in body.decode("utf-8")
    finally:
        _cleanup(amqp, queue)


def test_a_broker_that_is_away_is_retried_then_dead(engine: Engine, tmp_path: Path) -> None:
    # no RabbitMQ needed: nothing listens on port 9 of this machine
    _wiring, worker = _hospital(
        engine, tmp_path, "amqp://127.0.0.1:9/romsa", AmqpChannel(timeout=1)
    )
    worker.clock = lambda: 0.0
    worker.run_once()
    assert [m.status for m in Outbox(engine).list()] == ["queued"]
    worker.run_once()
    [dead] = Outbox(engine).list()
    assert dead.status == "dead" and "gave up after 2 attempts" in (dead.last_error or "")
