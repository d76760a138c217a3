"""One module holds every port (no Protocol is defined anywhere else in adapter/), and what the
server wires to them offers their methods (at run time here, by isinstance where a Protocol is
runtime-checkable; statically by ``tools/typecheck.py`` where the server wires them:
``bootstrap.secure_factory`` and ``cli/outbox_cmd.py``)."""

from __future__ import annotations

import ast
from pathlib import Path

from ipfhir.adapter import ports
from ipfhir.adapter.audit.ledger import InMemoryLedger
from ipfhir.adapter.audit.sink import InMemoryAuditSink, RepositoryAuditSink
from ipfhir.adapter.directory.model import DirectoryEntry
from ipfhir.adapter.directory.store import SqlDirectory
from ipfhir.adapter.store import SqlRepository
from ipfhir.adapter.store.audit_log import SqlAuditSink
from ipfhir.adapter.store.ledger import SqlLedger
from ipfhir.adapter.store.outbox import Message, Outbox
from ipfhir.adapter.sync.policy import Attempt
from ipfhir.adapter.sync.worker import HttpTransport

ADAPTER = Path(ports.__file__).parent


def test_no_protocol_is_defined_outside_the_ports_module() -> None:
    found = []
    for path in sorted(ADAPTER.rglob("*.py")):
        if path.name == "ports.py" and path.parent == ADAPTER:
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ClassDef) and any(
                (isinstance(b, ast.Name) and b.id == "Protocol")
                or (isinstance(b, ast.Subscript) and getattr(b.value, "id", "") == "Protocol")
                for b in node.bases
            ):
                found.append(f"{path.relative_to(ADAPTER)}:{node.name}")
    assert found == []


def test_the_implementations_fit_their_ports() -> None:
    sinks: list[ports.AuditSink] = [
        SqlAuditSink.__new__(SqlAuditSink),
        RepositoryAuditSink.__new__(RepositoryAuditSink),
        InMemoryAuditSink(),
    ]
    ledgers: list[ports.DisclosureLedger] = [SqlLedger.__new__(SqlLedger), InMemoryLedger()]
    outbox: ports.Outbox[Message] = Outbox.__new__(Outbox)
    writer: ports.OutboxWriter = outbox  # the same table: queued on a write, then delivered
    transport: ports.Transport[Message, Attempt] = HttpTransport.__new__(HttpTransport)
    directory: ports.Directory[DirectoryEntry] = SqlDirectory.__new__(SqlDirectory)
    repo = SqlRepository.__new__(SqlRepository)
    assert all(callable(s.record_in) for s in sinks) and all(callable(x.record_in) for x in ledgers)
    assert callable(outbox.claim) and callable(transport.post) and callable(directory.route)
    assert callable(writer.enqueue)
    for port in (ports.BulkReader, ports.ContextReader, ports.ChangeStamps, ports.UnitOfWork):
        assert isinstance(repo, port), port.__name__


def test_implements_answers_as_isinstance_for_class_and_instance_members() -> None:
    """``implements`` keeps the answer per class only when the class has every member; an
    object with a member set on the instance (or lacking it) is asked each time."""
    from ipfhir.adapter.ports import BulkReader, ChangeStamps, ReadScope, implements

    class Bulk:
        def fetch(self, refs: object) -> list[object]:
            return []

    class Maybe:
        def __init__(self, bulk: bool) -> None:
            if bulk:
                self.fetch = lambda refs: []

    for obj in (Bulk(), Maybe(True), Maybe(False), Maybe(True), object()):
        for proto in (BulkReader, ChangeStamps, ReadScope):
            assert implements(obj, proto) == isinstance(obj, proto), (obj, proto)
    assert implements(Maybe(True), BulkReader) and not implements(Maybe(False), BulkReader)
