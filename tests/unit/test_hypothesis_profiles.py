"""The hypothesis profile follows IPFHIR_HYPOTHESIS_PROFILE: the full counts in CI (.ci/run sets
it), a tenth locally; an unknown name is refused rather than silently run as the fast profile."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PROBE = (
    "from hypothesis import settings\n"
    "from tests import hypothesis_profiles as h\n"
    "h.load()\n"
    "print(h.PROFILE, settings().max_examples, h.examples(1200), settings().database is None)\n"
)


def _probe(value: str | None) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "IPFHIR_HYPOTHESIS_PROFILE"}
    if value is not None:
        env["IPFHIR_HYPOTHESIS_PROFILE"] = value
    return subprocess.run(
        [sys.executable, "-c", PROBE], cwd=ROOT, env=env, capture_output=True, text=True
    )


@pytest.mark.parametrize(
    ("value", "shown"),
    [("ci", "ci 100 1200 True"), ("dev", "dev 20 120 False"), (None, "dev 20 120 False")],
)
def test_profile_from_the_environment(value: str | None, shown: str) -> None:
    done = _probe(value)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == shown


def test_an_unknown_profile_is_refused() -> None:
    done = _probe("fast")
    assert done.returncode != 0
    assert "IPFHIR_HYPOTHESIS_PROFILE='fast'" in done.stderr


def test_ci_sets_the_full_profile() -> None:
    assert "export IPFHIR_HYPOTHESIS_PROFILE=ci" in (ROOT / ".ci/run").read_text(encoding="utf-8")
