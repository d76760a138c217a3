"""A Bundle has at most MAX_BUNDLE_ENTRIES entries: more is one 400 OperationOutcome (IP-4116,
pointing at the first entry over the limit) before anything is judged or stored."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import Engine, func, select

from ipfhir.adapter.api.input_checks import MAX_BUNDLE_ENTRIES
from ipfhir.adapter.store.schema import resources
from tests.api.conftest import JSON, message_ids


def _bundle(n: int, btype: str) -> dict[str, Any]:
    """``n`` small entries (the body stays under the test server's 64 KB limit)."""
    entries = [{"request": {"method": "GET", "url": f"Patient/p{i}"}} for i in range(n)]
    return {"resourceType": "Bundle", "type": btype, "entry": entries}


def _stored(engine: Engine) -> int:
    with engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(resources)).scalar_one())


@pytest.mark.parametrize("btype", ["transaction", "batch"])
def test_a_bundle_over_the_entry_limit_is_refused(client: Any, engine: Engine, btype: str) -> None:
    body = _bundle(MAX_BUNDLE_ENTRIES + 1, btype)
    r = client.post("/", json=body, headers=JSON)
    assert r.status_code == 400, r.text
    outcome = r.json()
    assert outcome["resourceType"] == "OperationOutcome"
    assert message_ids(outcome) == ["IP-4116"]
    assert outcome["issue"][0]["code"] == "too-costly"
    assert outcome["issue"][0]["expression"] == [f"Bundle.entry[{MAX_BUNDLE_ENTRIES}]"]
    assert str(MAX_BUNDLE_ENTRIES) in outcome["issue"][0]["details"]["text"]
    assert _stored(engine) == 0


def test_a_bundle_at_the_limit_is_not_refused_for_its_size(client: Any) -> None:
    r = client.post("/", json=_bundle(MAX_BUNDLE_ENTRIES, "batch"), headers=JSON)
    assert r.status_code == 200, r.text
    assert len(r.json()["entry"]) == MAX_BUNDLE_ENTRIES
