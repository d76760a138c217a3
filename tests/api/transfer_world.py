"""Two municipalities in one process for plan transfer tests: A (Bærum kommune, ``standard_spec``'s
owner: the person refused «rus», NAV and one hospital doctor) and B (Romsa suohkan's
coordinating unit, kommunenummer 5501, which the sharing Consent names as a recipient), each
with its own SQLite store and directory. :meth:`Net.deliver` is the network: it takes what is
due in one side's outbox, applies the sender's ConsentGate, and hands each message to the
other side's real :class:`~adapter.sync.receiver.Receiver` (with the transfer handlers the
server installs), settling the outbox with the answer as the worker does."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ipfhir.adapter.bootstrap import Wiring, build_wiring, secure_factory
from ipfhir.adapter.directory import SqlDirectory, parse_directory
from ipfhir.adapter.directory.build import directory_bundle, organisation_entry
from ipfhir.adapter.ports import SearchParam, SearchQuery
from ipfhir.adapter.settings import Settings
from ipfhir.adapter.store.outbox import Outbox
from ipfhir.adapter.sync.gate import ConsentGate
from ipfhir.adapter.sync.messaging import Party
from ipfhir.adapter.sync.receiver import Receiver
from ipfhir.adapter.sync.transfer_back import transfer_handlers
from tests.api.notify_world import KE, ORGNR, PID, hospital_resources

A_ORG, B_ORG = ORGNR["kommune"], KE
A_BASE, B_BASE = "http://127.0.0.1:18091", "http://127.0.0.1:18092"
A = Party(A_ORG, "Bærum kommune – koordinerende enhet", A_BASE)
B = Party(B_ORG, "Romsa suohkan – koordinerende enhet", B_BASE)
NAMES = {A_ORG: A.name, B_ORG: B.name}
KOMMUNE = {A_ORG: "3024", B_ORG: "5501"}


@dataclass
class Side:
    party: Party
    wiring: Wiring
    directory: SqlDirectory
    receiver: Receiver = field(init=False)

    def __post_init__(self) -> None:
        factory = secure_factory(self.wiring)
        self.receiver = Receiver(
            self.wiring.repository,
            self.directory,
            self.party.endpoint,
            handlers=transfer_handlers(
                self.wiring.repository, self.directory, self.party.endpoint, factory
            ),
        )

    @property
    def factory(self) -> Any:
        return secure_factory(self.wiring)

    @property
    def outbox(self) -> Outbox:
        return Outbox(self.wiring.engine)

    def tasks(self) -> list[dict[str, Any]]:
        query = SearchQuery("Task", count=100)
        return self.wiring.repository.search(query).matches

    def plans(self, status: str | None = None) -> list[dict[str, Any]]:
        params = (SearchParam("status", (status,)),) if status else ()
        return self.wiring.repository.search(SearchQuery("CarePlan", params, count=50)).matches

    def search(self, rtype: str) -> list[dict[str, Any]]:
        return self.wiring.repository.search(SearchQuery(rtype, count=200)).matches


def _directory(engine: Any, parties: list[Party]) -> SqlDirectory:
    directory = SqlDirectory(engine)
    resources = []
    for p in parties:
        resources += organisation_entry(
            p.orgnr,
            p.name,
            p.endpoint,
            kommunenummer=KOMMUNE[p.orgnr],
            coordinating_unit=True,
            jwks_url=f"{p.endpoint}/.well-known/jwks.json",
        )
    directory.load(parse_directory(directory_bundle(*resources)))
    return directory


@dataclass
class Net:
    a: Side
    b: Side
    answers: list[dict[str, Any]] = field(default_factory=list)

    def side(self, orgnr: str) -> Side:
        return self.a if orgnr == self.a.party.orgnr else self.b

    def deliver(self, source: Side) -> int:
        """Deliver what ``source`` has due to the other side; the number of messages tried."""
        target = self.b if source is self.a else self.a
        gate = ConsentGate(source.factory, source.directory)
        count = 0
        for message in source.outbox.claim(50):
            count += 1
            refusal = gate(message)
            if refusal is not None:
                source.outbox.dead(message, refusal)
                continue
            status, answer = target.receiver.process(source.party.orgnr, message.payload)
            self.answers.append(answer)
            code = answer["entry"][0]["resource"]["response"]["code"]
            if status == 200 and code == "ok":
                source.outbox.delivered(message, json.dumps(answer))
            elif status == 200 and code == "transient-error":
                source.outbox.retry(message, "transient-error", 0.0)
            else:
                source.outbox.dead(message, f"fatal-error: {json.dumps(answer)[:1500]}")
        return count


def build_net(tmp_path: Path, **sharing: Any) -> Net:
    sides = []
    for me, key in ((A, "a"), (B, "b")):
        wiring = build_wiring(Settings(data_dir=tmp_path / key, dev_mode=True))
        sides.append(Side(me, wiring, _directory(wiring.engine, [A, B])))
    for res in hospital_resources(**sharing):
        sides[0].wiring.repository.update(res["resourceType"], res["id"], res)
    return Net(sides[0], sides[1])


__all__ = ["A", "A_ORG", "B", "B_ORG", "Net", "PID", "Side", "build_net"]
