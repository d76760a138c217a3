"""Write authority: who may change what in a person's plan — the policy; the mechanism that
applies it (finding the plan, the actor's access, the audit) is :mod:`adapter.consent.writes`.

Seeing and writing are separate: a permit to see a plan is no licence to rewrite the person's
consent (STYLE.md "Consent: mechanism apart from policy"). Deny by default.

**Holders** — the plan's owner and its coordinator (access basis ``owner`` / ``coordinator``,
identity from the token, :func:`~adapter.consent.policy.access_for`) write everything tied to
the person: Consents (the givers' competence is checked, :mod:`adapter.consent.competence`),
CareTeam membership and roles, ownership (``CarePlan.author``,
``CareTeam.managingOrganization``), security labels (``meta.security``, the
ip-security-label extension), goals, measures, relatives; they create, update and delete.

**Care-team members** the person has not refused (a CareTeam names them and a sharing
consent in force lets them see the plan) change only what the plan gives them, on an
*existing* resource they may see, compared element by element with the version they are shown
(:func:`member_change`); what is stored is the stored version with exactly those changes
applied (:func:`member_merge`), so the elements they were not shown stay as they are and
nothing they cannot see is ever written:

- ``CareTeam.participant`` entries whose ``member`` is the actor: their contribution
  (extension ip-contribution, content list item d) — not the role, period or member;
- ``CarePlan.activity`` (tiltak) whose ``detail.performer`` names the actor: the follow-up of
  a measure it is responsible for (item e/f): ``activity.progress``, ``detail.status``,
  ``detail.statusReason``, ``detail.description`` — not its code, goals, performers, extent,
  schedule or topic label.

Members create nothing and delete nothing (goals are the person's own, items a and h are
written with the person by the holders). **Everyone else** — outsiders, refused
environments and individuals, former coordinators — writes nothing for the person, and is
answered exactly like an outsider (IP-5101): the answer must not say that it was refused.

**Directory entries**: the identifiers that carry authority (:func:`identity_change`:
``Organization`` organisasjonsnummer, ``Practitioner`` HPR number, ``PractitionerRole``
practitioner and organization) never change by update, for anyone — a changed identity is a
new entry. Entries a plan relies on are changed and deleted by that plan's owner only; new
entries, and entries no plan relies on, by every caller with the scope.

**Profiles**: consent-bearing resources are written in their IP profile whatever
``meta.profile`` says (:func:`required_profiles`), and a sharing consent's refusals cannot
hold a permit that would out-rank them (:func:`outranked_refusal`).
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any

from ipfhir.adapter.consent.context import identifier_values, patient_of, references_in
from ipfhir.adapter.consent.provisions import is_sharing_consent
from ipfhir.mappings.codes import IP_PLAN_CODE, SYSTEM_9602, cs_url, ext_url, profile_url
from ipfhir.mappings.identifiers import HPR_SYSTEM, ORGNR_SYSTEM

__all__ = [
    "AUTHORITY_TYPES",
    "identity_change",
    "member_change",
    "member_merge",
    "outranked_refusal",
    "required_profiles",
    "with_profiles",
]

Resource = dict[str, Any]
# Directory types whose identifiers say who acts in a plan.
AUTHORITY_TYPES = frozenset({"Organization", "Practitioner", "PractitionerRole"})
_CONTRIBUTION = ext_url("ip-contribution")
_MEASURE_FOLLOW_UP = ("status", "statusReason", "description")  # in activity.detail
_STORE_META = frozenset({"versionId", "lastUpdated", "source", "profile"})  # set by the server
_INDEXED = frozenset({"participant", "activity"})  # reported with the entry's index
_CONSENT_CATEGORY = cs_url("ip-consent-category")


def identity_change(old: Mapping[str, Any], new: Mapping[str, Any]) -> str | None:
    """FHIRPath of the authority-carrying identifier an update of a directory entry would
    change, or ``None`` when it changes none."""
    rtype = str(old.get("resourceType"))
    if rtype == "Organization":
        same = identifier_values(old, ORGNR_SYSTEM) == identifier_values(new, ORGNR_SYSTEM)
        return None if same else "Organization.identifier"
    if rtype == "Practitioner":
        same = identifier_values(old, HPR_SYSTEM) == identifier_values(new, HPR_SYSTEM)
        return None if same else "Practitioner.identifier"
    if rtype == "PractitionerRole":
        for key in ("practitioner", "organization"):
            if set(references_in(old.get(key))) != set(references_in(new.get(key))):
                return f"PractitionerRole.{key}"
    return None


def member_change(old: Resource | None, new: Resource | None, mine: set[str]) -> str | None:
    """``None`` when a care-team member known in the plan as ``mine`` may turn ``old`` into
    ``new`` (see the module docstring), else the FHIRPath of the first element it may not
    write. ``old`` None is a create, ``new`` None a delete: members do neither."""
    if old is None or new is None:
        return str((new or old or {}).get("resourceType"))
    rtype = str(old.get("resourceType"))
    if new.get("resourceType") != rtype or rtype not in ("CareTeam", "CarePlan"):
        return rtype
    before, after = _comparable(old), _comparable(new)
    if rtype == "CareTeam":
        _drop_contributions(before, after, mine)
    else:
        _drop_follow_up(before, after, mine)
    return _first_difference(rtype, before, after)


def member_merge(
    stored: Resource, seen: Resource, new: Resource, mine: set[str]
) -> tuple[str | None, Resource]:
    """(the first element a member may not write, or ``None``; the version to store).
    ``seen`` is ``stored`` as the member is shown it (redacted), ``new`` what it sent: the
    member's own entries (participants / measures, in order) carry its changes into
    ``stored``; its own entries must all be visible to it."""
    where = member_change(seen, new, mine)
    if where is not None:
        return where, stored
    rtype = str(stored.get("resourceType"))
    key = "participant" if rtype == "CareTeam" else "activity"
    own_stored, own_new = _own(stored, key, mine), _own(new, key, mine)
    if len(own_stored) != len(own_new):  # one of its own entries is hidden from it
        return f"{rtype}.{key}", stored
    merged = copy.deepcopy(stored)
    entries = merged.get(key) or []
    for (index, _entry), (_at, sent) in zip(own_stored, own_new, strict=True):
        entries[index] = _carried(entries[index], sent, rtype)
    return None, merged


def _own(resource: Resource, key: str, mine: set[str]) -> list[tuple[int, Resource]]:
    """(position, entry) of the actor's own participants / measures in ``resource``."""
    out: list[tuple[int, Resource]] = []
    for index, entry in enumerate(resource.get(key) or []):
        if not isinstance(entry, dict):
            continue
        if key == "participant":
            found = entry.get("member")
        else:
            found = (entry.get("detail") or {}).get("performer")
        if set(references_in(found)) & mine:
            out.append((index, entry))
    return out


