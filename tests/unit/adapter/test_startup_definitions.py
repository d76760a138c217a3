"""A server whose installation lacks the profile definitions does not start (IP-4604, naming
what is missing), rather than starting and refusing every resource as of an unknown type."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import create_engine

from ipfhir.adapter.bootstrap import build_wiring
from ipfhir.adapter.errors import StartupError
from ipfhir.adapter.settings import Settings
from ipfhir.profiles.validator.api import REQUIRED_DEFINITIONS, Validator


def test_missing_definitions_stop_the_start(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    lacking = list(REQUIRED_DEFINITIONS[2:])
    monkeypatch.setattr(Validator, "missing_definitions", lambda _self: lacking)
    engine = create_engine("sqlite://")
    with pytest.raises(StartupError) as err:
        build_wiring(Settings(data_dir=tmp_path), engine=engine, run_migrations=False)
    [issue] = err.value.issues
    assert (issue.message_id, issue.expression, issue.severity) == ("IP-4604", (), "error")
    assert all(url in issue.text for url in lacking)
    engine.dispose()


def test_a_complete_installation_lacks_nothing() -> None:
    assert Validator().missing_definitions() == []
