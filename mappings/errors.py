"""The project's one exception hierarchy (pure layer; ``adapter/errors.py`` extends it).

Every error carries one or more :class:`Issue` s — severity, FHIR IssueType code, a stable message
id (``IP-nnnn``), a text a person can act on and FHIRPath expressions to the offending element —
so that any layer can render it as an OperationOutcome. Only the API layer maps classes to HTTP
status codes.

    IpError
    ├── InvalidInput            input that cannot be accepted as it is
    │   ├── FormatError         not parseable: bad JSON/XML, hostile or oversized input (IP-2xxx)
    │   ├── PlanRuleViolation   a rule of the individual plan is broken (IP-1xxx)
    │   ├── MappingError        FHIR content that cannot be mapped to a plan (IP-2xxx)
    │   └── ProfileViolation    the profile validator found errors (IP-3xxx)
    └── (service errors in adapter/errors.py: NotFound, Conflict, Unauthenticated, Forbidden, ...)
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from ipfhir.mappings.codes import cs_url

__all__ = [
    "FormatError",
    "InvalidInput",
    "IpError",
    "Issue",
    "MappingError",
    "PlanRuleViolation",
    "ProfileViolation",
    "catalogue_issue",
    "operation_outcome",
]

Severity = Literal["fatal", "error", "warning", "information"]


@dataclass(frozen=True)
class Issue:
    """One finding: what is wrong, where (FHIRPath), and a stable id to assert on."""

    message_id: str
    text: str
    expression: tuple[str, ...] = ()
    code: str = "invalid"  # FHIR IssueType (invalid, structure, required, value, invariant, ...)
    severity: Severity = "error"

    def to_fhir(self) -> dict[str, Any]:
        issue: dict[str, Any] = {
            "severity": self.severity,
            "code": self.code,
            "details": {
                "coding": [
                    {
                        "system": cs_url("message-id"),
                        "code": self.message_id,
                    }
                ],
                "text": self.text,
            },
            "diagnostics": f"{self.message_id}: {self.text}",
        }
        if self.expression:
            issue["expression"] = list(self.expression)
        return issue


def operation_outcome(issues: list[Issue] | tuple[Issue, ...]) -> dict[str, Any]:
    """An R4 OperationOutcome (JSON form) for ``issues``; an empty list reads 'all OK'."""
    if not issues:
        return {
            "resourceType": "OperationOutcome",
            "issue": [
                {
                    "severity": "information",
                    "code": "informational",
                    "details": {"text": "All OK"},
                }
            ],
        }
    return {"resourceType": "OperationOutcome", "issue": [i.to_fhir() for i in issues]}


@dataclass
class IpError(Exception):
    """Root of the hierarchy. ``issues`` is never empty."""

    issues: list[Issue] = field(default_factory=list)

    def __post_init__(self) -> None:
        if not self.issues:
            raise ValueError("an IpError needs at least one Issue")
        super().__init__(str(self))

    def __str__(self) -> str:
        return "; ".join(
            f"{i.message_id} {i.text}" + (f" at {', '.join(i.expression)}" if i.expression else "")
            for i in self.issues
        )

    @classmethod
    def single(
        cls, message_id: str, text: str, expression: str | None = None, code: str = "invalid"
    ) -> IpError:
        return cls([Issue(message_id, text, (expression,) if expression else (), code)])

    def outcome(self) -> dict[str, Any]:
        return operation_outcome(self.issues)


class InvalidInput(IpError):
    """Input that cannot be accepted as it is."""


class FormatError(InvalidInput):
    """Not parseable: malformed JSON/XML, hostile or oversized input, unknown media type."""


class PlanRuleViolation(InvalidInput):
    """A rule of the individual plan (its content list, items a–i, and the consent rules) is
    broken."""


class MappingError(InvalidInput):
    """FHIR content that cannot be mapped to (or from) the plan model."""


class ProfileViolation(InvalidInput):
    """The profile validator found at least one error."""


def catalogue_issue(
    catalogue: Mapping[str, str],
    message_id: str,
    expression: str | None = None,
    code: str = "invalid",
    suffix: str = "",
    fields: Mapping[str, object] | None = None,
) -> Issue:
    """The one way an :class:`Issue` is made from a message catalogue (``MESSAGES``: id → text,
    one per owner, see docs/architecture.md): the text with its ``{names}`` filled from
    ``fields`` and ``suffix`` appended, located at ``expression``. Owners wrap it with their
    defaults (``adapter.errors.issue``, ``adapter.security_errors.issue5``, ...)."""
    text = catalogue[message_id].format(**fields) if fields else catalogue[message_id]
    if suffix:
        text = f"{text} {suffix}"
    return Issue(message_id, text, (expression,) if expression else (), code)
