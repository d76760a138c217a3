"""``ipfhir notify``: the notification hospital → coordinating unit, and its answer.

- ``notify --as ORGNR --patient ID [--to-kommune NNNN | --to-org ORGNR] [--reason TEXT]``: queue
  the notification (what the person's consent lets the receiver see; routed by the directory,
  by the person's home address when no target is given); prints the message id and the Task.
- ``notify respond TASK --as ORGNR (--accept [--coordinator TEXT] | --decline [--reason TEXT])``:
  answer a received notification; the answer is queued to its sender.
- ``notify inbox``: the notifications waiting here (status requested), one JSON line each.

``ipfhir worker --as ORGNR`` delivers what is queued. Exit 0 queued, 1 refused (one line per
issue on stderr: IP-60xx), 2 unusable arguments.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

__all__ = ["register"]


def _common(p: argparse.ArgumentParser, *, sender: bool = True) -> None:
    if sender:
        p.add_argument("--as", dest="orgnr", help="this organisasjonsnummer (required)")
        p.add_argument("--from-base", default=None, help="this adapter's FHIR base URL")
    p.add_argument("--data-dir", type=Path, default=None, help="the server's data folder")
    p.add_argument("--database", default=None, help="database URL (default: SQLite in data dir)")


def register(subparsers: Any) -> None:
    p = subparsers.add_parser("notify", help="notify a coordinating unit; answer a notification")
    p.add_argument("--patient", help="Patient id in this adapter's store")
    target = p.add_mutually_exclusive_group()
    target.add_argument("--to-kommune", help="the coordinating unit of this kommunenummer")
    target.add_argument("--to-org", help="an explicit organisasjonsnummer")
    p.add_argument("--reason", default=None, help="why the person needs a plan / coordinator")
    _common(p)
    p.set_defaults(handler=_notify, sub=None)
    sub = p.add_subparsers(dest="sub", metavar="ACTION")
    respond = sub.add_parser("respond", help="accept or decline a received notification")
    respond.add_argument("task", help="the Task id in this adapter's store")
    answer = respond.add_mutually_exclusive_group(required=True)
    answer.add_argument("--accept", action="store_true")
    answer.add_argument("--decline", action="store_true")
    respond.add_argument("--coordinator", default=None, help="the coordinator appointed")
    respond.add_argument("--reason", dest="why", default=None, help="why it is declined")
    _common(respond)
    respond.set_defaults(handler=_respond)
    inbox = sub.add_parser("inbox", help="notifications waiting here (JSON lines)")
    _common(inbox, sender=False)
    inbox.set_defaults(handler=_inbox)


def _wiring(args: argparse.Namespace) -> Any:
    from ipfhir.adapter.bootstrap import build_wiring
    from ipfhir.adapter.settings import Settings

    given = {"data_dir": args.data_dir, "database_url": args.database}
    settings = Settings(**{k: v for k, v in given.items() if v is not None})
    return build_wiring(settings)


def _me(args: argparse.Namespace, directory: Any) -> Any:
    from ipfhir.adapter.services.notify import party_of
    from ipfhir.adapter.sync.messages import NotifyRefused, issue_sync
    from ipfhir.adapter.sync.messaging import Party
    from ipfhir.mappings.identifiers import is_valid_orgnr

    if not is_valid_orgnr(args.orgnr):
        raise NotifyRefused([issue_sync("IP-6055", None, "value", orgnr=args.orgnr[:20])])
    entry = directory.get(args.orgnr)
    if args.from_base:
        name = entry.name if entry is not None else args.orgnr
        return Party(args.orgnr, name, args.from_base.rstrip("/"))
    if entry is None or not entry.routable:
        raise NotifyRefused([issue_sync("IP-6053", None, "required", orgnr=args.orgnr)])
    return party_of(entry)


def _notify(args: argparse.Namespace) -> int:
    from ipfhir.adapter.bootstrap import secure_factory
    from ipfhir.adapter.directory.store import SqlDirectory
    from ipfhir.adapter.services.notify import notify

    if not args.patient or not args.orgnr:
        print("ipfhir notify: --patient and --as are required (or an ACTION: respond, inbox)")
        return 2
    wiring = _wiring(args)
    directory = SqlDirectory(wiring.engine)
    queued = notify(
        wiring,
        secure_factory(wiring),
        directory,
        sender=_me(args, directory),
        patient_id=args.patient,
        to_kommune=args.to_kommune,
        to_org=args.to_org,
        reason=args.reason,
    )
    print(json.dumps(queued.__dict__))
    return 0


def _respond(args: argparse.Namespace) -> int:
    from ipfhir.adapter.directory.store import SqlDirectory
    from ipfhir.adapter.services.notify import respond

    if not args.orgnr:
        print("ipfhir notify respond: --as is required")
        return 2
    wiring = _wiring(args)
    directory = SqlDirectory(wiring.engine)
    queued = respond(
        wiring,
        directory,
        responder=_me(args, directory),
        task_id=args.task,
        accept=args.accept,
        text=args.coordinator if args.accept else args.why,
    )
    print(json.dumps(queued.__dict__))
    return 0


def _inbox(args: argparse.Namespace) -> int:
    from ipfhir.adapter.ports import SearchParam, SearchQuery

    wiring = _wiring(args)
    query = SearchQuery("Task", (SearchParam("status", ("requested",)),), count=500)
    for task in wiring.repository.search(query).matches:
        codes = {c.get("code") for c in task.get("code", {}).get("coding", [])}
        # received: the receiver resolved the requester to an Organization here; the sender's
        # own Tasks name it by organisasjonsnummer only
        if "ip-notification" in codes and task.get("requester", {}).get("reference"):
            print(json.dumps(task, ensure_ascii=False))
    return 0
