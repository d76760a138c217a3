"""``ipfhir directory``: the directory of organisations and endpoints in the adapter's database.

- ``load FILE [--replace]``: a FHIR Bundle (collection or transaction) of Organization and
  Endpoint resources (docs: adapter/directory/model.py); checked whole, stored in one
  transaction with its AuditEvent. The only way entries are written: the FHIR API cannot.
- ``list``; ``show ORGNR``: what is stored (exit 1, IP-6019, for an organisation not in it).
- ``route (--kommune NNNN | --org ORGNR)``: where a message would go (IP-6001/6002 if nowhere).
- ``entry``: print a one-organisation directory file (to load at another adapter), e.g. this
  adapter's own entry with its JWKS URL ``[base]/.well-known/jwks.json``.
- ``token --as ORGNR --to ORGNR``: log in at the other organisation's token endpoint (its
  endpoint from the directory, the token endpoint from that server's SMART configuration)
  with a client assertion signed by this data folder's organisation key; prints the access
  token (IP-6040/6041 when refused, IP-6123 when the SMART configuration is unusable).

Exit 0 done, 1 refused (one line per issue on stderr), 2 unusable arguments.
"""

from __future__ import annotations

import argparse
import hashlib
import json
from pathlib import Path
from typing import Any

__all__ = ["register"]

_MAX_FILE = 16 * 1024 * 1024


def register(subparsers: Any) -> None:
    p = subparsers.add_parser("directory", help="load, list and route by the directory")
    sub = p.add_subparsers(dest="directory_command", required=True, metavar="ACTION")
    load = sub.add_parser("load", help="load organisations and endpoints from a FHIR Bundle")
    load.add_argument("file", type=Path)
    load.add_argument("--replace", action="store_true", help="the file is the whole directory")
    load.set_defaults(handler=_load)
    listing = sub.add_parser("list", help="one line per organisation")
    listing.set_defaults(handler=_list)
    show = sub.add_parser("show", help="the Organization and Endpoint of one organisation")
    show.add_argument("orgnr")
    show.set_defaults(handler=_show)
    route = sub.add_parser("route", help="where a message for a municipality would go")
    target = route.add_mutually_exclusive_group(required=True)
    target.add_argument("--kommune", help="the person's kommunenummer")
    target.add_argument("--org", help="an explicit organisasjonsnummer")
    route.set_defaults(handler=_route)
    token = sub.add_parser("token", help="an access token from another organisation")
    token.add_argument("--as", dest="client", required=True, help="this organisasjonsnummer")
    token.add_argument("--to", dest="target", required=True, help="the receiver's orgnr")
    token.add_argument("--scope", default=None, help="default: what the receiver grants")
    token.set_defaults(handler=_token)
    for action in (load, listing, show, route, token):
        _database_options(action)
    _entry_parser(sub)


def _database_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--data-dir", type=Path, default=None, help="the server's data folder")
    p.add_argument("--database", default=None, help="database URL (default: SQLite in data dir)")


def _entry_parser(sub: Any) -> None:
    p = sub.add_parser("entry", help="print a one-organisation directory file")
    p.add_argument("--org", required=True, help="organisasjonsnummer")
    p.add_argument("--name", required=True)
    p.add_argument("--base", required=True, help="the organisation's FHIR base URL")
    p.add_argument("--jwks-url", default=None, help="default: BASE/.well-known/jwks.json")
    p.add_argument("--kommune", default=None, help="kommunenummer")
    p.add_argument("--ke", action="store_true", help="a coordinating unit (koordinerende enhet)")
    p.set_defaults(handler=_entry)


def _directory(args: argparse.Namespace) -> Any:
    from ipfhir.adapter.directory import SqlDirectory
    from ipfhir.adapter.settings import Settings
    from ipfhir.adapter.startup import prepare_database
    from ipfhir.adapter.store import make_engine

    given = {"data_dir": args.data_dir, "database_url": args.database}
    settings = Settings(**{k: v for k, v in given.items() if v is not None})
    engine = make_engine(settings.effective_database_url(), pool_size=1)
    prepare_database(engine)  # IP-4601..4603 on one line when the database cannot serve
    return SqlDirectory(engine)


