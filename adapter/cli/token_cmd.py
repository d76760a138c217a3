"""``ipfhir token``: print a bearer token signed with the dev key (``ipfhir serve --dev`` only).

The token is the last line of the output; the lines before it say what it carries.
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path
from typing import Any

__all__ = ["register"]

_DEFAULT_SCOPES = ("system/*.cruds",)


def register(subparsers: Any) -> None:
    p = subparsers.add_parser(
        "token", help="print a dev bearer token (for a server started with --dev)"
    )
    p.add_argument(
        "--data-dir", type=Path, default=Path("ipfhir-data"), help="the server's data folder"
    )
    p.add_argument("--org", required=True, help="organisasjonsnummer (9 digits) of the caller")
    p.add_argument("--hpr", default=None, help="HPR number of the practitioner, if any")
    p.add_argument("--scope", action="append", default=None, help="SMART scope (repeatable)")
    p.add_argument("--purpose", default=None, help="purpose of use, e.g. TREAT or COC")
    p.add_argument(
        "--role",
        action="append",
        default=None,
        help="role claim (repeatable); koordinerende-enhet: the owning municipality's "
        "coordinating unit, which holds the plan",
    )
    p.add_argument("--lifetime", type=int, default=3600, help="seconds the token is valid")
    p.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from ipfhir.adapter.auth.devkey import mint_token

    if not re.fullmatch(r"[0-9]{9}", args.org):
        print("ipfhir token: --org must be a 9-digit organisasjonsnummer", file=sys.stderr)
        return 2
    if args.hpr is not None and not re.fullmatch(r"[0-9]{1,9}", args.hpr):
        print("ipfhir token: --hpr must be an HPR number (digits)", file=sys.stderr)
        return 2
    if args.lifetime < 1:
        print("ipfhir token: --lifetime must be positive", file=sys.stderr)
        return 2
    scopes = tuple(args.scope or _DEFAULT_SCOPES)
    token = mint_token(
        args.data_dir,
        args.org,
        hpr=args.hpr,
        scopes=scopes,
        purpose=args.purpose,
        roles=tuple(args.role or ()),
        lifetime=args.lifetime,
    )
    print(f"# dev token for organisation {args.org}" + (f", HPR {args.hpr}" if args.hpr else ""))
    print(f"# scopes: {' '.join(scopes)}; valid {args.lifetime} s; key in {args.data_dir}")
    if args.role:
        print(f"# roles: {' '.join(args.role)}")
    print(token)
    return 0
