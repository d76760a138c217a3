"""``ipfhir conformance``: test a vendor's FHIR endpoint for individual-plan exchange over HTTP
(the kit lives in ``ipfhir.conformance``; this module only registers it)."""

from __future__ import annotations

from typing import Any

__all__ = ["register"]


def register(subparsers: Any) -> None:
    from ipfhir.conformance.cli import add_arguments, run

    p = subparsers.add_parser(
        "conformance",
        help="test a FHIR endpoint for individual-plan exchange (reports JSON, JUnit, HTML)",
        description="Test a FHIR endpoint for individual-plan exchange. Writes synthetic "
        "persons only; --read-only writes nothing. Exit 0 when every mandatory check passed.",
    )
    add_arguments(p)
    p.set_defaults(handler=run)
