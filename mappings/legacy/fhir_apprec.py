"""AppRec ↔ the answer of FHIR messaging: a message Bundle whose MessageHeader ``response``
names the original message (``response.identifier`` = OriginalMsgId/Id) — pure.

- Status 1 (OK) ↔ ``response.code`` ok; 3 (OK, feil i delmelding) ↔ ok with an
  OperationOutcome of warnings; 2 (avvist) ↔ fatal-error with an OperationOutcome of errors
  (a ``transient-error`` answer is written as avvist too: AppRec has no «try again»).
- Each AppRec Error (kodeverk 8221: V, DN; OT the detail) ↔ one issue, ``details.coding`` the
  code, ``diagnostics`` the detail. An issue of this project (an IP-xxxx message id) becomes
  X99 «Annen feil» with «IP-xxxx: text» as its detail.
- The original message's type and issue date ride in the extension ``ip-legacy-original``.
- Sender and receiver: the institution's name and HER-id (``urn:ipfhir:her:`` endpoints).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from ipfhir.mappings.codes import cs_url, ext_url
from ipfhir.mappings.legacy.codes import Code
from ipfhir.mappings.legacy.fhir_common import (
    HER_URN,
    MSG_TYPE_SYSTEM,
    Org,
    as_dict,
    iso,
    parse_time,
    parties,
)
from ipfhir.mappings.legacy.messages import refuse
from ipfhir.mappings.legacy.model_apprec import (
    AppRec,
    AppRecParty,
    AppRecUnit,
    Institution,
    OriginalMessage,
)
from ipfhir.mappings.legacy.write_apprec import STATUS

__all__ = ["ERROR_SYSTEM", "ORIGINAL_EXTENSION", "apprec_from_bundle", "bundle_from_apprec"]

Resource = dict[str, Any]
ERROR_SYSTEM = "urn:oid:2.16.578.1.12.4.1.1.8221"
ORIGINAL_EXTENSION = ext_url("ip-legacy-original")
OTHER_ERROR = Code(v="X99", s="2.16.578.1.12.4.1.1.8221", dn="Annen feil")
_HER = Code(v="HER", dn="HER-id")


def _org(party: AppRecParty) -> Org:
    inst = party.institution
    if inst is not None:
        dept = next((d.id for d in inst.departments if d.id), None)
        her = inst.id if inst.type_id is None or inst.type_id.v == "HER" else None
        orgnr = inst.id if inst.type_id is not None and inst.type_id.v == "ENH" else None
        endpoint = HER_URN + (her or "") + (f":{dept}" if dept else "")
        return Org(orgnr, inst.name or "", endpoint, her, dept)
    prof = party.professional or AppRecUnit()
    her = next((a.id for a in prof.additional_ids if a.type.v == "HER"), None)
    return Org(None, prof.name or "", HER_URN + (her or ""), her)


def _issue(error: Code, severity: str) -> Resource:
    coding: Resource = {"system": f"urn:oid:{error.s}" if error.s else ERROR_SYSTEM}
    coding["code"] = error.v or "X99"
    if error.dn:
        coding["display"] = error.dn
    issue: Resource = {"severity": severity, "code": "processing", "details": {"coding": [coding]}}
    if error.ot:
        issue["diagnostics"] = error.ot
    return issue


def bundle_from_apprec(receipt: AppRec) -> Resource:
    """The answer Bundle of an AppRec (see the module doc)."""
    outcome = receipt.outcome
    code = {"ok": "ok", "ok-with-errors": "ok"}.get(outcome, "fatal-error")
    original = receipt.original
    response: Resource = {
        "identifier": original.id,
        "code": code,
        "extension": [
            {
                "url": ORIGINAL_EXTENSION,
                "extension": [
                    {
                        "url": "type",
                        "valueCoding": {
                            "system": MSG_TYPE_SYSTEM,
                            "code": original.msg_type.v,
                            **({"display": original.msg_type.dn} if original.msg_type.dn else {}),
                        },
                    },
                    {"url": "issued", "valueDateTime": iso(original.issue_date)},
                ],
            }
        ],
    }
    entries: list[Resource] = []
    severity = "warning" if outcome == "ok-with-errors" else "error"
    if receipt.errors or outcome != "ok":
        outcome_id = f"{receipt.id}-outcome"
        issues = [_issue(e, severity) for e in receipt.errors] or [_issue(OTHER_ERROR, severity)]
        resource = {"resourceType": "OperationOutcome", "id": outcome_id, "issue": issues}
        response["details"] = {"reference": f"urn:uuid:{outcome_id}"}
        entries.append({"fullUrl": f"urn:uuid:{outcome_id}", "resource": resource})
    sender, receiver = _org(receipt.sender), _org(receipt.receiver)
    header = {
        "resourceType": "MessageHeader",
        "id": receipt.id,
        "eventCoding": {
            "system": MSG_TYPE_SYSTEM,
            "code": "APPREC",
            "display": "Applikasjonskvittering",
        },
        "destination": [{"endpoint": receiver.endpoint, "receiver": receiver.reference()}],
        "sender": sender.reference(),
        "source": {"name": sender.name, "endpoint": sender.endpoint},
        "response": response,
    }
    return {
        "resourceType": "Bundle",
        "id": receipt.id,
        "type": "message",
        "timestamp": iso(receipt.gen_date),
        "entry": [{"fullUrl": f"urn:uuid:{receipt.id}", "resource": header}, *entries],
    }


def _error(issue: Resource) -> Code:
    details = as_dict(issue.get("details"))
    codings = details.get("coding")
    coding = as_dict(codings[0] if isinstance(codings, list) and codings else None)
    system, value = str(coding.get("system") or ""), coding.get("code")
    if system.startswith("urn:oid:") and system != cs_url("message-id") and value:
        text = issue.get("diagnostics")
        return Code(
            v=str(value),
            s=system.removeprefix("urn:oid:"),
            dn=coding.get("display") if isinstance(coding.get("display"), str) else None,
            ot=text if isinstance(text, str) else None,
        )
    shown = str(issue.get("diagnostics") or details.get("text") or value or "")
    return Code(v=OTHER_ERROR.v, s=OTHER_ERROR.s, dn=OTHER_ERROR.dn, ot=shown[:500] or None)


def _dicts(value: Any) -> list[Resource]:
    return [v for v in value if isinstance(v, dict)] if isinstance(value, list) else []


def _institution(org: Org) -> AppRecParty:
    her = org.her_id
    number, kind = (her, _HER) if her else (org.orgnr, Code(v="ENH", dn="Organisasjonsnummer"))
    departments: tuple[AppRecUnit, ...] = ()
    if org.unit_her_id:
        departments = (AppRecUnit(name=org.name or None, id=org.unit_her_id, type_id=_HER),)
    return AppRecParty(
        institution=Institution(
            name=org.name or "Ukjent", id=number, type_id=kind, departments=departments
        )
    )


def _original(response: Resource, gen_date: dt.datetime) -> OriginalMessage:
    kind, issued = Code(v="DIALOG_NOTAT", dn="Notat"), gen_date
    for ext in _dicts(response.get("extension")):
        if ext.get("url") != ORIGINAL_EXTENSION:
            continue
        for part in _dicts(ext.get("extension")):
            if part.get("url") == "type" and isinstance(part.get("valueCoding"), dict):
                value = part["valueCoding"]
                shown = value.get("display")
                kind = Code(v=str(value.get("code")), dn=shown if isinstance(shown, str) else None)
            if part.get("url") == "issued":
                issued = parse_time(part.get("valueDateTime"), "MessageHeader.response.extension")
    return OriginalMessage(msg_type=kind, issue_date=issued, id=str(response.get("identifier")))


def apprec_from_bundle(
    bundle: Resource, sender: Org | None = None, receiver: Org | None = None
) -> AppRec:
    """The AppRec of an answer Bundle (IP-6146 when it answers nothing)."""
    found_entries = bundle.get("entry")
    entries: list[Any] = found_entries if isinstance(found_entries, list) else []
    header = as_dict(entries[0]).get("resource") if entries else None
    response = header.get("response") if isinstance(header, dict) else None
    if not isinstance(response, dict) or not isinstance(response.get("identifier"), str):
        refuse("IP-6146", "MessageHeader.response", "No MessageHeader.response.identifier.")
    assert isinstance(header, dict)
    gen_date = parse_time(bundle.get("timestamp"), "Bundle.timestamp")
    code = response.get("code")
    outcomes = {
        str(e.get("fullUrl")): e.get("resource") for e in entries[1:] if isinstance(e, dict)
    }
    details = as_dict(response.get("details"))
    found = outcomes.get(str(details.get("reference")))
    issues = found.get("issue") if isinstance(found, dict) else None
    errors = tuple(
        _error(i)
        for i in (issues if isinstance(issues, list) else [])
        if isinstance(i, dict) and i.get("severity") in ("fatal", "error", "warning")
    )
    status = (
        "ok" if code == "ok" and not errors else "ok-with-errors" if code == "ok" else "rejected"
    )
    if status == "rejected" and not errors:
        errors = (OTHER_ERROR,)
    source, target = parties(header, {})
    return AppRec(
        msg_type=Code(v="APPREC", dn="Applikasjonskvittering"),
        gen_date=gen_date,
        id=str(header.get("id") or bundle.get("id")),
        sender=_institution(sender or source),
        receiver=_institution(receiver or target),
        status=STATUS[status],
        original=_original(response, gen_date),
        errors=errors,
    )
