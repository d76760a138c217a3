"""A vendor's FHIR server in miniature, behind pytest-httpserver: an in-memory store that does
what the kit checks (versions, If-Match, conditional create, atomic transactions, paging, the
sharing Consent for a second actor, XML, messaging with de-duplication, hostile input) — and one
switch per way a real vendor gets it wrong (``flaws``).

Tokens: ``owner-token`` (the plan's owner, sees everything), ``second-token`` (organisation
:data:`SECOND_ORG`, sees what the sharing Consent gives it); no token → 401.
"""

from __future__ import annotations

import copy
import json
import uuid
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

from werkzeug import Request, Response

from ipfhir.mappings.fhirxml import to_xml

__all__ = ["FLAWS", "OWNER_ORG", "SECOND_ORG", "StubVendor"]

Json = dict[str, Any]
OWNER_ORG = "974760673"
SECOND_ORG = "983974899"
TOKENS = {"owner-token": "owner", "second-token": "second"}
FLAWS = {
    "wrong-profile",  # CarePlans stored without category, intent "proposal"
    "no-etag",  # no ETag, If-Match ignored
    "leak-topic",  # refused topics not filtered
    "leak-totals",  # totals count hidden rows
    "leak-links",  # pages cut before filtering: next links over hidden rows
    "forbidden-hidden",  # hidden resources answer 403, missing ones 404
    "non-atomic",  # a transaction keeps the entries before the failing one
    "duplicate-twice",  # a duplicate message is processed and acknowledged again
    "xxe-accepted",  # XML with DOCTYPE/ENTITY is stored
    "500-on-malformed",  # malformed JSON crashes the handler
    "no-messaging",  # declares no $process-message
    "no-transaction",  # refuses transaction Bundles
}
_GOAL_STATUS = {"proposed", "planned", "accepted", "active", "on-hold", "completed", "cancelled"}
_MAX_BODY = 1024 * 1024
_PATIENT_REF = {
    "Goal": "subject",
    "CarePlan": "subject",
    "CareTeam": "subject",
    "Consent": "patient",
}
_BASE = "https://ip-fhir-adapter.no/fhir/StructureDefinition/"


class Problem(Exception):
    def __init__(self, status: int, text: str, code: str = "invalid") -> None:
        super().__init__(text)
        self.status, self.text, self.code = status, text, code


def outcome(status: int, text: str, code: str = "invalid") -> Response:
    body = {
        "resourceType": "OperationOutcome",
        "issue": [{"severity": "error", "code": code, "diagnostics": text}],
    }
    return Response(json.dumps(body), status, content_type="application/fhir+json")


def capability(flaws: set[str]) -> Json:
    def entry(rtype: str, profiles: list[str]) -> Json:
        codes = ["read", "vread", "update", "create", "search-type", "history-instance"]
        return {
            "type": rtype,
            "supportedProfile": profiles,
            "interaction": [{"code": c} for c in codes],
            "searchParam": [{"name": "patient", "type": "reference"}],
            "operation": [
                {"name": "validate", "definition": "x"},
                {"name": "everything", "definition": "x"},
            ],
        }

    rest: Json = {
        "mode": "server",
        "security": {"service": [{"coding": [{"code": "SMART-on-FHIR"}]}]},
        "resource": [
            entry("CarePlan", [_BASE + "ip-careplan"]),
            entry("CareTeam", [_BASE + "ip-careteam"]),
            entry("Goal", [_BASE + "ip-goal"]),
            entry("Consent", [_BASE + "ip-plan-consent", _BASE + "ip-sharing-consent"]),
            {"type": "Patient", "searchParam": [{"name": "identifier", "type": "token"}]},
        ],
        "interaction": [{"code": "transaction"}],
    }
    if "no-messaging" not in flaws:
        rest["operation"] = [{"name": "process-message", "definition": "x"}]
    return {
        "resourceType": "CapabilityStatement",
        "status": "active",
        "kind": "instance",
        "fhirVersion": "4.0.1",
        "format": ["application/fhir+json", "application/fhir+xml"],
        "rest": [rest],
    }


