"""``ipfhir``: one parser; each subcommand lives in its own module with ``register(subparsers)``.

Errors of the project's hierarchy become a message on stderr and exit code 1 (2 for unusable
arguments, argparse's convention); a traceback never reaches the user.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from types import ModuleType
from typing import NoReturn

from ipfhir.mappings.errors import IpError

__all__ = ["build_parser", "main"]


def _subcommand_modules() -> list[ModuleType]:
    from ipfhir.adapter.cli import (
        conformance_cmd,
        directory_cmd,
        legacy_cmd,
        map_cmd,
        notify_cmd,
        outbox_cmd,
        serve_cmd,
        token_cmd,
        transfer_cmd,
        validate_cmd,
    )

    return [
        map_cmd,
        serve_cmd,
        validate_cmd,
        token_cmd,
        outbox_cmd,
        conformance_cmd,
        legacy_cmd,
        directory_cmd,
        notify_cmd,
        transfer_cmd,
    ]


class _Parser(argparse.ArgumentParser):
    """argparse with its complaint on one line (the usage is one ``--help`` away)."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="ipfhir", description="FHIR adapter for the Norwegian individual plan (IP)."
    )
    subparsers = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for module in _subcommand_modules():
        module.register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    handler: Callable[[argparse.Namespace], int] = args.handler
    try:
        return handler(args)
    except IpError as err:
        for issue in err.issues:
            where = f" (at {', '.join(issue.expression)})" if issue.expression else ""
            print(f"ipfhir: {issue.message_id}: {issue.text}{where}", file=sys.stderr)
        return 1
    except OSError as err:
        print(f"ipfhir: {err.strerror or err}: {err.filename or ''}".rstrip(": "), file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    raise SystemExit(main())
