"""What the parts of one validation run need of each other, as Protocols: the walker's helpers
(``checks``, ``slicing``) see the walker as a :class:`WalkerRole`, and the walker, the walk
plans and the runner see the engine as an :class:`EngineRole`.

The engine starts nested runs (``conformsTo``, slicing by profile) through the runner, which
starts the walker, whose helpers call back into it: naming the concrete classes for their types
made these modules import each other in a ring (under ``TYPE_CHECKING``, but a ring all the
same). Through this module every import of the validator runs one way, types included
(tests/unit/test_layers.py); mypy checks that :class:`~profiles.validator.engine.Engine` and
:class:`~profiles.validator.walker.Walker` fill these roles.
"""

from __future__ import annotations

from typing import Any, Protocol

from ipfhir.mappings.errors import Issue
from ipfhir.profiles.validator.fhirpath import Env
from ipfhir.profiles.validator.model import ComplexPlan, Constraint, InvariantPlan, Node, Present
from ipfhir.profiles.validator.registry import Registry
from ipfhir.profiles.validator.terminology import Terminology

__all__ = ["EngineRole", "Item", "WalkerRole"]

Item = tuple[Any, Any, str]  # (value, _value (primitive extension part), expression)


class EngineRole(Protocol):
    """The shared, cached state of the validator (``engine.Engine``)."""

    registry: Registry
    terminology: Terminology
    extension_domains: tuple[str, ...]
    security_checks: bool

    def compiled(self, url: str) -> Node | None: ...

    def checked_children(self, defs: Node) -> list[Node]: ...

    def root_of_type(self, code: str) -> Node | None: ...

    def is_resource_type(self, code: str) -> bool: ...

    def definition_for(
        self, node: Node, type_code: str, value: dict[str, Any]
    ) -> tuple[Node | None, Node | None]: ...

    def roots_for(
        self, res: dict[str, Any], profile: str | None, issues: list[Issue], expr: str
    ) -> list[Node]: ...

    def constraints_for(
        self, node: Node, type_root: Node | None, type_code: str
    ) -> list[tuple[Constraint, str]]: ...

    def invariant_plan(
        self, node: Node, type_root: Node | None, type_code: str
    ) -> InvariantPlan | None: ...

    def complex_plan(self, node: Node, type_code: str, value: dict[str, Any]) -> ComplexPlan: ...

    def run_invariant(self, c: Constraint, value: Any, base: str, env: Env) -> bool | None: ...

    def invariant_holds(
        self, c: Constraint, value: Any, base: str, present: Present, env: Env
    ) -> bool | None: ...

    def conforms(self, res: dict[str, Any], url: str) -> bool: ...

    def member_of(self, value: Any, url: str) -> bool | None: ...


class WalkerRole(Protocol):
    """One validation run (``walker.Walker``) as its helpers see it."""

    engine: EngineRole
    registry: Registry
    terminology: Terminology
    env: Env
    issues: list[Issue]
