"""``ipfhir legacy read|write|validate``: KITH XML messages (MsgHead 1.2 with Dialogmelding 1.0/1.1,
AppRec 1.0/1.1) to and from the FHIR message Bundle (:mod:`ipfhir.mappings.legacy.fhir`): a
notice of need for an individual plan is the notification the FHIR path sends, an AppRec the
answer (MessageHeader.response), any other dialog message a Communication message.

- ``read MSG.xml [-o OUT.json] [--model]``: the message as a FHIR message Bundle (UTF-8);
  ``--model``: as the legacy model's JSON form instead (:mod:`ipfhir.mappings.legacy.jsonform`).
- ``write IN.json [-o OUT.xml]``: a FHIR message Bundle (or the model's JSON form, told apart by
  its ``kind``) back to XML (MsgHead 1.2 + Dialogmelding 1.1, or AppRec 1.1), checked against
  the schemas before it is written.
- ``validate MSG.xml ...``: the hardening and schema checks and the reader's own (the patient's
  fødselsnummer or D-nummer), one line per file: what ``read`` would accept.

- ``receive --as ORGNR (--folder DIR | --amqp amqp://host[:port]/queue) [--reply ADDRESS]
  [--once]``: take legacy partners' messages in (adapter/sync/transports): each is carried out
  like a FHIR message in this adapter's store (``--data-dir`` / ``--database``, as ``ipfhir
  serve``) and answered with an AppRec through the partner's directory endpoint (``--reply``:
  where AppRecs to unknown senders go). ``--as``: this adapter's organisation, with its FHIR
  endpoint in its own directory (IP-6159 otherwise). AMQP credentials: ``IPFHIR_AMQP_USER`` and
  ``IPFHIR_AMQP_PASSWORD`` (default guest/guest, which RabbitMQ allows from this machine only).

``ipfhir worker`` sends to legacy partners through :func:`legacy_transport`.

Exit 0: done; 1: a message was refused (IP-62xx, one line per issue on stderr); 2: unusable
arguments (no such file, unreadable folder, argparse errors).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from ipfhir.mappings.errors import IpError
from ipfhir.mappings.legacy.safexml import DEFAULT_MAX_BYTES

__all__ = ["legacy_transport", "register"]


def _byte_limit(text: str) -> int:
    value = int(text) if text.isascii() and text.isdigit() and len(text) <= 10 else 0
    if not 1 <= value <= 1 << 31:
        raise argparse.ArgumentTypeError(f"{text!r} is not a byte count from 1 to {1 << 31}")
    return value


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "legacy", help="read, write and validate KITH XML messages (Dialogmelding, AppRec)"
    )
    actions = parser.add_subparsers(dest="legacy_action", required=True, metavar="ACTION")
    read = actions.add_parser("read", help="XML message -> FHIR message Bundle (or JSON model)")
    read.add_argument("message", type=Path, metavar="MSG.xml")
    read.add_argument("-o", "--output", type=Path, metavar="OUT.json")
    read.add_argument(
        "--model", action="store_true", help="the legacy model's JSON form, not a FHIR Bundle"
    )
    write = actions.add_parser("write", help="FHIR message Bundle (or JSON model) -> XML message")
    write.add_argument("model", type=Path, metavar="IN.json")
    write.add_argument("-o", "--output", type=Path, metavar="OUT.xml")
    validate = actions.add_parser("validate", help="check XML messages against the schemas")
    validate.add_argument("messages", type=Path, nargs="+", metavar="MSG.xml")
    for sub in (read, write, validate):
        sub.add_argument(
            "--max-bytes", type=_byte_limit, default=DEFAULT_MAX_BYTES, help="refuse larger input"
        )
    receive = actions.add_parser("receive", help="take legacy partners' messages in (AppRec back)")
    receive.add_argument("--as", dest="orgnr", required=True, help="this adapter's orgnr")
    source = receive.add_mutually_exclusive_group(required=True)
    source.add_argument("--folder", type=Path, help="the folder incoming messages are put in")
    source.add_argument("--amqp", help="amqp://host[:port]/queue to consume")
    receive.add_argument("--reply", help="file:///folder or amqp://… for unknown senders' AppRecs")
    receive.add_argument("--once", action="store_true", help="handle what is waiting, then exit")
    receive.add_argument("--data-dir", type=Path, default=Path("ipfhir-data"))
    receive.add_argument("--database", default=None, help="postgresql+psycopg://... (else SQLite)")
    receive.add_argument(
        "--max-bytes", type=_byte_limit, default=DEFAULT_MAX_BYTES, help="refuse larger input"
    )
    receive.set_defaults(handler=_receive)
    read.set_defaults(handler=_read)
    write.set_defaults(handler=_write)
    validate.set_defaults(handler=_validate)


def _unusable(path: Path) -> bool:
    if path.is_file():
        return False
    print(f"ipfhir legacy: no such file: {path}", file=sys.stderr)
    return True


def _load(path: Path, max_bytes: int) -> bytes:
    """At most ``max_bytes + 1`` bytes: enough to refuse oversize input without reading it all."""
    with path.open("rb") as handle:
        return handle.read(max_bytes + 1)


def _emit(data: bytes, output: Path | None) -> None:
    if output is None:
        sys.stdout.buffer.write(data)
        sys.stdout.buffer.flush()
    else:
        output.write_bytes(data)


def _read(args: argparse.Namespace) -> int:
    from ipfhir.mappings.legacy import model_to_json, read_message
    from ipfhir.mappings.legacy.fhir import to_fhir

    if _unusable(args.message):
        return 2
    model = read_message(_load(args.message, args.max_bytes), max_bytes=args.max_bytes)
    shape = model_to_json(model) if args.model else to_fhir(model)
    text = json.dumps(shape, ensure_ascii=False, indent=2) + "\n"
    _emit(text.encode("utf-8"), args.output)
    return 0


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    found: dict[str, Any] = {}
    for key, value in pairs:
        if key in found:
            raise IpError.single("IP-6240", f"The key {key!r} occurs twice.", None, "structure")
        found[key] = value
    return found


def _write(args: argparse.Namespace) -> int:
    from ipfhir.mappings.legacy import model_from_json, write
    from ipfhir.mappings.legacy.fhir import from_fhir

    if _unusable(args.model):
        return 2
    data = _load(args.model, args.max_bytes)
    if len(data) > args.max_bytes:
        raise IpError.single("IP-6201", f"More than {args.max_bytes} bytes.", None, "too-costly")
    try:
        loaded = json.loads(data, object_pairs_hook=_no_duplicates)
    except (ValueError, UnicodeDecodeError) as err:
        raise IpError.single("IP-6240", f"Not JSON: {err}", None, "structure") from err
    except RecursionError:
        raise IpError.single("IP-6240", "Not JSON: nested too deep", None, "structure") from None
    is_model = isinstance(loaded, dict) and "kind" in loaded
    _emit(write(model_from_json(loaded) if is_model else from_fhir(loaded)), args.output)
    return 0


def _validate(args: argparse.Namespace) -> int:
    from ipfhir.mappings.legacy import AppRec, read_message

    if any([_unusable(p) for p in args.messages]):
        return 2
    failed = False
    for path in args.messages:
        try:
            model = read_message(_load(path, args.max_bytes), max_bytes=args.max_bytes)
        except IpError as err:
            failed = True
            for issue in err.issues:
                where = f" (at {', '.join(issue.expression)})" if issue.expression else ""
                print(f"{path}: {issue.message_id}: {issue.text}{where}")
            continue
        print(f"{path}: OK ({'AppRec' if isinstance(model, AppRec) else 'MsgHead 1.2'})")
    return 1 if failed else 0


def _channels() -> dict[str, Any]:
    import os

    from ipfhir.adapter.sync.transports import AmqpChannel, FolderChannel

    user = os.environ.get("IPFHIR_AMQP_USER", "guest")
    password = os.environ.get("IPFHIR_AMQP_PASSWORD", "guest")
    return {"file": FolderChannel(), "amqp": AmqpChannel(user, password)}


def legacy_transport(http: Any, engine: Any) -> Any:
    """The worker's transport: FHIR endpoints over ``http``, legacy ones as KITH XML."""
    from ipfhir.adapter.directory.store import SqlDirectory
    from ipfhir.adapter.sync.transports import LegacyTransport, TransportRouter
    from ipfhir.adapter.sync.transports.outgoing import her_ids_of

    legacy = LegacyTransport(_channels(), her_ids_of(SqlDirectory(engine)))
    return TransportRouter(http, legacy)


