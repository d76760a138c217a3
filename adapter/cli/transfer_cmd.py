"""``ipfhir transfer``: the person moves; their plan moves from municipality A to B
(:mod:`adapter.services.transfer`).

- ``transfer request --as ORGNR --patient ID [--to-kommune NNNN | --to-org ORGNR]
  [--overlap-days N] [--answer-days N] [--reason TEXT]``: A's coordinating unit asks B to take
  the plan over (routed by the person's home address when no target is given); prints the
  message id and A's Task.
- ``transfer respond TASK --as ORGNR (--accept [--coordinator TEXT] [--coordinator-hpr HPR] |
  --decline --reason TEXT)``: B answers a request it received; with ``--coordinator-hpr`` the
  plan B stores names that practitioner as coordinator (a PractitionerRole at B), so a token
  carrying that HPR number holds the plan at B (IP-6111: not an HPR number).
- ``transfer status [TASK]``: the transfer Tasks here, one JSON line each, after bringing each
  up to date with its messages (a dead-lettered message or an overdue answer fails it; a plan
  message that may have reached B asks B, ``ip-transfer-query``).
- ``transfer abandon TASK --as ORGNR --reason TEXT``: A's operator ends an open transfer A
  requested when B is gone for good — the plan writable again, the Task failed with the reason
  (IP-6108), audited; prints the Task and, on stderr, a warning that B may hold a copy. A Task
  not A's or unknown is refused alike (IP-6106), a closed one too (IP-6107).

``ipfhir worker --as ORGNR`` delivers what is queued and settles the transfers every
``--settle-every`` seconds; each adapter's ``$process-message`` carries out what arrives.
Exit 0 done, 1 refused (one line per issue on stderr: IP-60xx/IP-61xx), 2 unusable arguments.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from ipfhir.adapter.cli.notify_cmd import _common, _me, _wiring

__all__ = ["register"]


def register(subparsers: Any) -> None:
    p = subparsers.add_parser("transfer", help="transfer a plan to the person's new municipality")
    sub = p.add_subparsers(dest="sub", metavar="ACTION", required=True)
    req = sub.add_parser("request", help="ask another municipality to take the plan over")
    req.add_argument("--patient", required=True, help="Patient id in this adapter's store")
    target = req.add_mutually_exclusive_group()
    target.add_argument("--to-kommune", help="the coordinating unit of this kommunenummer")
    target.add_argument("--to-org", help="an explicit organisasjonsnummer")
    req.add_argument("--overlap-days", type=int, default=14, help="coordinators overlap (0–90)")
    req.add_argument("--answer-days", type=int, default=14, help="days the receiver has to answer")
    req.add_argument("--reason", default=None, help="why (e.g. the person moves on a date)")
    _common(req)
    req.set_defaults(handler=_request)
    respond = sub.add_parser("respond", help="accept or decline a transfer request received")
    respond.add_argument("task", help="the Task id in this adapter's store")
    answer = respond.add_mutually_exclusive_group(required=True)
    answer.add_argument("--accept", action="store_true")
    answer.add_argument("--decline", action="store_true")
    respond.add_argument("--coordinator", default=None, help="the coordinator appointed here")
    respond.add_argument(
        "--coordinator-hpr",
        default=None,
        metavar="HPR",
        help="the appointed coordinator's HPR number (with --accept): the stored care team "
        "names them, so their token holds the plan here",
    )
    respond.add_argument("--reason", dest="why", default=None, help="why it is declined")
    _common(respond)
    respond.set_defaults(handler=_respond)
    abandon = sub.add_parser(
        "abandon",
        help="end an open transfer this adapter requested (the receiver is gone for good)",
        description="End an open transfer this adapter requested, when the receiving "
        "municipality is gone for good: the plan becomes writable again here and the Task "
        "failed with the reason. The receiver may hold a copy of the plan if the plan message "
        "reached it.",
    )
    abandon.add_argument("task", help="the Task id in this adapter's store")
    abandon.add_argument(
        "--reason", required=True, type=_text, help="why the transfer is abandoned (audited)"
    )
    _common(abandon)
    abandon.set_defaults(handler=_abandon)
    status = sub.add_parser("status", help="the transfers here (JSON lines)")
    status.add_argument("task", nargs="?", default=None, help="one Task id")
    _common(status, sender=False)
    status.set_defaults(handler=_status)


def _request(args: argparse.Namespace) -> int:
    from ipfhir.adapter.bootstrap import secure_factory
    from ipfhir.adapter.directory.store import SqlDirectory
    from ipfhir.adapter.services.transfer import request

    if not args.orgnr:
        print("ipfhir transfer request: --as is required")
        return 2
    wiring = _wiring(args)
    directory = SqlDirectory(wiring.engine)
    queued = request(
        wiring,
        secure_factory(wiring),
        directory,
        sender=_me(args, directory),
        patient_id=args.patient,
        to_kommune=args.to_kommune,
        to_org=args.to_org,
        overlap_days=args.overlap_days,
        answer_days=args.answer_days,
        why=args.reason,
    )
    print(json.dumps(queued.__dict__))
    return 0


def _respond(args: argparse.Namespace) -> int:
    from ipfhir.adapter.directory.store import SqlDirectory
    from ipfhir.adapter.services.transfer import respond

    if not args.orgnr:
        print("ipfhir transfer respond: --as is required")
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
        coordinator_hpr=args.coordinator_hpr,
    )
    print(json.dumps(queued.__dict__))
    return 0


def _text(value: str) -> str:
    if not value.strip():
        raise argparse.ArgumentTypeError("must say why")
    return value


def _abandon(args: argparse.Namespace) -> int:
    from ipfhir.adapter.services.transfer import abandon
    from ipfhir.adapter.sync.messages import NotifyRefused, issue_sync
    from ipfhir.mappings.identifiers import is_valid_orgnr

    if not args.orgnr:
        print("ipfhir transfer abandon: --as is required")
        return 2
    if not is_valid_orgnr(args.orgnr):
        raise NotifyRefused([issue_sync("IP-6055", None, "value", orgnr=args.orgnr[:20])])
    task = abandon(_wiring(args), orgnr=args.orgnr, task_id=args.task, why=args.reason)
    _show(task)
    owner = (task.get("owner") or {}).get("identifier", {}).get("value")
    print(
        f"ipfhir: warning: organisation {owner} may hold a copy of the plan (if the plan "
        "message reached it); the person's plan is active and writable here again — agree "
        f"with {owner} which plan is the person's one plan.",
        file=sys.stderr,
    )
    return 0


def _status(args: argparse.Namespace) -> int:
    from ipfhir.adapter.services.transfer import status

    for task in status(_wiring(args), args.task):
        _show(task)
    return 0


def _show(task: dict[str, Any]) -> None:
    shown = {
        "id": task["id"],
        "status": task.get("status"),
        "statusReason": (task.get("statusReason") or {}).get("text"),
        "requester": (task.get("requester") or {}).get("identifier", {}).get("value"),
        "owner": (task.get("owner") or {}).get("identifier", {}).get("value"),
        "focus": (task.get("focus") or {}).get("reference"),
        "output": task.get("output", []),
    }
    print(json.dumps(shown, ensure_ascii=False))
