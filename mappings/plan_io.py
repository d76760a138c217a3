"""Reading and writing plans and Bundles as text (JSON or FHIR XML); pure, bytes in, text out."""

from __future__ import annotations

from typing import Any, Literal

from ipfhir.mappings.fhirjson import dump_json, parse_json
from ipfhir.mappings.fhirxml import parse_xml, to_xml
from ipfhir.mappings.from_fhir import bundle_to_plan
from ipfhir.mappings.model import Plan
from ipfhir.mappings.rules import load_plan
from ipfhir.mappings.to_fhir import plan_to_bundle

__all__ = [
    "bundle_text",
    "plan_from_bundle_text",
    "plan_from_json",
    "plan_json",
    "plan_to_json_dict",
    "sniff_format",
]

Format = Literal["json", "xml"]


def sniff_format(data: bytes, name: str = "") -> Format:
    """``xml`` for a ``.xml`` name or content that starts with '<', otherwise ``json``."""
    if name.lower().endswith(".xml"):
        return "xml"
    if name.lower().endswith(".json"):
        return "json"
    return "xml" if data.lstrip(b"\xef\xbb\xbf \t\r\n").startswith(b"<") else "json"


def plan_from_json(data: bytes | str) -> Plan:
    """Plan JSON text → a checked Plan (PlanRuleViolation / FormatError otherwise)."""
    return load_plan(_plain(parse_json(data)))


def plan_to_json_dict(plan: Plan) -> dict[str, Any]:
    return plan.model_dump(mode="json", exclude_none=True)


def plan_json(plan: Plan) -> str:
    return dump_json(plan_to_json_dict(plan), pretty=True) + "\n"


def plan_from_bundle_text(data: bytes, fmt: Format) -> Plan:
    bundle = parse_xml(data) if fmt == "xml" else parse_json(data)
    return bundle_to_plan(bundle)


def bundle_text(plan: Plan, fmt: Format) -> str:
    bundle = plan_to_bundle(plan)
    return (to_xml(bundle, pretty=True) if fmt == "xml" else dump_json(bundle, pretty=True)) + "\n"


def _plain(value: Any) -> Any:
    """Decimals (as the strict JSON reader gives them) → int/float for the plan model."""
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if type(value).__name__ == "Decimal":
        return int(value) if value == value.to_integral_value() else float(value)
    return value
