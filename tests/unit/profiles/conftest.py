"""Shared objects for the validator tests: one Validator (compiled profiles are cached)."""

from __future__ import annotations

from pathlib import Path

import pytest

from profiles.validator import Validator

REFERENCE = Path(__file__).resolve().parents[4] / "shared" / "reference"
REPO = Path(__file__).resolve().parents[3]


@pytest.fixture(scope="session")
def validator() -> Validator:
    return Validator()
