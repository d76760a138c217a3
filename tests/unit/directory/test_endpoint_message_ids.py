"""An Endpoint the directory cannot use is refused with IP-6020 at the element that is wrong
(status, connectionType, payloadType); the message id no test named before
(tests/unit/test_message_ids.py)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from ipfhir.adapter.directory import DirectoryFileError
from ipfhir.adapter.directory.parse import CONNECTION_SYSTEM, endpoint_of

FIXTURE = Path(__file__).resolve().parents[3] / "fixtures" / "directory" / "nord-norge.json"
GOOD: dict[str, Any] = next(
    e["resource"]
    for e in json.loads(FIXTURE.read_text(encoding="utf-8"))["entry"]
    if e["resource"]["resourceType"] == "Endpoint"
)


def test_a_good_endpoint_is_read() -> None:
    assert endpoint_of(GOOD) is not None


@pytest.mark.parametrize(
    ("change", "where"),
    [
        ({"status": "på vent"}, "Endpoint.status"),
        ({"connectionType": {"system": CONNECTION_SYSTEM, "code": "x"}}, "Endpoint.connectionType"),
        ({"payloadType": []}, "Endpoint.payloadType"),
    ],
)
def test_an_unusable_endpoint_is_ip_6020(change: dict[str, Any], where: str) -> None:
    with pytest.raises(DirectoryFileError) as refused:
        endpoint_of(GOOD | change)
    assert [(i.message_id, i.expression) for i in refused.value.issues] == [("IP-6020", (where,))]
