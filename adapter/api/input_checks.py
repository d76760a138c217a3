"""Shape checks at the HTTP boundary, before a body reaches consent, store or validator.

The validator judges a resource against its profile; what is checked here is what the layers
behind it take for granted and a hostile client can break: the JSON types of a Bundle's own
fields (``"entry": "abc"``, ``"ifMatch": 5``), characters no FHIR text may hold and PostgreSQL
cannot store (NUL, lone surrogates), values longer than the search index can hold, and the
label only this adapter sets (``ip-exchange#consent-revoked``: what a revocation sealed). Every
refusal is a 400 with a message id and the FHIRPath of the offending element; nothing is stored.
"""

from __future__ import annotations

import re
from typing import Any

from ipfhir.adapter.errors import BadRequest, issue
from ipfhir.adapter.sync.messages import issue_sync
from ipfhir.mappings.codes import REVOKED_LABEL

__all__ = ["MAX_BUNDLE_ENTRIES", "check_bundle", "check_indexable", "check_text"]

Resource = dict[str, Any]
# JSON escapes that may decode to NUL or to half of a surrogate pair (checked precisely after)
_SUSPECT = re.compile(rb"\\u(?:0000|[dD][89a-fA-F][0-9a-fA-F]{2})")
_MAX_SYSTEM = 255  # idx_token.system
_REQUEST_STRINGS = ("ifNoneMatch", "ifModifiedSince", "ifMatch", "ifNoneExist")
# Entries in one transaction or batch: every entry is judged, locked and written in one database
# transaction; a plan handed over whole is tens of entries.
MAX_BUNDLE_ENTRIES = 1000
# The label this adapter puts on what it received under a consent since withdrawn (answered as
# missing to everyone, for good): never written by a client or carried in by a message (IP-6103).
_SEALED = (REVOKED_LABEL["system"], REVOKED_LABEL["code"])


def _bad(index: int, where: str, detail: str) -> BadRequest:
    expr = f"Bundle.entry[{index}]{where}"
    return BadRequest([issue("IP-4111", expr, "structure", index=index, detail=detail)])


def check_bundle(bundle: Resource) -> None:
    """The JSON types of ``Bundle.type`` and of each entry's ``fullUrl``, ``request`` and
    ``resource`` (their values are the Bundle processor's to judge)."""
    if not isinstance(bundle.get("type"), str):
        btype = bundle.get("type")
        raise BadRequest([issue("IP-4110", "Bundle.type", "structure", btype=btype)])
    entries = bundle.get("entry", [])
    if not isinstance(entries, list):
        raise BadRequest(
            [issue("IP-4111", "Bundle.entry", "structure", index=0, detail="entry is not a list")]
        )
    if len(entries) > MAX_BUNDLE_ENTRIES:
        at = f"Bundle.entry[{MAX_BUNDLE_ENTRIES}]"
        n, limit = len(entries), MAX_BUNDLE_ENTRIES
        raise BadRequest([issue("IP-4116", at, "too-costly", n=n, limit=limit)])
    for i, entry in enumerate(entries):
        if not isinstance(entry, dict):
            raise _bad(i, "", "an entry must be a JSON object")
        if "fullUrl" in entry and not isinstance(entry["fullUrl"], str):
            raise _bad(i, ".fullUrl", "fullUrl must be a string")
        if "resource" in entry and not isinstance(entry["resource"], dict):
            raise _bad(i, ".resource", "resource must be a JSON object")
        request = entry.get("request")
        if not isinstance(request, dict):
            raise _bad(i, ".request", "entry.request is missing or not a JSON object")
        for name in ("method", "url", *_REQUEST_STRINGS):
            if (name in request or name in ("method", "url")) and not isinstance(
                request.get(name), str
            ):
                raise _bad(i, f".request.{name}", f"request.{name} must be a string")
        if isinstance(entry.get("resource"), dict):
            check_indexable(entry["resource"], f"Bundle.entry[{i}].resource")


def check_indexable(resource: Resource, expr: str | None = None) -> None:
    """Coding/Identifier systems fit the search index (valid FHIR, but not storable here), and
    no Coding is the server's own ``consent-revoked`` label (IP-6103)."""
    root = expr or str(resource.get("resourceType", "Resource"))
    todo: list[tuple[Any, str]] = [(resource, root)]
    while todo:
        node, path = todo.pop()
        if isinstance(node, dict):
            system = node.get("system")
            if isinstance(system, str) and len(system) > _MAX_SYSTEM:
                raise BadRequest(
                    [
                        issue(
                            "IP-4009",
                            f"{path}.system",
                            "too-long",
                            n=len(system),
                            limit=_MAX_SYSTEM,
                        )
                    ]
                )
            if (system, node.get("code")) == _SEALED:
                raise BadRequest([issue_sync("IP-6103", path, "security")])
            todo.extend((v, f"{path}.{k}") for k, v in node.items() if isinstance(v, dict | list))
        elif isinstance(node, list):
            todo.extend(
                (v, f"{path}[{i}]") for i, v in enumerate(node) if isinstance(v, dict | list)
            )


def check_text(raw: bytes, value: Any, root: str) -> None:
    """No NUL and no lone surrogate anywhere (keys included): FHIR strings cannot hold them
    (R4 §2.1.28), UTF-8 cannot encode a lone surrogate and PostgreSQL text cannot hold NUL.
    Only bodies with such an escape are walked."""
    if _SUSPECT.search(raw) is None:
        return
    todo: list[tuple[Any, str]] = [(value, root)]
    while todo:
        node, path = todo.pop()
        if isinstance(node, dict):
            for k, v in node.items():
                _check_string(k, f"{path}.{k}")
                todo.append((v, f"{path}.{k}"))
        elif isinstance(node, list):
            todo.extend((v, f"{path}[{i}]") for i, v in enumerate(node))
        elif isinstance(node, str):
            _check_string(node, path)


def _check_string(text: str, path: str) -> None:
    what = None
    if "\x00" in text:
        what = "a NUL character (\\u0000)"
    else:
        try:
            text.encode("utf-8")
        except UnicodeEncodeError:
            what = "half of a surrogate pair (a lone \\ud800-\\udfff escape)"
    if what is not None:
        shown = path.encode("utf-8", "backslashreplace").decode("ascii", "replace")
        shown = shown.replace("\x00", "\\u0000")
        raise BadRequest([issue("IP-4010", shown, "value", what=what)])