def _receive(args: argparse.Namespace) -> int:
    import signal
    import threading

    from ipfhir.adapter.api.input_checks import check_indexable
    from ipfhir.adapter.bootstrap import build_wiring
    from ipfhir.adapter.directory.store import SqlDirectory
    from ipfhir.adapter.settings import Settings
    from ipfhir.adapter.store.outbox import Outbox
    from ipfhir.adapter.sync.receiver import Receiver
    from ipfhir.adapter.sync.transports import AmqpPoller, FolderPoller, LegacyInbox
    from ipfhir.mappings.legacy.messages import MESSAGES

    given: dict[str, Any] = {"data_dir": args.data_dir, "dev_mode": True}
    if args.database:
        given["database_url"] = args.database
    wiring = build_wiring(Settings(**given))  # the server's profile validation, as $process-message
    directory = SqlDirectory(wiring.engine)
    own = directory.get(args.orgnr)
    if own is None or own.endpoint is None or own.endpoint.legacy:
        text = MESSAGES["IP-6159"].format(orgnr=str(args.orgnr)[:20])
        raise IpError.single("IP-6159", text, None, "not-found")
    receiver = Receiver(
        wiring.repository,
        directory,
        own.endpoint.address,
        check=lambda body: check_indexable(body, "Bundle"),
    )
    # a partner's AppRec settles the message of ours it answers (avvist: dead, replayable)
    inbox = LegacyInbox(
        receiver, directory, own, max_bytes=args.max_bytes, outbox=Outbox(wiring.engine)
    )
    channels = _channels()
    poller: Any
    if args.folder is not None:
        incoming = args.folder.resolve().as_uri()
        poller = FolderPoller(inbox, incoming, channels, args.reply)
    else:
        poller = AmqpPoller(inbox, args.amqp, channels, channels["amqp"], args.reply)
    if args.once:
        while poller.run_once():
            pass
        return 0
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    try:
        while not stop.is_set():
            if not poller.run_once():
                stop.wait(1.0)
    except KeyboardInterrupt:
        stop.set()
    return 0