@dataclass
class StubVendor:
    flaws: set[str] = field(default_factory=set)
    base: str = ""
    versions: dict[tuple[str, str], list[Json]] = field(default_factory=dict)
    acks: dict[str, Json] = field(default_factory=dict)

    # -- store --------------------------------------------------------------------------------
    def current(self, rtype: str, rid: str) -> Json | None:
        found = self.versions.get((rtype, rid))
        return found[-1] if found else None

    def all_of(self, rtype: str) -> list[Json]:
        return [v[-1] for (t, _), v in sorted(self.versions.items()) if t == rtype]

    def check(self, res: Json) -> None:
        if res.get("resourceType") == "Goal" and res.get("lifecycleStatus") not in _GOAL_STATUS:
            raise Problem(400, "Goal.lifecycleStatus har en ugyldig verdi")

    def store(self, rtype: str, rid: str | None, res: Json) -> Json:
        self.check(res)
        res = copy.deepcopy(res)
        rid = rid or str(uuid.uuid4())
        old = self.versions.setdefault((rtype, rid), [])
        if rtype == "CarePlan" and "wrong-profile" in self.flaws:
            res.pop("category", None)
            res["intent"] = "proposal"
        res["id"] = rid
        res.setdefault("meta", {})["versionId"] = str(len(old) + 1)
        old.append(res)
        return res

    # -- consent ------------------------------------------------------------------------------
    def _patient_of(self, res: Json) -> str | None:
        if res["resourceType"] == "Patient":
            return str(res["id"])
        ref = (res.get(_PATIENT_REF.get(res["resourceType"], "")) or {}).get("reference", "")
        return ref.split("/")[-1] if ref.startswith("Patient/") else None

    def _orgnr(self, actor: Json) -> str:
        ref = actor.get("reference", {}).get("reference", "")
        org = self.current("Organization", ref.split("/")[-1]) or {}
        return str((org.get("identifier") or [{}])[0].get("value"))

    def visible(self, res: Json, actor: str) -> bool:
        if actor == "owner" or res["resourceType"] in (
            "Organization",
            "Practitioner",
            "PractitionerRole",
        ):
            return True
        if res["resourceType"] == "Consent":
            return False
        pid = self._patient_of(res)
        consents = [
            c
            for c in self.all_of("Consent")
            if self._patient_of(c) == pid
            and c.get("status") == "active"
            and "sharing" in json.dumps(c.get("category"))
        ]
        for consent in consents:
            provision = consent.get("provision") or {}
            if SECOND_ORG not in {self._orgnr(a) for a in provision.get("actor") or []}:
                continue
            denials = provision.get("provision") or []
            if SECOND_ORG in {self._orgnr(a) for d in denials for a in d.get("actor") or []}:
                continue
            refused = {lb.get("code") for d in denials for lb in d.get("securityLabel") or []}
            topics = {lb.get("code") for lb in (res.get("meta") or {}).get("security") or []}
            if refused & topics and "leak-topic" not in self.flaws:
                continue
            return True
        return False

    def redact(self, res: Json, actor: str) -> Json:
        """A CarePlan without references to goals the actor may not see."""
        if res["resourceType"] != "CarePlan" or actor == "owner" or "leak-topic" in self.flaws:
            return res
        shown = copy.deepcopy(res)
        shown["goal"] = [
            g
            for g in res.get("goal") or []
            if self.visible(self.current("Goal", g["reference"].split("/")[-1]) or res, actor)
        ]
        for activity in shown.get("activity") or []:
            detail = activity.get("detail") or {}
            detail["goal"] = [g for g in detail.get("goal") or [] if g in shown["goal"]]
        return shown

    # -- HTTP ---------------------------------------------------------------------------------
    def __call__(self, request: Request) -> Response:
        try:
            return self.handle(request)
        except Problem as p:
            return outcome(p.status, p.text, p.code)

    def handle(self, request: Request) -> Response:
        path = request.path.strip("/")
        if path == "metadata":
            return self.send(request, capability(self.flaws))
        actor = TOKENS.get(request.headers.get("Authorization", "").removeprefix("Bearer "))
        if actor is None:
            return outcome(401, "Innlogging kreves", "login")
        if request.content_length and request.content_length > _MAX_BODY:
            request.get_data()  # read it all, so the client gets the answer, not a reset
            return outcome(413, "For stor forespørsel", "too-costly")
        parts = path.split("/") if path else []
        if request.method == "POST":
            return self.post(request, parts)
        if request.method == "PUT" and len(parts) == 2:
            return self.put(request, parts[0], parts[1])
        if request.method == "GET" and len(parts) == 1:
            return self.search(request, parts[0], actor)
        if request.method == "GET":
            return self.read(request, parts, actor)
        return outcome(405, "Ikke støttet", "not-supported")

    def send(
        self, request: Request, body: Json, status: int = 200, res: Json | None = None
    ) -> Response:
        headers = {}
        if res is not None and "no-etag" not in self.flaws:
            headers["ETag"] = f'W/"{res["meta"]["versionId"]}"'
        if "xml" in request.headers.get("Accept", ""):
            return Response(to_xml(body), status, headers, content_type="application/fhir+xml")
        return Response(
            json.dumps(body, ensure_ascii=False),
            status,
            headers,
            content_type="application/fhir+json",
        )

    def body(self, request: Request) -> Json:
        data = request.get_data()
        if "xml" in (request.content_type or ""):
            if b"<!DOCTYPE" in data and "xxe-accepted" in self.flaws:
                return {"resourceType": "Patient", "name": [{"text": "root:x:0:0"}]}
            raise Problem(400, "XML avvist (ugyldig eller med DOCTYPE)", "structure")
        try:
            value = json.loads(data)
        except ValueError:
            if "500-on-malformed" in self.flaws:
                raise Problem(500, "Intern feil", "exception") from None
            raise Problem(400, "Ugyldig JSON", "structure") from None
        if not isinstance(value, dict):
            raise Problem(400, "Ikke en ressurs", "structure")
        return value

    def post(self, request: Request, parts: list[str]) -> Response:
        if parts == ["$process-message"]:
            return self.message(request)
        body = self.body(request)
        if not parts:
            return self.transaction(request, body)
        condition = request.headers.get("If-None-Exist")
        if condition:
            system_value = condition.removeprefix("identifier=")
            for res in self.all_of(parts[0]):
                if system_value in {
                    f"{i.get('system')}|{i.get('value')}" for i in res.get("identifier") or []
                }:
                    return self.send(request, res, 200, res)
        res = self.store(parts[0], None, body)
        response = self.send(request, res, 201, res)
        response.headers["Location"] = f"{self.base}/{parts[0]}/{res['id']}/_history/1"
        return response

    def transaction(self, request: Request, bundle: Json) -> Response:
        if "no-transaction" in self.flaws:
            raise Problem(501, "Transaksjoner støttes ikke", "not-supported")
        if "non-atomic" not in self.flaws:
            for entry in bundle.get("entry") or []:
                self.check(entry["resource"])
        out = []
        for entry in bundle.get("entry") or []:
            method, url = entry["request"]["method"], entry["request"]["url"]
            rtype, _, rid = url.partition("/")
            res = self.store(rtype, rid if method == "PUT" else None, entry["resource"])
            out.append({"response": {"status": "201 Created", "location": f"{rtype}/{res['id']}"}})
        return self.send(
            request, {"resourceType": "Bundle", "type": "transaction-response", "entry": out}
        )

    def put(self, request: Request, rtype: str, rid: str) -> Response:
        res = self.current(rtype, rid)
        wanted = request.headers.get("If-Match")
        if (
            res
            and wanted
            and "no-etag" not in self.flaws
            and wanted != f'W/"{res["meta"]["versionId"]}"'
        ):
            return outcome(412, "Versjonen er endret av en annen", "conflict")
        stored = self.store(rtype, rid, self.body(request))
        return self.send(request, stored, 200 if res else 201, stored)

    def read(self, request: Request, parts: list[str], actor: str) -> Response:
        rtype, rid = parts[0], parts[1]
        versions = self.versions.get((rtype, rid)) or []
        if versions and not self.visible(versions[-1], actor):
            if "forbidden-hidden" in self.flaws:
                return outcome(403, "Ingen tilgang", "forbidden")
            versions = []
        if not versions:
            return outcome(404, f"{rtype}/{rid} finnes ikke", "not-found")
        if len(parts) == 2:
            return self.send(request, self.redact(versions[-1], actor), 200, versions[-1])
        if len(parts) == 3:
            entries = [{"resource": v} for v in reversed(versions)]
            return self.send(
                request, {"resourceType": "Bundle", "type": "history", "entry": entries}
            )
        number = int(parts[3]) if parts[3].isdigit() else 0
        if not 1 <= number <= len(versions):
            return outcome(404, f"{rtype}/{rid} finnes ikke", "not-found")
        return self.send(request, versions[number - 1], 200, versions[number - 1])

    def search(self, request: Request, rtype: str, actor: str) -> Response:
        args = request.args
        matches = self.all_of(rtype)
        if "patient" in args:
            matches = [r for r in matches if self._patient_of(r) == args["patient"].split("/")[-1]]
        if "identifier" in args:
            matches = [
                r
                for r in matches
                if args["identifier"]
                in {f"{i.get('system')}|{i.get('value')}" for i in r.get("identifier") or []}
            ]
        visible = [r for r in matches if self.visible(r, actor)]
        total = len(matches) if "leak-totals" in self.flaws else len(visible)
        bundle: Json = {"resourceType": "Bundle", "type": "searchset"}
        if args.get("_summary") == "count":
            return self.send(request, {**bundle, "total": total})
        count, offset = int(args.get("_count", 50)), int(args.get("_offset", 0))
        if "leak-links" in self.flaws:
            page = [r for r in matches[offset : offset + count] if self.visible(r, actor)]
            more = offset + count < len(matches)
        else:
            page, more = visible[offset : offset + count], offset + count < len(visible)
        bundle["entry"] = [{"resource": r, "search": {"mode": "match"}} for r in page]
        if args.get("_total") == "accurate":
            bundle["total"] = total
        if more:
            query = {**args.to_dict(), "_offset": str(offset + count)}
            bundle["link"] = [
                {"relation": "next", "url": f"{self.base}/{rtype}?{urlencode(query)}"}
            ]
        return self.send(request, bundle)

    def message(self, request: Request) -> Response:
        message = self.body(request)
        header = message["entry"][0]["resource"]
        if header["id"] in self.acks and "duplicate-twice" not in self.flaws:
            return self.send(request, self.acks[header["id"]])
        ack_header = {
            "resourceType": "MessageHeader",
            "id": str(uuid.uuid4()),
            "eventCoding": header["eventCoding"],
            "source": {"endpoint": self.base},
            "response": {"identifier": header["id"], "code": "ok"},
        }
        ack = {
            "resourceType": "Bundle",
            "id": str(uuid.uuid4()),
            "type": "message",
            "entry": [{"resource": ack_header}],
        }
        self.acks[header["id"]] = ack
        return self.send(request, ack)
