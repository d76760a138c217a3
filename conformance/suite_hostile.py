"""Hostile-input suite: malformed JSON and XML, XXE, oversize bodies → a 4xx OperationOutcome and
nothing stored. Each body carries a new synthetic fødselsnummer; afterwards the kit searches
Patient?identifier=[that number] and expects nothing.
"""

from __future__ import annotations

import datetime as dt
import json
import random
import secrets

import requests

from ipfhir.conformance.checks import Fail, check
from ipfhir.conformance.context import Context
from ipfhir.conformance.http import FHIR_JSON, FHIR_XML, Answer
from ipfhir.conformance.suite_profiles import search_entries
from ipfhir.mappings.identifiers import FNR_SYSTEM, synthetic_fnr

__all__: list[str] = []

_SECRET_FILE = "file:///etc/hostname"


def _patient(fnr: str, name: str) -> dict[str, object]:
    return {
        "resourceType": "Patient",
        "identifier": [{"system": FNR_SYSTEM, "value": fnr}],
        "name": [{"text": name}],
    }


def _marker() -> str:
    rng = random.Random(secrets.randbits(64))
    return synthetic_fnr(dt.date(1950 + rng.randint(0, 50), rng.randint(1, 12), 14), rng)


def _refused_and_not_stored(ctx: Context, answer: Answer, fnr: str, what: str) -> str:
    if not 400 <= answer.status < 500:
        raise Fail(f"{what} was answered {answer.status}, not 4xx")
    if not answer.is_outcome():
        raise Fail(f"the {answer.status} answer to {what} is not an OperationOutcome")
    if search_entries(ctx, f"Patient?identifier={FNR_SYSTEM}|{fnr}", "was anything stored?"):
        raise Fail(f"{what} was answered {answer.status}, yet a Patient with its number was stored")
    return f"{answer.status} with an OperationOutcome; nothing stored"


def _post(ctx: Context, body: bytes, content_type: str, note: str) -> Answer:
    ctx.need_writes()
    return ctx.main.request(
        "POST", "Patient", body=body, headers={"Content-Type": content_type}, note=note
    )


@check(
    "hostile.malformed-json",
    "hostile",
    "Malformed JSON is refused with 400",
    """POST Patient with a JSON body cut off in the middle must answer 4xx (400) with an
    OperationOutcome — never 500 — and store nothing.""",
    ("SEC-malformed", "REST-errors"),
    writes=True,
)
def malformed_json(ctx: Context) -> str:
    fnr = _marker()
    whole = json.dumps(_patient(fnr, "Brutt Ærlighet Øvre"), ensure_ascii=False)
    body = whole[: whole.index("Øvre")].encode()  # cut off inside the name
    return _refused_and_not_stored(
        ctx, _post(ctx, body, FHIR_JSON, "cut-off JSON"), fnr, "cut-off JSON"
    )


@check(
    "hostile.malformed-xml",
    "hostile",
    "Malformed XML is refused with 400",
    """POST Patient with XML that is not well-formed (an unclosed element) must answer 4xx with
    an OperationOutcome — never 500 — and store nothing.""",
    ("SEC-malformed", "REST-errors"),
    writes=True,
)
def malformed_xml(ctx: Context) -> str:
    fnr = _marker()
    body = (
        f'<Patient xmlns="http://hl7.org/fhir"><identifier><system value="{FNR_SYSTEM}"/>'
        f'<value value="{fnr}"/></identifier><name><text value="Åse Brøstad"/></name>'
    ).encode()  # never closed
    return _refused_and_not_stored(
        ctx, _post(ctx, body, FHIR_XML, "unclosed XML"), fnr, "unclosed XML"
    )


@check(
    "hostile.xxe",
    "hostile",
    "XML with DOCTYPE and external entities is refused",
    f"""POST Patient in XML with a DOCTYPE declaring an internal entity (the identifier) and an
    external one ({_SECRET_FILE}) must be refused with 4xx and an OperationOutcome: FHIR XML
    has no DTDs; a parser that resolves them reads files or the network for an attacker.
    Nothing may be stored and no file content may come back.""",
    ("SEC-xxe",),
    writes=True,
)
def xxe(ctx: Context) -> str:
    fnr = _marker()
    body = (
        f'<?xml version="1.0"?><!DOCTYPE Patient [<!ENTITY nr "{fnr}">'
        f'<!ENTITY fil SYSTEM "{_SECRET_FILE}">]>'
        f'<Patient xmlns="http://hl7.org/fhir"><identifier><system value="{FNR_SYSTEM}"/>'
        '<value value="&nr;"/></identifier><name><text value="&fil;"/></name></Patient>'
    ).encode()
    answer = _post(ctx, body, FHIR_XML, "XXE")
    if 200 <= answer.status < 300:
        raise Fail(f"XML with a DOCTYPE and external entity was accepted ({answer.status})")
    return _refused_and_not_stored(ctx, answer, fnr, "XML with DOCTYPE/ENTITY")


@check(
    "hostile.oversize",
    "hostile",
    "An oversize body is refused with 413",
    """POST Patient with a body larger than any plan needs (the kit sends --oversize-mb,
    default 12 MiB, of valid JSON) must be refused with 4xx (413) and an OperationOutcome,
    without storing it.""",
    ("SEC-oversize",),
    writes=True,
)
def oversize(ctx: Context) -> str:
    fnr = _marker()
    head = json.dumps(_patient(fnr, "x"))[: -len('"x"}]}')]
    size = int(ctx.oversize_mb * 1024 * 1024)
    body = (head + '"' + "æ" * (size // 2) + '"}]}').encode()
    try:
        answer = _post(ctx, body, FHIR_JSON, f"{len(body)} bytes")
    except (requests.ConnectionError, requests.exceptions.ChunkedEncodingError) as err:
        raise Fail(
            f"the server closed the connection on a {len(body)}-byte body without an answer "
            f"({type(err).__name__}; send 413 with an OperationOutcome)"
        ) from None
    return _refused_and_not_stored(ctx, answer, fnr, f"a {len(body)}-byte body")