def _carried(target: Resource, sent: Resource, rtype: str) -> Resource:
    out = copy.deepcopy(target)
    if rtype == "CareTeam":
        kept = [e for e in out.get("extension", []) if e.get("url") != _CONTRIBUTION]
        kept += [e for e in sent.get("extension", []) if e.get("url") == _CONTRIBUTION]
        out.pop("extension", None)
        if kept:
            out["extension"] = kept
        return out
    out.pop("progress", None)
    if sent.get("progress") is not None:
        out["progress"] = copy.deepcopy(sent["progress"])
    detail, sent_detail = out.setdefault("detail", {}), sent.get("detail") or {}
    for name in _MEASURE_FOLLOW_UP:
        detail.pop(name, None)
        if name in sent_detail:
            detail[name] = copy.deepcopy(sent_detail[name])
    return out


def _comparable(resource: Resource) -> Resource:
    out = copy.deepcopy(resource)
    meta = {k: v for k, v in (out.pop("meta", None) or {}).items() if k not in _STORE_META}
    security = [c for c in meta.get("security", []) if c.get("code") != "REDACTED"]
    meta.pop("security", None)
    if security:
        meta["security"] = security
    if meta:
        out["meta"] = meta
    return out


def _paired(before: Resource, after: Resource, key: str) -> list[tuple[Resource, Resource]]:
    """The entries of ``key`` in both versions, by position (only when the counts agree)."""
    old, new = before.get(key) or [], after.get(key) or []
    if len(old) != len(new):
        return []
    return [
        (o, n) for o, n in zip(old, new, strict=True) if isinstance(o, dict) and isinstance(n, dict)
    ]


