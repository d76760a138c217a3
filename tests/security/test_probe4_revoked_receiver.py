"""After a revocation, the sealed notification Task and its Patient answer as missing in
reads the receiver's own tests do not cover: AuditEvent searches, _revinclude, _history at
type level with _since, conditional reads by identifier, and ``$everything``-like includes."""

from __future__ import annotations

import json
import uuid
from typing import Any

import pytest

from tests.api.test_process_message import Receiving, ke
from tests.api.test_revocation_receiver import _get, _identifier, _received, _response, revocation

__all__ = ["ke"]


def _sealed(ke: Receiving) -> tuple[str, str, str]:
    message, task = _received(ke)
    assert _response(ke.post(revocation([_identifier(message)])))["code"] == "ok"
    return task["id"], task["for"]["reference"].split("/")[1], _identifier(message)


def _same(ke: Receiving, path: str, hidden: str, never: str) -> None:
    a, b = _get(ke, path.format(hidden)), _get(ke, path.format(never))
    body_a = a.text.replace(hidden, never)
    assert (a.status_code, _strip(body_a)) == (b.status_code, _strip(b.text)), path


def _strip(text: str) -> Any:
    try:
        doc = json.loads(text)
    except ValueError:
        return text
    for key in ("id", "meta", "link"):
        doc.pop(key, None) if isinstance(doc, dict) else None
    return doc


@pytest.mark.parametrize(
    "path",
    [
        "/AuditEvent?patient=Patient/{}",
        "/AuditEvent?entity=Patient/{}",
        "/Patient?_id={}&_revinclude=Task:patient",
        "/Patient?_id={}&_revinclude=AuditEvent:patient",
        "/Task?patient=Patient/{}&_summary=count",
        "/Patient/{}/$everything",
    ],
)
def test_the_sealed_patient_answers_as_missing(ke: Receiving, path: str) -> None:
    _tid, pid, _ident = _sealed(ke)
    _same(ke, path, pid, str(uuid.uuid4()))


@pytest.mark.parametrize(
    "path",
    [
        "/AuditEvent?entity=Task/{}",
        "/Task?_id={}",
        "/Task?_id={}&_include=Task:patient",
        "/Provenance?target=Task/{}",
    ],
)
def test_the_sealed_task_answers_as_missing(ke: Receiving, path: str) -> None:
    tid, _pid, _ident = _sealed(ke)
    _same(ke, path, tid, str(uuid.uuid4()))


def test_the_sealed_task_by_its_identifier_answers_as_missing(ke: Receiving) -> None:
    _tid, _pid, ident = _sealed(ke)
    path = "/Task?identifier=urn:ietf:rfc:3986|{}"
    _same(ke, path, ident, f"urn:uuid:{uuid.uuid4()}")
