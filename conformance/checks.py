"""Checks as data, and what a run of one produces.

A :class:`Check` is declared once, with the :func:`check` decorator on the function that performs
it: an id, a title, a description written for the vendor's engineer, the requirement ids it
verifies (:mod:`ipfhir.conformance.requirements`), whether it is mandatory, and whether it writes
to the server (``--read-only`` runs only the checks that write nothing). The function raises
:class:`Fail` or :class:`Skip`, or returns the message of a pass; every HTTP exchange it makes is
recorded as evidence by the client (:mod:`ipfhir.conformance.http`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal

if TYPE_CHECKING:
    from ipfhir.conformance.context import Context

__all__ = [
    "SUITES",
    "Check",
    "Evidence",
    "Fail",
    "Result",
    "Skip",
    "Verdict",
    "all_checks",
    "check",
]

Verdict = Literal["pass", "fail", "skip", "error"]
# Suites in the order they run: what the server says first, then what it does.
SUITES = ("capability", "profiles", "rest", "consent", "workflows", "hostile")
CheckFunction = Callable[["Context"], str]


class Fail(Exception):
    """The server does not do what the check requires; the message says what to change."""


class Skip(Exception):
    """The check could not be judged (no data, no support declared, an option not given)."""


@dataclass(frozen=True)
class Check:
    id: str
    suite: str
    title: str
    description: str
    requirements: tuple[str, ...]
    mandatory: bool
    writes: bool
    run: CheckFunction = field(repr=False, compare=False)


@dataclass(frozen=True)
class Evidence:
    """One HTTP exchange: the request and an excerpt of the response."""

    method: str
    url: str
    request_headers: dict[str, str]
    request_body: str
    status: int | None
    response_headers: dict[str, str]
    response_body: str
    note: str = ""


@dataclass
class Result:
    check: Check
    verdict: Verdict
    message: str
    evidence: list[Evidence] = field(default_factory=list)
    seconds: float = 0.0
    # a skip the user chose (--read-only): not counted against the exit code
    excluded: bool = False

    @property
    def blocks(self) -> bool:
        """A mandatory check that was not excluded and did not pass: the run does not pass."""
        return self.check.mandatory and not self.excluded and self.verdict != "pass"


_REGISTRY: list[Check] = []


def check(
    id: str,
    suite: str,
    title: str,
    description: str,
    requirements: tuple[str, ...],
    *,
    mandatory: bool = True,
    writes: bool = False,
) -> Callable[[CheckFunction], CheckFunction]:
    """Declare the decorated function as a check (registered in declaration order)."""
    if suite not in SUITES:
        raise ValueError(f"unknown suite {suite!r}")

    def register(fn: CheckFunction) -> CheckFunction:
        if any(c.id == id for c in _REGISTRY):
            raise ValueError(f"check {id!r} declared twice")
        _REGISTRY.append(
            Check(
                id, suite, title, " ".join(description.split()), requirements, mandatory, writes, fn
            )
        )
        return fn

    return register


def all_checks() -> list[Check]:
    """Every declared check, suite by suite in :data:`SUITES` order."""
    from ipfhir.conformance import (  # noqa: F401  (importing declares the checks)
        suite_capability,
        suite_consent,
        suite_hostile,
        suite_profiles,
        suite_rest,
        suite_workflows,
    )

    return sorted(_REGISTRY, key=lambda c: SUITES.index(c.suite))