def _drop_contributions(before: Resource, after: Resource, mine: set[str]) -> None:
    for old, new in _paired(before, after, "participant"):
        if set(references_in(old.get("member"))) & mine:
            for part in (old, new):
                kept = [e for e in part.get("extension", []) if e.get("url") != _CONTRIBUTION]
                part["extension"] = kept
                if not kept:
                    del part["extension"]


def _drop_follow_up(before: Resource, after: Resource, mine: set[str]) -> None:
    for old, new in _paired(before, after, "activity"):
        if set(references_in((old.get("detail") or {}).get("performer"))) & mine:
            for act in (old, new):
                act.pop("progress", None)
                detail = act.get("detail")
                if isinstance(detail, dict):
                    for key in _MEASURE_FOLLOW_UP:
                        detail.pop(key, None)


def _first_difference(rtype: str, before: Resource, after: Resource) -> str | None:
    for key in sorted(before.keys() | after.keys()):
        old, new = before.get(key), after.get(key)
        if old == new:
            continue
        index = _first_changed_entry(old, new) if key in _INDEXED else None
        return f"{rtype}.{key}" if index is None else f"{rtype}.{key}[{index}]"
    return None


def _first_changed_entry(old: Any, new: Any) -> int | None:
    """Index of the first changed entry of two lists of the same length (else ``None``)."""
    if not (isinstance(old, list) and isinstance(new, list)) or len(old) != len(new):
        return None
    return next((i for i, (o, n) in enumerate(zip(old, new, strict=True)) if o != n), None)


def required_profiles(resource: Mapping[str, Any]) -> list[str]:
    """The IP profiles ``resource`` must conform to, whatever its ``meta.profile`` says: the
    resources the consent policy takes authority from. A Consent of an IP consent category
    (plan or sharing consent), a CarePlan of the IP category (9602 A02-2), and every CareTeam
    of a person (any of them makes its members members of the plan)."""
    rtype = resource.get("resourceType")
    codes = {
        (str(c.get("system")), str(c.get("code")))
        for cat in resource.get("category") or []
        if isinstance(cat, dict)
        for c in cat.get("coding") or []
        if isinstance(c, dict)
    }
    if rtype == "Consent":
        kinds = ("plan-consent", "sharing-consent")
        return [profile_url(f"ip-{k}") for k in kinds if (_CONSENT_CATEGORY, k) in codes]
    if rtype == "CarePlan" and (SYSTEM_9602, IP_PLAN_CODE) in codes:
        return [profile_url("ip-careplan")]
    if rtype == "CareTeam" and patient_of(resource) is not None:
        return [profile_url("ip-careteam")]
    return []


def with_profiles(resource: Resource) -> Resource:
    """``resource`` with :func:`required_profiles` added to ``meta.profile`` (so the store's
    validator checks them); the resource itself when it needs none or lists them already."""
    needed = required_profiles(resource)
    meta = resource.get("meta") if isinstance(resource.get("meta"), dict) else {}
    listed = [p for p in (meta or {}).get("profile") or [] if isinstance(p, str)]
    missing = [p for p in needed if p not in listed]
    if not missing:
        return resource
    return {**resource, "meta": {**(meta or {}), "profile": [*listed, *missing]}}


def outranked_refusal(consent: Mapping[str, Any]) -> str | None:
    """FHIRPath of a provision of a sharing consent that would out-rank a refusal: every
    nested provision is a refusal (``deny``) or a permit of topics to named recipients, and
    nests no further — a permit below a deny is deeper than the deny and would decide
    (:func:`~adapter.consent.provisions.judge`); beside the refusals, at their depth, the deny
    beats it."""
    if consent.get("resourceType") != "Consent" or not is_sharing_consent(consent):
        return None
    root = consent.get("provision")
    if not isinstance(root, dict):
        return None
    for index, child in enumerate(root.get("provision") or []):
        path = f"Consent.provision.provision[{index}]"
        if not isinstance(child, dict) or not _refusal_or_topic_permit(child):
            return f"{path}.type"
        if child.get("provision"):
            return f"{path}.provision"
    return None


def _refusal_or_topic_permit(provision: Mapping[str, Any]) -> bool:
    if provision.get("type") == "deny":
        return True
    return (
        provision.get("type") == "permit"
        and bool(provision.get("actor"))
        and bool(provision.get("securityLabel"))
    )
