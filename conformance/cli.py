"""``ipfhir conformance``: arguments, tokens, the run, progress on stderr, reports, exit code.

Exit codes: 0 every mandatory check passed; 1 otherwise; 2 unusable arguments (a bad base URL,
a token command that fails, an unknown suite). Never a traceback.
"""

from __future__ import annotations

import argparse
import datetime as dt
import shlex
import subprocess
import sys
from pathlib import Path
from typing import Any

from ipfhir.conformance.checks import SUITES, Result, all_checks
from ipfhir.conformance.context import Context
from ipfhir.conformance.http import Client
from ipfhir.conformance.report import Run, write_reports
from ipfhir.conformance.runner import run_checks

__all__ = ["add_arguments", "run"]

_PROG = "ipfhir conformance"


class UsageError(Exception):
    """Arguments the kit cannot use (exit 2)."""


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--base-url", required=True, help="the FHIR endpoint's base URL (http/https)")
    token = p.add_mutually_exclusive_group()
    token.add_argument("--token", help="bearer token of the plan's owner, or 'none' (default)")
    token.add_argument("--token-command", help="a command printing the token (its last line)")
    second = p.add_mutually_exclusive_group()
    second.add_argument("--second-token", help="bearer token of a second actor (consent suite)")
    second.add_argument("--second-token-command", help="a command printing the second token")
    p.add_argument("--org", help="organisasjonsnummer the token speaks for (default: its claim)")
    p.add_argument("--second-org", help="organisasjonsnummer of the second actor")
    p.add_argument(
        "--suite",
        action="append",
        choices=SUITES,
        metavar="NAME",
        help=f"run only this suite (repeatable): {', '.join(SUITES)}",
    )
    p.add_argument("--report-dir", type=Path, default=Path("conformance-report"))
    p.add_argument("--read-only", action="store_true", help="run only checks that write nothing")
    p.add_argument("--timeout", type=float, default=20.0, help="seconds per request (default 20)")
    p.add_argument("--oversize-mb", type=float, default=12.0, help="size of the oversize body")


def _token(value: str | None, command: str | None, what: str) -> str | None:
    if command:
        try:
            done = subprocess.run(
                shlex.split(command), capture_output=True, text=True, timeout=60, check=False
            )
        except (OSError, ValueError, subprocess.TimeoutExpired) as err:
            raise UsageError(f"the {what} command could not run: {err}") from None
        lines = [ln.strip() for ln in done.stdout.splitlines() if ln.strip()]
        if done.returncode != 0 or not lines:
            raise UsageError(f"the {what} command exited {done.returncode} without a token")
        return lines[-1]
    if value is None or value.lower() == "none":
        return None
    return value


def _progress(number: int, total: int, result: Result) -> None:
    tag = {"pass": "PASS ", "fail": "FAIL ", "skip": "skip ", "error": "ERROR"}[result.verdict]
    optional = "" if result.check.mandatory else " (optional)"
    message = result.message if len(result.message) <= 110 else result.message[:109] + "…"
    print(f"[{number:2d}/{total}] {tag} {result.check.id}{optional}: {message}", file=sys.stderr)


def _context(args: argparse.Namespace) -> Context:
    if not args.base_url.startswith(("http://", "https://")):
        raise UsageError(f"--base-url must be an http(s) URL, not {args.base_url!r}")
    if args.timeout <= 0 or args.oversize_mb <= 0:
        raise UsageError("--timeout and --oversize-mb must be positive")
    base = args.base_url.rstrip("/")
    main = Client(base, _token(args.token, args.token_command, "token"), args.timeout, "owner")
    second_token = _token(args.second_token, args.second_token_command, "second token")
    second = Client(base, second_token, args.timeout, "second actor") if second_token else None
    return Context(
        main,
        second,
        read_only=args.read_only,
        owner_org=args.org,
        second_org=args.second_org,
        oversize_mb=args.oversize_mb,
        announce=lambda text: print(f"{_PROG}: {text}", file=sys.stderr),
    )


def run(args: argparse.Namespace) -> int:
    try:
        ctx = _context(args)
    except UsageError as err:
        print(f"{_PROG}: {err}", file=sys.stderr)
        return 2
    checks = [c for c in all_checks() if not args.suite or c.suite in args.suite]
    started = dt.datetime.now(dt.UTC)
    print(f"{_PROG}: {len(checks)} checks against {ctx.main.base}", file=sys.stderr)
    results = run_checks(ctx, checks, _progress)
    options: dict[str, Any] = {
        "suites": args.suite or list(SUITES),
        "read_only": args.read_only,
        "token": "given" if ctx.main.token else "none",
        "second_token": "given" if ctx.second else "none",
    }
    report = Run(ctx.main.base, started, results, options, ctx.written)
    try:
        paths = write_reports(report, args.report_dir)
    except OSError as err:
        print(f"{_PROG}: cannot write the reports: {err}", file=sys.stderr)
        return 2
    c = report.counts()
    verdict = "conformant" if report.passed else "NOT conformant"
    print(
        f"{_PROG}: {verdict} — {c['pass']} passed, {c['fail']} failed, {c['skip']} skipped, "
        f"{c['error']} errors; reports: {', '.join(str(p) for p in paths)}",
        file=sys.stderr,
    )
    return 0 if report.passed else 1
