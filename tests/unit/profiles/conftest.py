"""Shared objects for the validator tests: one Validator (compiled profiles are cached)."""

from __future__ import annotations

import pytest

from ipfhir.profiles.validator import Validator


@pytest.fixture(scope="session")
def validator() -> Validator:
    return Validator()