def _load(args: argparse.Namespace) -> int:
    from ipfhir.adapter.directory import parse_directory
    from ipfhir.adapter.directory.messages import DirectoryFileError, issue6

    try:
        raw = args.file.read_bytes()[: _MAX_FILE + 1]
        if len(raw) > _MAX_FILE:
            raise ValueError(f"larger than {_MAX_FILE} bytes")
        bundle = json.loads(raw)
    except (OSError, ValueError, RecursionError) as err:
        detail = f"{args.file}: {getattr(err, 'strerror', None) or err}"
        raise DirectoryFileError([issue6("IP-6010", None, "structure", detail=detail)]) from None
    from ipfhir.adapter.sync.recorded import record_operation

    entries = parse_directory(bundle)
    digest = hashlib.sha256(raw).hexdigest()[:16]

    def audit(conn: Any, what: str) -> None:  # an AuditEvent, committed with the entries
        detail = f"{what}; file {args.file.name} sha256 {digest}"
        record_operation(conn, organisation=None, outcome="stored", detail=detail)

    _directory(args).load(entries, replace=args.replace, record=audit)
    print(f"ipfhir directory: loaded {len(entries)} organisation(s) from {args.file}")
    return 0


def _line(entry: Any) -> str:
    endpoint = entry.endpoint
    where = endpoint.address if endpoint is not None else "-"
    ke = "KE" if entry.coordinating_unit else "-"
    state = "routable" if entry.routable else "not routable"
    return f"{entry.orgnr}\t{entry.kommunenummer or '-'}\t{ke}\t{state}\t{where}\t{entry.name}"


def _list(args: argparse.Namespace) -> int:
    for entry in _directory(args).entries():
        print(_line(entry))
    return 0


def _show(args: argparse.Namespace) -> int:
    from ipfhir.adapter.directory.messages import NoRoute, issue6

    entry = _directory(args).get(args.orgnr)
    if entry is None:
        raise NoRoute([issue6("IP-6019", None, "not-found", orgnr=args.orgnr[:20])])
    endpoint = entry.endpoint.resource if entry.endpoint is not None else None
    shown = {"organization": entry.organization, "endpoint": endpoint}
    print(json.dumps(shown, ensure_ascii=False, indent=2))
    return 0


def _route(args: argparse.Namespace) -> int:
    entry = _directory(args).route(kommunenummer=args.kommune, orgnr=args.org)
    print(_line(entry))
    return 0


def _entry(args: argparse.Namespace) -> int:
    from ipfhir.adapter.directory.build import directory_bundle, organisation_entry
    from ipfhir.adapter.directory.parse import parse_directory

    base = args.base.rstrip("/")
    resources = organisation_entry(
        args.org,
        args.name,
        base,
        kommunenummer=args.kommune,
        coordinating_unit=args.ke,
        jwks_url=args.jwks_url or f"{base}/.well-known/jwks.json",
    )
    bundle = directory_bundle(*resources)
    parse_directory(bundle)  # the same checks as load: a file that would be refused is not printed
    print(json.dumps(bundle, ensure_ascii=False, indent=2))
    return 0


def _token(args: argparse.Namespace) -> int:
    from ipfhir.adapter.auth.orgkey import organisation_key
    from ipfhir.adapter.auth.token_client import TokenClient, discover_token_url
    from ipfhir.adapter.settings import Settings

    entry = _directory(args).route(orgnr=args.target)
    data_dir = args.data_dir or Settings().data_dir
    key = organisation_key(data_dir)
    token_url = discover_token_url(entry.endpoint.address)  # the receiver says where (SMART)
    print(TokenClient(key, args.client, token_url, scope=args.scope).token())
    return 0
