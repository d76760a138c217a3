"""What a consent check reads besides bodies: every page of a search, the links and their
cursors (decoded the way "opaque" cursors are often made), the shape of an error answer."""

from __future__ import annotations

import base64
import re
from urllib.parse import parse_qs, urlsplit

from ipfhir.conformance.checks import Fail
from ipfhir.conformance.http import Answer, Client

__all__ = ["decodings", "error_shape", "links_of", "pages"]


def pages(client: Client, query: str, note: str) -> tuple[list[str], list[Answer]]:
    """Ids of every resource a search reaches through its next links, and the answers."""
    ids: list[str] = []
    answers: list[Answer] = []
    url: str | None = query
    while url and len(answers) < 20:
        answer = client.get(url, note=f"{note} (page {len(answers) + 1})")
        answers.append(answer)
        if answer.status != 200:
            raise Fail(f"GET {url} as the {client.actor} answered {answer.status}")
        bundle = answer.json()
        ids += [str(e.get("resource", {}).get("id")) for e in bundle.get("entry") or []]
        url = next(
            (lk.get("url") for lk in bundle.get("link") or [] if lk.get("relation") == "next"),
            None,
        )
    return ids, answers


def links_of(answers: list[Answer]) -> list[tuple[str, str]]:
    return [
        (str(lk.get("relation")), str(lk.get("url")))
        for a in answers
        for lk in (a.maybe_json() or {}).get("link") or []
    ]


def decodings(url: str) -> list[str]:
    """Every query value of ``url`` decoded as base64 (how 'opaque' cursors are often made)."""
    out = []
    for values in parse_qs(urlsplit(url).query).values():
        for value in values:
            for decode in (base64.urlsafe_b64decode, base64.b64decode):
                try:
                    out.append(decode(value + "=" * (-len(value) % 4)).decode("utf-8", "replace"))
                except ValueError:
                    continue
    return out


def error_shape(answer: Answer, ids: tuple[str, ...]) -> tuple[int, list[str], str]:
    """Status, message codes and text of an error with the ids blanked out."""
    body = answer.maybe_json() or {}
    codes = [
        str(c.get("code"))
        for i in body.get("issue") or []
        for c in (i.get("details") or {}).get("coding") or []
    ]
    text = answer.text
    for rid in ids:
        text = text.replace(rid, "{id}")
    return answer.status, codes, re.sub(r"\s+", " ", text)
