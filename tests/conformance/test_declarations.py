"""The checks as declared data: every requirement verified, descriptions for the vendor, the
workflows optional with their reason, and the kit independent of the server it tests."""

from __future__ import annotations

import ast
from pathlib import Path

from ipfhir.conformance.checks import ID_PREFIX, SUITES, all_checks
from ipfhir.conformance.requirements import REQUIREMENTS

KIT = Path(__file__).resolve().parents[2] / "conformance"


def test_every_requirement_is_verified_by_a_check() -> None:
    covered = {r for c in all_checks() for r in c.requirements}
    assert sorted(set(REQUIREMENTS) - covered) == []
    assert sorted(covered - set(REQUIREMENTS)) == []  # no check cites an unknown requirement


def test_the_content_list_a_to_i_is_among_the_requirements() -> None:
    assert {f"IP-{letter}" for letter in "abcdefghi"} <= set(REQUIREMENTS)


def test_checks_are_unique_described_and_grouped() -> None:
    checks = all_checks()
    assert len({c.id for c in checks}) == len(checks)
    for c in checks:
        assert c.id.startswith(f"{ID_PREFIX[c.suite]}."), c.id
        assert len(c.description) >= 60 and c.title, c.id
        assert c.requirements, c.id
    assert {c.suite for c in checks} == set(SUITES)


def test_workflow_checks_are_optional_until_the_sync_engine() -> None:
    workflows = [c for c in all_checks() if c.suite == "workflows"]
    assert len(workflows) == 3
    assert all(not c.mandatory and "issue 12" in c.description for c in workflows)
    assert all(c.mandatory for c in all_checks() if c.suite in ("consent", "hostile"))


def test_the_kit_never_imports_the_server() -> None:
    offenders = []
    for path in sorted(KIT.glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = (
                [a.name for a in node.names]
                if isinstance(node, ast.Import)
                else [node.module or ""]
                if isinstance(node, ast.ImportFrom)
                else []
            )
            offenders += [f"{path.name}: {n}" for n in names if n.startswith("ipfhir.adapter")]
    assert offenders == []


def test_the_kits_synthetic_persons_are_adults_on_any_seed() -> None:
    """The plan the kit writes must never meet an age rule of the server (IP-1024: under 16)."""
    import datetime as dt
    import random

    from ipfhir.conformance.synthetic import synthetic_plan

    today = dt.date.today()
    for seed in range(300):
        plan = synthetic_plan("974589095", None, rng=random.Random(seed))
        born = plan.plan.person.birth_date
        assert (today - born).days // 366 >= 18, (seed, born)
