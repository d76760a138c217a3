"""What the delivery worker's periodic settling of plan transfers costs
(:func:`adapter.sync.transfer_state.settle_transfers`, run every
``IPFHIR_TRANSFER_SETTLE_SECONDS``): a SQLite store holding ``--closed`` closed Tasks (completed
notifications and transfers, the store of a municipality after years) and one open
transfer waiting for B's answer. Prints the median and p90 of ``--runs`` settlings, and — for
comparison — of what the settling read before: one page of 500 Tasks of any status (and
nothing beyond it). Prints numbers; asserts nothing.

    PYTHONPATH=. .venv/bin/python bench/bench_settle_transfers.py [--closed 5000] [--runs 20]
"""

from __future__ import annotations

import argparse
import logging
import statistics
import tempfile
import time
import uuid
from pathlib import Path

from ipfhir.adapter.ports import SearchQuery
from ipfhir.adapter.services.transfer import request
from ipfhir.adapter.sync.transfer_state import settle_transfers
from tests.api.transfer_world import B_ORG, PID, A, build_net


def _closed(n: int) -> dict[str, object]:
    return {
        "resourceType": "Task",
        "id": str(uuid.uuid4()),
        "status": "completed",
        "intent": "order",
        "description": f"Avsluttet oppgave {n} – æøå",
    }


def _timed(runs: int, work: object) -> list[float]:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        work()  # type: ignore[operator]
        times.append((time.perf_counter() - start) * 1000)
    return times


def _show(name: str, times: list[float]) -> None:
    p90 = sorted(times)[max(0, int(len(times) * 0.9) - 1)]
    print(f"{name:<40} median {statistics.median(times):8.2f} ms   p90 {p90:8.2f} ms")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--closed", type=int, default=5000)
    parser.add_argument("--runs", type=int, default=20)
    args = parser.parse_args()
    logging.disable(logging.WARNING)
    net = build_net(Path(tempfile.mkdtemp()))
    repository = net.a.wiring.repository
    for n in range(args.closed):
        task = _closed(n)
        repository.update("Task", str(task["id"]), task)
    # one open transfer: requested, not answered yet (one plan has one transfer under way)
    request(net.a.wiring, net.a.factory, net.a.directory, sender=A, patient_id=PID, to_org=B_ORG)
    print(f"{args.closed} closed Tasks, 1 open transfer, {args.runs} runs each")
    _show(
        "settle_transfers (open Tasks only)",
        _timed(args.runs, lambda: settle_transfers(repository)),
    )

    def everything() -> None:
        repository.search(SearchQuery("Task", count=500))

    _show("one page of all Tasks (as before)", _timed(args.runs, everything))


if __name__ == "__main__":
    main()
