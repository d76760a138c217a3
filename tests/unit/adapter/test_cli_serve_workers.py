"""``ipfhir serve --workers auto``: one worker per usable CPU (at most 8) where the processes
share their state through the database; one for an in-memory SQLite database."""

from __future__ import annotations

import pytest

from ipfhir.adapter.cli.main import build_parser
from ipfhir.adapter.cli.serve_cmd import auto_workers


@pytest.mark.parametrize(
    ("url", "cpus", "expected"),
    [
        ("sqlite:////srv/ipfhir/ipfhir.sqlite3", 2, 2),
        ("postgresql+psycopg://ip@db.kommune.no/ip", 2, 2),
        ("postgresql+psycopg://ip@db.kommune.no/ip", 64, 8),
        ("sqlite:////srv/ipfhir/ipfhir.sqlite3", 1, 1),
        ("sqlite://", 4, 1),
        ("sqlite:///:memory:", 4, 1),
        ("sqlite:///file:delt?mode=memory&cache=shared&uri=true", 4, 1),
    ],
)
def test_auto_picks_workers_the_database_can_share(url: str, cpus: int, expected: int) -> None:
    workers, why = auto_workers(url, cpus)
    assert workers == expected and why


def test_auto_without_a_count_uses_the_cpus_this_process_may_run_on() -> None:
    workers, _ = auto_workers("sqlite:////srv/ipfhir/ipfhir.sqlite3")
    assert 1 <= workers <= 8


@pytest.mark.parametrize(("given", "parsed"), [("auto", "auto"), ("AUTO", "auto"), ("3", 3)])
def test_the_workers_option_takes_a_number_or_auto(given: str, parsed: object) -> None:
    args = build_parser().parse_args(["serve", "--workers", given])
    assert args.workers == parsed


@pytest.mark.parametrize("given", ["0", "-1", "mange", "2.5"])
def test_the_workers_option_refuses_anything_else(given: str) -> None:
    with pytest.raises(SystemExit):
        build_parser().parse_args(["serve", "--workers", given])
