"""``ipfhir outbox list|replay|metrics`` and ``ipfhir worker``: the delivery engine for operators.

Both use the server's database (``--data-dir`` / ``--database``, as ``ipfhir serve``); the
worker delivers until interrupted (``--once``: what is due now, then exit).
"""

from __future__ import annotations

import argparse
import json
import signal
import sys
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

__all__ = ["register"]

_STATUSES = ("queued", "in_flight", "delivered", "dead")


def _count(text: str) -> int:
    value = int(text) if text.isascii() and text.isdigit() else 0
    if not 1 <= value <= 100_000:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number from 1 to 100000")
    return value


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number of seconds: {text!r}") from None
    if not 1 <= value <= 86400:
        raise argparse.ArgumentTypeError("from 1 to 86400 seconds")
    return value


def _database(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--data-dir", type=Path, default=Path("ipfhir-data"))
    parser.add_argument("--database", default=None, help="postgresql+psycopg://... (else SQLite)")


def register(subparsers: Any) -> None:
    box = subparsers.add_parser("outbox", help="messages to other organisations: list, replay")
    verbs = box.add_subparsers(dest="verb", required=True, metavar="VERB")
    listing = verbs.add_parser("list", help="messages, oldest first (JSON lines)")
    listing.add_argument("--status", choices=_STATUSES)
    listing.add_argument("--limit", type=_count, default=100)
    _database(listing)
    replay = verbs.add_parser("replay", help="queue a dead message again")
    replay.add_argument("message_id")
    _database(replay)
    metrics = verbs.add_parser("metrics", help="counts per state and the oldest age (JSON)")
    _database(metrics)
    box.set_defaults(handler=_outbox)
    worker = subparsers.add_parser("worker", help="deliver queued messages")
    worker.add_argument("--once", action="store_true", help="deliver what is due, then exit")
    worker.add_argument(
        "--as", dest="orgnr", default=None, help="log in at receivers as this orgnr"
    )
    worker.add_argument(
        "--settle-every",
        type=_seconds,
        default=None,
        metavar="SECONDS",
        help="settle the transfers (fail a dead or overdue one) this often "
        "(default IPFHIR_TRANSFER_SETTLE_SECONDS, 60)",
    )
    _database(worker)
    worker.set_defaults(handler=_worker)


def _wiring(args: argparse.Namespace) -> Any:
    from ipfhir.adapter.bootstrap import build_wiring
    from ipfhir.adapter.settings import Settings

    given = {"data_dir": args.data_dir, "dev_mode": True}
    if args.database:
        given["database_url"] = args.database
    # reads and the outbox only: no profile validation needed
    return build_wiring(Settings(**given), validate=lambda r, p=None: {"issue": []})


def _open(args: argparse.Namespace) -> Any:
    from ipfhir.adapter.store.outbox import Outbox

    return Outbox(_wiring(args).engine)


def _outbox(args: argparse.Namespace) -> int:
    box = _open(args)
    if args.verb == "list":
        for m in box.list(args.status, args.limit):
            row = {k: v for k, v in m.__dict__.items() if k not in ("payload", "response")}
            print(json.dumps(row, ensure_ascii=False))
        return 0
    if args.verb == "metrics":
        print(json.dumps(box.metrics()))
        return 0
    if box.replay(args.message_id):
        print(f"ipfhir: {args.message_id} queued again")
        return 0
    print(f"ipfhir: no dead message {args.message_id}", file=sys.stderr)
    return 1


def delivering(
    wiring: Any, data_dir: Path, orgnr: str | None, settle_every: float | None = None
) -> Any:
    """The delivery worker over ``wiring``'s outbox: tokens as ``orgnr`` (none without), the
    consent and route checked again before each send (adapter/sync/gate.py), and the transfers
    settled every ``settle_every`` seconds (adapter/sync/transfer_state.py; by default
    ``IPFHIR_TRANSFER_SETTLE_SECONDS``, 60)."""
    from ipfhir.adapter.auth.orgkey import organisation_key
    from ipfhir.adapter.bootstrap import secure_factory
    from ipfhir.adapter.directory.store import SqlDirectory
    from ipfhir.adapter.settings import Settings
    from ipfhir.adapter.store.outbox import Outbox
    from ipfhir.adapter.sync.gate import ConsentGate
    from ipfhir.adapter.sync.tokens import DirectoryTokens
    from ipfhir.adapter.sync.transfer_state import settle_transfers
    from ipfhir.adapter.sync.worker import HttpTransport, Worker

    tokens = None
    if orgnr:
        tokens = DirectoryTokens(SqlDirectory(wiring.engine), organisation_key(data_dir), orgnr)
    transport = _per_endpoint(HttpTransport(token_for=tokens), wiring.engine)
    every = settle_every or Settings().transfer_settle_seconds

    def settle() -> None:
        settle_transfers(wiring.repository)

    return Worker(
        Outbox(wiring.engine),
        transport,
        before_send=ConsentGate(secure_factory(wiring)),
        housekeeping=settle,
        housekeeping_every=every,
    )


def start_in_background(wiring: Any, data_dir: Path, orgnr: str) -> Callable[[], None]:
    """``ipfhir serve --worker-as``: the worker in a thread of this process; returns the
    function that stops it (what it claimed and has not sent goes back to the queue, a send
    under way is waited for up to ``join``'s limit — past it the lease returns it)."""
    worker = delivering(wiring, data_dir, orgnr)
    stop = threading.Event()
    thread = threading.Thread(target=worker.run, args=(stop,), name="ipfhir-worker", daemon=True)
    thread.start()

    def halt(wait: float = 40.0) -> None:
        stop.set()
        thread.join(wait)
        print(
            "ipfhir: outbox worker stopped"
            + ("" if not thread.is_alive() else " (a delivery was still under way)"),
            file=sys.stderr,
            flush=True,
        )

    return halt


def _per_endpoint(http: Any, engine: Any) -> Any:
    """The transport chosen per endpoint: FHIR over ``http``, legacy partners (kith-folder,
    kith-amqp) as KITH XML (adapter/sync/transports)."""
    from ipfhir.adapter.cli.legacy_cmd import legacy_transport

    return legacy_transport(http, engine)


def _worker(args: argparse.Namespace) -> int:
    worker = delivering(_wiring(args), args.data_dir, args.orgnr, args.settle_every)
    if args.once:
        while worker.run_once():
            pass
        worker.housekeep()
        return 0
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    try:
        worker.run(stop)
    except KeyboardInterrupt:
        stop.set()
    return 0
