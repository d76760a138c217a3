"""HTTP to the vendor's base URL (``requests``, a timeout on every request), each exchange kept
as evidence for the check that made it.

The bearer token never reaches the evidence: the ``Authorization`` header is recorded as
``Bearer …`` only.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urljoin

import requests

from ipfhir.conformance.checks import Evidence, Fail

__all__ = ["FHIR_JSON", "FHIR_XML", "Answer", "Client", "excerpt"]

FHIR_JSON = "application/fhir+json"
FHIR_XML = "application/fhir+xml"
_EXCERPT = 2500
_KEPT_HEADERS = ("content-type", "etag", "location", "last-modified", "content-location")


def excerpt(text: str, limit: int = _EXCERPT) -> str:
    return text if len(text) <= limit else f"{text[:limit]}… ({len(text)} characters)"


def _readable(text: str) -> str:
    """JSON indented (so an excerpt reads line by line), anything else as it came."""
    if len(text) > 200_000 or not text.lstrip().startswith("{"):
        return text
    try:
        return json.dumps(json.loads(text), ensure_ascii=False, indent=1)
    except ValueError:
        return text


@dataclass(frozen=True)
class Answer:
    """A response, read once: status, headers (lower-case names), text."""

    status: int
    headers: dict[str, str]
    text: str
    url: str

    def json(self) -> dict[str, Any]:
        """The body as a JSON object, or :class:`Fail` naming what came instead."""
        try:
            value = json.loads(self.text)
        except ValueError:
            raise Fail(
                f"{self.url} answered {self.status} with a body that is not JSON: "
                f"{excerpt(self.text, 120)!r}"
            ) from None
        if not isinstance(value, dict):
            raise Fail(f"{self.url} answered {self.status} with JSON that is not a resource")
        return value

    def maybe_json(self) -> dict[str, Any] | None:
        try:
            value = json.loads(self.text)
        except ValueError:
            return None
        return value if isinstance(value, dict) else None

    def is_outcome(self) -> bool:
        body = self.maybe_json()
        return body is not None and body.get("resourceType") == "OperationOutcome"


@dataclass
class Client:
    """One actor's view of the server: base URL, token (or none), timeout, evidence sink."""

    base: str
    token: str | None
    timeout: float = 20.0
    actor: str = "main"
    evidence: list[Evidence] = field(default_factory=list)
    session: requests.Session = field(default_factory=requests.Session)

    def url(self, path: str) -> str:
        if path.startswith(("http://", "https://")):
            return path
        return urljoin(self.base.rstrip("/") + "/", path.lstrip("/"))

    def request(
        self,
        method: str,
        path: str,
        *,
        body: dict[str, Any] | bytes | str | None = None,
        headers: dict[str, str] | None = None,
        accept: str = FHIR_JSON,
        note: str = "",
    ) -> Answer:
        url = self.url(path)
        sent = {"Accept": accept, **(headers or {})}
        data: bytes | None = None
        if isinstance(body, dict):
            data = json.dumps(body, ensure_ascii=False).encode()
            sent.setdefault("Content-Type", FHIR_JSON)
        elif isinstance(body, str):
            data = body.encode()
        else:
            data = body
        auth = {"Authorization": f"Bearer {self.token}"} if self.token else {}
        shown = {**sent, **({"Authorization": "Bearer …"} if self.token else {})}
        label = f"[{self.actor}] {note}".strip()
        try:
            response = self.session.request(
                method,
                url,
                data=data,
                headers={**sent, **auth},
                timeout=self.timeout,
                allow_redirects=False,
                stream=True,
            )
            with response:
                body = _read_bounded(response, self.timeout)
        except (requests.RequestException, _AnswerTooSlow) as err:
            self._keep(method, url, shown, data, None, {}, f"no answer: {err}", label)
            if isinstance(err, _AnswerTooSlow):
                raise requests.Timeout(str(err)) from None
            raise
        text = body.decode(response.encoding or "utf-8", errors="replace")
        kept = {k: v for k, v in response.headers.lower_items() if k in _KEPT_HEADERS}
        self._keep(method, url, shown, data, response.status_code, kept, text, label)
        return Answer(response.status_code, dict(response.headers.lower_items()), text, url)

    def get(self, path: str, *, accept: str = FHIR_JSON, note: str = "") -> Answer:
        return self.request("GET", path, accept=accept, note=note)

    def _keep(
        self,
        method: str,
        url: str,
        headers: dict[str, str],
        data: bytes | None,
        status: int | None,
        response_headers: dict[str, str],
        text: str,
        note: str,
    ) -> None:
        body = "" if data is None else data[: _EXCERPT * 4].decode("utf-8", errors="replace")
        body = excerpt(_readable(body))
        if data is not None and len(data) > _EXCERPT * 4:
            body += f" ({len(data)} bytes sent)"
        self.evidence.append(
            Evidence(
                method, url, headers, body, status, response_headers, excerpt(_readable(text)), note
            )
        )


class _AnswerTooSlow(Exception):
    """The answer did not arrive whole in time, or was larger than the kit reads."""


_MAX_ANSWER = 20_000_000


def _read_bounded(response: requests.Response, timeout: float) -> bytes:
    """The whole body, within ``timeout`` seconds overall (not per read: a server trickling one
    byte at a time must not hold the kit) and at most 20 MB."""
    until = time.monotonic() + max(timeout, 1.0) * 2
    chunks: list[bytes] = []
    size = 0
    while chunk := response.raw.read1(65536, decode_content=True):
        size += len(chunk)
        if size > _MAX_ANSWER:
            raise _AnswerTooSlow(f"answer larger than {_MAX_ANSWER} bytes")
        if time.monotonic() > until:
            raise _AnswerTooSlow(f"answer not complete within {max(timeout, 1.0) * 2:g} s")
        chunks.append(chunk)
    return b"".join(chunks)
