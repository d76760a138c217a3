"""``ipfhir serve``: the FHIR server on uvicorn (SQLite in the data folder unless --database);
with ``--worker-as ORGNR`` also the outbox's delivery worker, in a thread of the main process,
stopped after the server has shut down (SIGTERM, Ctrl-C)."""

from __future__ import annotations

import argparse
import os
import signal
import sys
from pathlib import Path
from typing import Any

__all__ = ["auto_workers", "register"]

_LOG_LEVELS = ("critical", "error", "warning", "info", "debug", "trace")
_MAX_AUTO_WORKERS = 8


def register(subparsers: Any) -> None:
    p = subparsers.add_parser("serve", help="run the FHIR R4 server")
    p.add_argument("--host", default=None, help="interface to bind (default 127.0.0.1)")
    p.add_argument("--port", type=int, default=None, help="TCP port (default 8080)")
    p.add_argument(
        "--data-dir",
        type=Path,
        default=None,
        help="folder for the embedded SQLite database (default ./ipfhir-data)",
    )
    p.add_argument(
        "--database", default=None, help="database URL, e.g. postgresql+psycopg://user@host/db"
    )
    p.add_argument(
        "--workers",
        type=_workers,
        default=1,
        help="uvicorn worker processes, or auto: one per usable CPU (at most 8), one for an "
        "in-memory SQLite database (default 1)",
    )
    p.add_argument(
        "--log-level",
        default="warning",
        type=str.lower,
        choices=_LOG_LEVELS,
        help="server log level (default warning)",
    )
    p.add_argument(
        "--access-log",
        action="store_true",
        help="log every request (off by default: the audit trail records disclosures, and the "
        "access log costs CPU on every request)",
    )
    p.add_argument(
        "--worker-as",
        metavar="ORGNR",
        default=os.environ.get("IPFHIR_WORKER_AS") or None,
        help="also deliver the outbox in this process (as ipfhir worker does), logging in at "
        "receivers as this organisasjonsnummer; stops with the server (env IPFHIR_WORKER_AS)",
    )
    p.add_argument(
        "--dev",
        action="store_true",
        help="development only: trust tokens signed by a local key in the data folder "
        "(see ipfhir token)",
    )
    p.set_defaults(handler=run)


def _workers(text: str) -> int | str:
    return "auto" if text.strip().lower() == "auto" else _positive(text)


def auto_workers(database_url: str, cpus: int | None = None) -> tuple[int, str]:
    """(worker processes, why) for ``--workers auto``.

    Every process shares its state through the database (change stamps for the consent cache,
    the page-token key, the audit trail), so one per usable CPU is safe on PostgreSQL and on a
    SQLite file (WAL, a busy timeout and ``BEGIN IMMEDIATE`` writes: processes queue for the one
    writer, readers never wait; ``adapter/store/engine.py``). An in-memory SQLite database lives
    inside one process: a second would serve a different, empty database, so it gets one."""
    from sqlalchemy.engine import make_url

    usable = cpus if cpus is not None else len(os.sched_getaffinity(0))
    url = make_url(database_url)
    if url.get_backend_name() == "sqlite" and (
        url.database in (None, "", ":memory:") or "mode=memory" in database_url
    ):
        return 1, "an in-memory SQLite database lives in one process"
    n = max(1, min(usable, _MAX_AUTO_WORKERS))
    return n, f"{usable} usable CPU(s)" + (f", at most {_MAX_AUTO_WORKERS}" if n < usable else "")


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number of 1 or more")
    return value


def _settings(args: argparse.Namespace) -> Any:
    from pydantic import ValidationError
    from pydantic_settings import SettingsError

    from ipfhir.adapter.settings import Settings

    given = {
        k: v
        for k, v in {
            "host": args.host,
            "port": args.port,
            "data_dir": args.data_dir,
            "database_url": args.database,
            "dev_mode": True if args.dev else None,
        }.items()
        if v is not None
    }
    try:
        return Settings(**given)
    except SettingsError as err:  # an IPFHIR_* value the settings source cannot parse
        from ipfhir.adapter.errors import MESSAGES

        text = MESSAGES["IP-4605"].format(name="IPFHIR_*", detail=" ".join(str(err).split()))
        print(f"ipfhir: IP-4605: {text}", file=sys.stderr)
        return None
    except ValidationError as err:
        from ipfhir.adapter.errors import MESSAGES

        first = err.errors()[0]
        name = ".".join(map(str, first["loc"])) or "?"
        text = MESSAGES["IP-4605"].format(name=name, detail=" ".join(first["msg"].split()))
        print(f"ipfhir: IP-4605: {text}", file=sys.stderr)
        return None


