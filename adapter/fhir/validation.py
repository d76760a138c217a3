"""The validator port's default wiring and the translation of its OperationOutcome to errors.

The server always validates with the project's profile validator (``ipfhir.profiles.validator``):
it is part of this distribution, and a missing piece of it is a start-up error, never a silent
fall-back to a weaker check. :func:`minimal_structural_check` (resourceType and id only) is a
stand-in for tests and benchmarks of store mechanics, not profile validation.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from ipfhir.adapter.errors import issue
from ipfhir.mappings.errors import IpError, Issue, ProfileViolation, operation_outcome

__all__ = [
    "default_validator",
    "ensure_valid",
    "issues_from_outcome",
    "minimal_structural_check",
    "validator_name",
]

Resource = dict[str, Any]
ValidatorFn = Callable[..., Resource]
_ID = re.compile(r"^[A-Za-z0-9\-.]{1,64}$")


def minimal_structural_check(resource: Resource, profile: str | None = None) -> Resource:
    """Stand-in when no validator is available: a dict with a resourceType and a legal id."""
    issues: list[Issue] = []
    if not isinstance(resource.get("resourceType"), str):
        issues.append(Issue("IP-4501", "resourceType is missing", ("Resource",), "required"))
    rid = resource.get("id")
    if rid is not None and (not isinstance(rid, str) or not _ID.match(rid)):
        issues.append(Issue("IP-4501", f"id {rid!r} is not a FHIR id", ("Resource.id",), "value"))
    return operation_outcome(issues)


def _check_resource_adapter(check: Callable[..., Any]) -> ValidatorFn:
    """``check_resource`` raises on a structural problem; turn that into an OperationOutcome."""

    def run(resource: Resource, profile: str | None = None) -> Resource:
        try:
            check(resource)
        except IpError as err:
            return err.outcome()
        return operation_outcome([])

    return run


def default_validator() -> tuple[str, ValidatorFn, list[str]]:
    """(name, function, definitions this installation lacks) of the profile validator."""
    from ipfhir.profiles.validator import default_validator as profile_validator

    validator = profile_validator()
    return "ipfhir.profiles.validator", validator.validate, validator.missing_definitions()


def validator_name() -> str:
    return default_validator()[0]


def issues_from_outcome(outcome: Resource) -> list[Issue]:
    """The error/fatal issues of an OperationOutcome as :class:`Issue` s (message ids kept)."""
    found: list[Issue] = []
    for raw in outcome.get("issue") or ():
        if raw.get("severity") not in ("error", "fatal"):
            continue
        details = raw.get("details") or {}
        codes = [c.get("code") for c in details.get("coding") or () if c.get("code")]
        text = details.get("text") or raw.get("diagnostics") or "invalid"
        found.append(
            Issue(
                codes[0] if codes else "IP-4501",
                text,
                tuple(raw.get("expression") or raw.get("location") or ()),
                raw.get("code", "invalid"),
                raw.get("severity", "error"),
            )
        )
    return found


def ensure_valid(validate: ValidatorFn, resource: Resource) -> None:
    """Raise :class:`ProfileViolation` when ``validate`` reports an error; nothing is stored."""
    outcome = validate(resource, None)
    problems = issues_from_outcome(outcome)
    if problems:
        raise ProfileViolation([issue("IP-4501", code="processing"), *problems])
