"""Who the adapter trusts is recorded where everything else is: a directory load (whose keys the
token endpoint accepts, where plan data goes) and every access token granted or refused after
authentication are AuditEvents, committed on the very transaction that makes them take effect
— the entries with their record, the spent assertion with its grant: when the record cannot
be written, nothing is loaded and no token is issued (and the assertion is not spent). Failed
client authentications are not AuditEvents (a stranger could fill the trail): they are logged
and locked out (tests/security/test_token_lockout.py)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine

from ipfhir.adapter.bootstrap import build_wiring
from ipfhir.adapter.cli.main import main
from ipfhir.adapter.directory import SqlDirectory, parse_directory
from ipfhir.adapter.directory.guard_messages import MESSAGE_SCOPE
from ipfhir.adapter.ports import SearchQuery
from ipfhir.adapter.settings import Settings
from tests.api.test_token_endpoint import SENDER, World, ask, claims, form, new_key
from tests.api.test_token_endpoint import world as world  # noqa: F401  (the fixture)
from tests.unit.directory.test_parse import TROMSO_KE, UNN, fixture


def _trust_events(repository: Any) -> list[dict[str, Any]]:
    events = repository.search(SearchQuery("AuditEvent", count=100)).matches
    return [e for e in events if "(trust)" in e.get("outcomeDesc", "")]


def _agent(event: dict[str, Any]) -> str | None:
    for agent in event.get("agent", []):
        value = agent.get("who", {}).get("identifier", {}).get("value")
        if value:
            return str(value)
    return None


def test_every_token_granted_or_refused_after_login_is_audited(
    world: World,  # noqa: F811
) -> None:
    granted = form(world.key.sign(claims()), scope=MESSAGE_SCOPE)
    assert ask(world.client, granted).status_code == 200
    assert ask(world.client, granted).status_code == 401  # replayed: nothing granted
    assert ask(world.client, form(new_key().sign(claims()))).status_code == 401  # a stranger
    wide = form(world.key.sign(claims()), scope="system/*.cruds")
    assert ask(world.client, wide).json()["error"] == "invalid_scope"
    events = _trust_events(world.wiring.repository)
    assert sorted((e["outcome"], _agent(e)) for e in events) == [("0", SENDER), ("4", SENDER)]
    text = {e["outcome"]: e["outcomeDesc"] for e in events}
    assert f"granted: scope {MESSAGE_SCOPE}" in text["0"]
    assert "IP-6033" in text["4"] and "system/*.cruds" in text["4"]


def test_no_token_is_issued_unrecorded(
    world: World,  # noqa: F811
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import ipfhir.adapter.api.token_routes as routes

    def broken(*_a: Any, **_k: Any) -> None:
        raise RuntimeError("revisjonsloggen er utilgjengelig")

    assertion = form(world.key.sign(claims()))
    with monkeypatch.context() as patched:
        patched.setattr(routes, "record_operation", broken)
        failed = ask(world.client, assertion)
    assert failed.status_code == 500 and "access_token" not in failed.text
    assert failed.headers["content-type"].startswith("application/fhir+json")
    assert _trust_events(world.wiring.repository) == []
    again = ask(world.client, assertion)  # the assertion was not spent: the grant rolled back
    assert again.status_code == 200, again.text
    assert len(_trust_events(world.wiring.repository)) == 1


def _cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str]:
    code = main(list(args))
    return code, capsys.readouterr().err


def test_a_directory_load_is_audited_with_its_entries(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = tmp_path / "data"
    file = tmp_path / "katalog-æøå.json"
    file.write_text(json.dumps(fixture(), ensure_ascii=False), encoding="utf-8")
    assert _cli(capsys, "directory", "load", str(file), "--data-dir", str(data))[0] == 0
    broken = tmp_path / "ødelagt.json"
    broken.write_text('{"resourceType": "Patient"}', encoding="utf-8")
    code, err = _cli(capsys, "directory", "load", str(broken), "--data-dir", str(data))
    assert code == 1 and "IP-6011" in err
    wiring = build_wiring(Settings(data_dir=data, dev_mode=True))
    [event] = _trust_events(wiring.repository)  # the refused file left no record, nor entries
    assert event["outcome"] == "0" and _agent(event) is None  # the operator at this machine
    desc = event["outcomeDesc"]
    assert "directory loaded (merged): 4 organisation(s)" in desc
    assert f"{UNN} https://ip.unn.example.no/fhir" in desc and TROMSO_KE in desc
    assert "katalog-æøå.json sha256 " in desc
    wiring.engine.dispose()


def test_entries_and_their_record_commit_together(engine: Engine) -> None:
    directory = SqlDirectory(engine)

    def broken(_conn: Any, _what: str) -> None:
        raise RuntimeError("revisjonsloggen er utilgjengelig")

    with pytest.raises(RuntimeError):
        directory.load(parse_directory(fixture()), record=broken)
    assert directory.entries() == []