def app_factory() -> Any:
    """uvicorn factory (used with --workers): settings from the IPFHIR_* environment."""
    from ipfhir.adapter.bootstrap import build_app
    from ipfhir.adapter.settings import Settings

    return build_app(Settings())


def run(args: argparse.Namespace) -> int:
    from ipfhir.adapter.auth.http import resolver_from_settings
    from ipfhir.adapter.bootstrap import build_wiring
    from ipfhir.adapter.settings import shown_url

    settings = _settings(args)
    if settings is None:
        return 2
    if args.worker_as is not None and not _orgnr(args.worker_as):
        return 2
    resolver_from_settings(settings)  # refuse to start without a way to verify tokens
    wiring = build_wiring(settings)  # migrates once, before any worker starts
    workers, why = (
        auto_workers(settings.effective_database_url())
        if args.workers == "auto"
        else (args.workers, "")
    )
    print(
        f"ipfhir: serving FHIR R4 on http://{settings.host}:{settings.port} "
        f"(database: {shown_url(wiring.engine.url)}, "
        f"validator: {wiring.validator_name}, workers: {workers}{f' ({why})' if why else ''})",
        file=sys.stderr,
        flush=True,
    )
    halt = _start_worker(wiring, settings, args.worker_as)
    try:
        _serve(args, settings, wiring, workers)
    finally:
        if halt is not None:
            halt()
    return 0


def _orgnr(value: str) -> bool:
    from ipfhir.adapter.directory.guard_messages import MESSAGES
    from ipfhir.mappings.identifiers import is_valid_orgnr

    if is_valid_orgnr(value):
        return True
    text = MESSAGES["IP-6124"].format(value=value[:20])
    print(f"ipfhir: IP-6124: {text}", file=sys.stderr)
    return False


def _start_worker(wiring: Any, settings: Any, orgnr: str | None) -> Any:
    """With ``--worker-as``: one delivery worker in this (the main) process, whatever the
    number of server processes — several on one database would be safe too (the outbox's
    claims), one is enough."""
    if orgnr is None:
        return None
    from ipfhir.adapter.cli.outbox_cmd import start_in_background

    halt = start_in_background(wiring, settings.data_dir, orgnr)
    # uvicorn hands a SIGTERM back to the handler it found once the server has shut down: the
    # default one would end the process there, before the worker is stopped
    signal.signal(signal.SIGTERM, lambda *_: None)
    print(f"ipfhir: delivering the outbox as {orgnr}", file=sys.stderr, flush=True)
    return halt


def _serve(args: argparse.Namespace, settings: Any, wiring: Any, workers: int) -> None:
    import uvicorn

    from ipfhir.adapter.bootstrap import build_app

    if workers > 1:
        wiring.engine.dispose()
        for key, value in (
            ("DATABASE_URL", settings.effective_database_url()),
            ("DATA_DIR", str(settings.data_dir)),
            ("DEV_MODE", "true" if settings.dev_mode else "false"),
            ("HOST", settings.host),  # dev mode's base URL (token audience) is http://host:port
            ("PORT", str(settings.port)),
        ):
            os.environ[f"IPFHIR_{key}"] = value
        uvicorn.run(
            "ipfhir.adapter.cli.serve_cmd:app_factory",
            factory=True,
            host=settings.host,
            port=settings.port,
            workers=workers,
            **_uvicorn_options(args),
        )
        return
    uvicorn.run(
        build_app(settings, wiring),
        host=settings.host,
        port=settings.port,
        **_uvicorn_options(args),
    )


def _uvicorn_options(args: argparse.Namespace) -> dict[str, Any]:
    """Log level and access log; uvicorn picks uvloop by itself (``loop="auto"``); its HTTP
    parser (httptools) answers requests it cannot parse with an OperationOutcome
    (:mod:`adapter.api.http_protocol`). No WebSocket protocol (``ws="none"``): the server
    speaks FHIR over HTTP only, so an upgrade request reaches the app like any request and is
    answered with an OperationOutcome, never by uvicorn in plain text."""
    from ipfhir.adapter.api.http_protocol import protocol_class

    return {
        "log_level": args.log_level,
        "access_log": bool(args.access_log),
        "http": protocol_class(),
        "ws": "none",
    }
