"""Content negotiation, hardened body reading and rendering (FHIR JSON and XML).

Reading: size limit first (Content-Length, then counted while streaming), Content-Type must be
FHIR JSON or XML (else 415), JSON through ``mappings.fhirjson.parse_json`` (depth/size limits,
duplicate keys refused), XML through ``mappings.fhirxml.parse_xml`` (no DTD, entities, network).
Writing: orjson (decimals keep their lexical form) or ``mappings.fhirxml.to_xml``.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any, Literal

import orjson
from starlette.requests import Request
from starlette.responses import Response

from ipfhir.adapter.errors import NotAcceptable, PayloadTooLarge, UnsupportedMediaType, issue
from ipfhir.mappings.errors import FormatError

__all__ = ["Fmt", "read_resource", "render", "response_format"]

Fmt = Literal["json", "xml"]
JSON_TYPE = "application/fhir+json; charset=utf-8"
XML_TYPE = "application/fhir+xml; charset=utf-8"
_JSON = {"application/fhir+json", "application/json", "json", "application/json+fhir"}
_XML = {"application/fhir+xml", "application/xml", "text/xml", "xml", "application/xml+fhir"}


def _media(value: str) -> str:
    return value.split(";", 1)[0].strip().lower()


def _format_of(media: str) -> Fmt | None:
    if media in _JSON:
        return "json"
    if media in _XML:
        return "xml"
    if media in ("*/*", "application/*", ""):
        return "json"
    return None


def response_format(request: Request, *, strict: bool = True) -> Fmt:
    """``_format`` wins over ``Accept``; no preference means JSON. ``strict`` → 406 if none fits."""
    forced = request.query_params.get("_format")
    if forced is not None:
        fmt = _format_of(_media(forced))
        if fmt is None and strict:
            raise NotAcceptable([issue("IP-4004", "_format", "not-supported", accept=forced)])
        return fmt or "json"
    accept = request.headers.get("accept", "")
    if not accept:
        return "json"
    ranked = []
    for i, part in enumerate(accept.split(",")):
        q = 1.0
        for param in part.split(";")[1:]:
            k, _, v = param.strip().partition("=")
            if k == "q":
                try:
                    q = float(v)
                except ValueError:
                    q = 0.0
        ranked.append((-q, i, _media(part)))
    for neg_q, _, media in sorted(ranked):
        fmt = _format_of(media)
        if fmt is not None and neg_q < 0:
            return fmt
    if strict:
        raise NotAcceptable([issue("IP-4004", "Accept", "not-supported", accept=accept)])
    return "json"


async def read_body(request: Request, limit: int) -> bytes:
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > limit:
        raise PayloadTooLarge([issue("IP-4001", None, "too-costly", limit=limit)])
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise PayloadTooLarge([issue("IP-4001", None, "too-costly", limit=limit)])
        chunks.append(chunk)
    return b"".join(chunks)


async def read_resource(request: Request, limit: int, max_depth: int) -> dict[str, Any]:
    """The request body as a FHIR JSON dict, whatever format it came in."""
    ctype = request.headers.get("content-type", "")
    fmt = _format_of(_media(ctype)) if _media(ctype) not in ("*/*", "application/*", "") else None
    if fmt is None:
        raise UnsupportedMediaType([issue("IP-4003", None, "not-supported", ctype=ctype)])
    body = await read_body(request, limit)
    if not body.strip():
        raise FormatError([issue("IP-4008", None, "required")])
    if fmt == "json":
        from ipfhir.adapter.api.input_checks import check_text
        from ipfhir.mappings.fhirjson import parse_json

        value = parse_json(body, max_depth=max_depth, max_bytes=limit)
        rtype = value.get("resourceType")
        check_text(body, value, rtype if isinstance(rtype, str) and rtype.isalpha() else "$this")
        return value
    from ipfhir.mappings.fhirxml import parse_xml

    return parse_xml(body)


def _decimal(value: Any) -> Any:
    if isinstance(value, Decimal):
        from ipfhir.mappings.fhirjson import number_text

        return orjson.Fragment(number_text(value))
    raise TypeError(f"cannot write {type(value).__name__} as JSON")


def dumps(resource: dict[str, Any], pretty: bool = False) -> bytes:
    return orjson.dumps(resource, default=_decimal, option=orjson.OPT_INDENT_2 if pretty else 0)


def render(
    resource: dict[str, Any],
    fmt: Fmt,
    status: int = 200,
    *,
    pretty: bool = False,
    headers: dict[str, str] | None = None,
) -> Response:
    if fmt == "xml":
        from ipfhir.mappings.fhirxml import to_xml

        body = to_xml(resource, pretty).encode("utf-8")
        return Response(body, status, headers=headers, media_type=XML_TYPE)
    return Response(dumps(resource, pretty), status, headers=headers, media_type=JSON_TYPE)


__all__ += ["dumps", "read_body"]
