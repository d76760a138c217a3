"""Message catalogue of the profile validator (IP-3xxx). Ids are stable: tests assert on them.

Each entry is a text template; ``issue()`` fills it and attaches the FHIR IssueType code and the
default severity that belong to the id.
"""

from __future__ import annotations

from typing import Any

from ipfhir.mappings.errors import Issue, Severity

__all__ = ["MESSAGES", "issue"]

# id: (IssueType code, default severity, template)
MESSAGES: dict[str, tuple[str, Severity, str]] = {
    "IP-3001": ("structure", "error", "Unknown element '{name}': it is not defined in {where}"),
    "IP-3002": ("required", "error", "Element '{name}' is required (min {min}) but missing"),
    "IP-3003": (
        "structure",
        "error",
        "Element '{name}' may occur at most {max} time(s); found {n}",
    ),
    "IP-3004": ("structure", "error", "Element '{name}' must be {expected} in JSON, not {found}"),
    "IP-3005": ("value", "error", "Value {value!r} is not a valid FHIR {type}{hint}"),
    "IP-3006": ("value", "error", "Empty values are not allowed ('{name}'): omit the element"),
    "IP-3007": ("value", "error", "'{name}' must be a JSON boolean (true/false), not {value!r}"),
    "IP-3008": ("value", "error", "Value must be exactly {expected} (fixed by the profile)"),
    "IP-3009": (
        "value",
        "error",
        "Value must match the pattern {expected} required by the profile",
    ),
    "IP-3010": ("code-invalid", "error", "Code {code} is not in the required value set {vs}"),
    "IP-3011": ("code-invalid", "warning", "Code {code} is not in the extensible value set {vs}"),
    "IP-3012": ("invariant", "error", "Constraint {key} failed: {human}"),
    "IP-3013": ("informational", "warning", "Constraint {key} could not be evaluated: {why}"),
    "IP-3014": ("structure", "error", "Slice '{slice}' of '{name}' needs {min}..{max}; found {n}"),
    "IP-3015": ("structure", "error", "'{name}' item matches no slice, and the slicing is closed"),
    "IP-3016": (
        "structure",
        "error",
        "Reference to a {target} is not allowed here; allowed: {allowed}",
    ),
    "IP-3017": ("not-found", "error", "Profile {url} is not known to the validator"),
    "IP-3018": ("structure", "error", "{what}"),
    "IP-3019": ("value", "error", "Fødselsnummer {value!r} is not valid (11 digits, mod-11 check)"),
    "IP-3020": (
        "value",
        "error",
        "D-nummer {value!r} is not valid (11 digits, first digit +4, mod-11)",
    ),
    "IP-3021": ("value", "error", "Organisasjonsnummer {value!r} is not valid (9 digits, mod-11)"),
    "IP-3022": (
        "structure",
        "error",
        "Extension {url} is unknown (no definition available offline), so it is not allowed here",
    ),
    "IP-3023": (
        "structure",
        "error",
        "Type {type} is not allowed for '{name}'; allowed: {allowed}",
    ),
    "IP-3024": ("value", "error", "Value is longer than maxLength {max} ({n} characters)"),
    "IP-3025": ("structure", "error", "Resource is a {found}, but profile {url} is for {expected}"),
    "IP-3026": ("code-invalid", "error", "Code {code} is not defined in code system {system}"),
    "IP-3027": ("value", "error", "Narrative XHTML is not acceptable: {why}"),
    "IP-3029": ("value", "error", "Value {value} is outside the profile's range ({bound})"),
    "IP-3030": ("exception", "fatal", "Cannot read {file}: {why}"),
    "IP-3031": (
        "informational",
        "warning",
        "Profile {url} in meta.profile is unknown; not checked",
    ),
    "IP-3032": ("security", "error", "The string looks like it embeds HTML ({tag}); not allowed"),
}


def issue(
    message_id: str, expression: str | None, severity: Severity | None = None, **kw: Any
) -> Issue:
    """The catalogue entry ``message_id`` filled with ``kw``, located at ``expression``."""
    code, default_severity, template = MESSAGES[message_id]
    return Issue(
        message_id=message_id,
        text=template.format(**kw),
        expression=(expression,) if expression else (),
        code=code,
        severity=severity or default_severity,
    )
