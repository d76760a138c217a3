"""``ipfhir map``: plan JSON ⇄ FHIR transaction Bundle (JSON or FHIR XML)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from ipfhir.mappings.plan_io import (
    bundle_text,
    plan_from_bundle_text,
    plan_from_json,
    plan_json,
    sniff_format,
)

__all__ = ["register"]


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser("map", help="map a plan to FHIR and back")
    direction = parser.add_subparsers(dest="direction", required=True, metavar="DIRECTION")
    to_fhir = direction.add_parser("plan-to-fhir", help="plan JSON → FHIR transaction Bundle")
    to_fhir.add_argument("plan", type=Path, metavar="PLAN.json")
    to_fhir.add_argument("--format", choices=("json", "xml"), default="json")
    to_fhir.add_argument("-o", "--output", type=Path, metavar="OUT")
    to_fhir.set_defaults(handler=_plan_to_fhir)
    to_plan = direction.add_parser("fhir-to-plan", help="FHIR Bundle (JSON or XML) → plan JSON")
    to_plan.add_argument("bundle", type=Path, metavar="BUNDLE")
    to_plan.add_argument("-o", "--output", type=Path, metavar="OUT")
    to_plan.set_defaults(handler=_fhir_to_plan)


def _write(text: str, output: Path | None) -> None:
    if output is None:
        sys.stdout.write(text)
    else:
        output.write_text(text, encoding="utf-8")


def _plan_to_fhir(args: argparse.Namespace) -> int:
    plan = plan_from_json(args.plan.read_bytes())
    _write(bundle_text(plan, args.format), args.output)
    return 0


def _fhir_to_plan(args: argparse.Namespace) -> int:
    data = args.bundle.read_bytes()
    plan = plan_from_bundle_text(data, sniff_format(data, args.bundle.name))
    _write(plan_json(plan), args.output)
    return 0
