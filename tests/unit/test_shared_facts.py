"""Facts written once: the canonical base, the code system and code of the individual-plan
category (mappings/codes.py). Another copy could drift from it — a plan the mapping writes that
the store no longer counts as a plan, a profile the server names that the validator does not
know — so a string literal holding one of them anywhere else in the shipped code fails here
(docstrings and comments may mention them)."""

from __future__ import annotations

from pathlib import Path

import pytest

from ipfhir.mappings import codes
from ipfhir.profiles.validator import registry
from tests.literals import string_literals

ROOT = Path(__file__).resolve().parents[2]
FOLDERS = ("adapter", "mappings", "profiles/validator")
FACTS = {
    "canonical base": codes.BASE,
    "plan category system": codes.SYSTEM_9602,
    "plan category code": codes.IP_PLAN_CODE,
}
HOME = ROOT / "mappings/codes.py"
# The validator's own statement of the base (its files are edited apart from this one's); held
# equal to the one source below.
KNOWN_COPIES = {("profiles/validator/registry.py", "canonical base")}


def _copies(fact: str, value: str) -> list[str]:
    found = []
    for folder in FOLDERS:
        for path in sorted((ROOT / folder).rglob("*.py")):
            rel = str(path.relative_to(ROOT))
            if path == HOME or "migrations" in path.parts or (rel, fact) in KNOWN_COPIES:
                continue
            hits = [line for line, text in string_literals(path) if value in text]
            found += [f"{rel}:{line}" for line in hits]
    return found


@pytest.mark.parametrize("fact", sorted(FACTS))
def test_written_once(fact: str) -> None:
    assert _copies(fact, FACTS[fact]) == []


def test_the_validators_base_is_the_one_base() -> None:
    assert registry.IP_CANONICAL_BASE == codes.BASE


def test_the_check_sees_a_copy(tmp_path: Path) -> None:
    path = tmp_path / "m.py"
    path.write_text(f'"""Mentions {codes.BASE} freely."""\nURL = "{codes.BASE}/x"\n')
    assert string_literals(path) == [(2, f"{codes.BASE}/x")]


def test_a_reference_to_a_plan_party_is_checked_in_one_place() -> None:
    """IP-1002 (no such id in the plan) and IP-1003 (a party of the wrong kind) are made by
    ``mappings.link_rules.check_reference`` only; the plan rules' catalogue names each once."""
    found = {
        (str(path.relative_to(ROOT)), line)
        for path in sorted((ROOT / "mappings").rglob("*.py"))
        for line, text in string_literals(path)
        if any(mid in text for mid in ("IP-1002", "IP-1003"))
    }
    places = sorted({place for place, _ in found})
    assert places == ["mappings/link_rules.py", "mappings/rules.py"]
    assert len([f for f in found if f[0] == "mappings/rules.py"]) == 2  # the catalogue's keys
