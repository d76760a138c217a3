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
    "s = settings()\n"
    "print(h.PROFILE, s.max_examples, h.examples(1200), s.database is None,\n"
    "      s.derandomize, s.deadline)\n"
)


def _probe(value: str | None, *, ci: bool = False) -> subprocess.CompletedProcess[str]:
    # hypothesis loads its own "ci" profile when CI or TF_BUILD is set; the answer must not change
    hidden = {"IPFHIR_HYPOTHESIS_PROFILE", "CI", "TF_BUILD"}
    env = {k: v for k, v in os.environ.items() if k not in hidden}
    if ci:
        env["CI"] = "true"
    if value is not None:
        env["IPFHIR_HYPOTHESIS_PROFILE"] = value
    return subprocess.run(
        [sys.executable, "-c", PROBE], cwd=ROOT, env=env, capture_output=True, text=True
    )


@pytest.mark.parametrize(
    ("value", "shown"),
    [
        ("ci", "ci 100 1200 True False None"),
        ("dev", "dev 20 120 False False None"),
        (None, "dev 20 120 False False None"),
    ],
)
@pytest.mark.parametrize("ci", [False, True], ids=["local", "CI-set"])
def test_profile_from_the_environment(value: str | None, shown: str, ci: bool) -> None:
    done = _probe(value, ci=ci)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == shown


def test_an_unknown_profile_is_refused() -> None:
    done = _probe("fast")
    assert done.returncode != 0
    assert "IPFHIR_HYPOTHESIS_PROFILE='fast'" in done.stderr


def test_ci_sets_the_full_profile() -> None:
    assert "export IPFHIR_HYPOTHESIS_PROFILE=ci" in (ROOT / ".ci/run").read_text(encoding="utf-8")


def test_ci_requires_rabbitmq() -> None:
    # the AMQP transport tests (tests/integration/test_legacy_amqp.py) fail in CI, never skip
    assert "export IPFHIR_REQUIRE_RABBITMQ=1" in (ROOT / ".ci/run").read_text(encoding="utf-8")
