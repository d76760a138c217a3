"""Entry points: validate one resource (a Bundle with its entries) into an OperationOutcome."""

from __future__ import annotations

import threading
from typing import Any

from ipfhir.mappings.errors import Issue, operation_outcome
from ipfhir.profiles.validator.engine import Engine
from ipfhir.profiles.validator.registry import CORE_SD, IP_CANONICAL_BASE
from ipfhir.profiles.validator.runner import EntryResult, run

__all__ = ["REQUIRED_DEFINITIONS", "EntryResult", "Validator", "run", "validate"]

# Definitions every installation must carry (one of each package): without them every resource
# of that kind would be refused ("Unknown resource type"), so their absence is found at start.
REQUIRED_DEFINITIONS = (
    CORE_SD + "Bundle",
    CORE_SD + "CarePlan",
    "http://hl7.no/fhir/StructureDefinition/no-basis-Patient",
    IP_CANONICAL_BASE + "/StructureDefinition/ip-careplan",
)


class Validator:
    """Holds the compiled-profile cache; create one and reuse it (the server keeps one)."""

    def __init__(self, engine: Engine | None = None) -> None:
        self.engine = engine or Engine()

    def issues(self, resource: dict[str, Any], profile: str | None = None) -> list[Issue]:
        return run(self.engine, resource, profile)[0]

    def missing_definitions(self) -> list[str]:
        """Those of :data:`REQUIRED_DEFINITIONS` this installation cannot find (none when the
        package data is complete)."""
        known = self.engine.registry.knows
        return [url for url in REQUIRED_DEFINITIONS if not known("StructureDefinition", url)]

    def validate(self, resource: dict[str, Any], profile: str | None = None) -> dict[str, Any]:
        """An OperationOutcome (JSON) for ``resource``, issues sorted deterministically."""
        return operation_outcome(self.issues(resource, profile))

    def validate_entries(
        self, resource: dict[str, Any], profile: str | None = None
    ) -> list[tuple[dict[str, Any], list[Issue]]]:
        """Per-resource results: the resource itself first, then each Bundle entry resource
        (expressions rooted at the entry's type, ``CarePlan.status``)."""
        issues, entries = run(self.engine, resource, profile, split_entries=True)
        return [(resource, issues), *entries]


_default: Validator | None = None
_lock = threading.Lock()


def default_validator() -> Validator:
    global _default
    if _default is None:
        with _lock:
            if _default is None:
                _default = Validator()
    return _default


def validate(resource: dict[str, Any], profile: str | None = None) -> dict[str, Any]:
    """Validate ``resource`` against ``profile`` (canonical URL), else its ``meta.profile``, else
    the base R4 definition of its type; returns an OperationOutcome (JSON)."""
    return default_validator().validate(resource, profile)
