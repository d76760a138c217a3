"""Consent provisions → the rules that apply to one actor today (pure).

FHIR R4 nests provisions: each nested provision is an exception to its parent. We flatten the
tree into :class:`Rule` s with their depth. A node is in scope when its parent is, its
``period`` covers today and its ``purpose`` is empty or holds the actor's purpose; it applies to
the actors it lists, or — listing none — to those its parent applies to. (So a nested deny that
names someone the base permit does not name still applies to them: deny beats permit, also for
the plan's owner and coordinator.) A base provision that lists no actor applies to nobody:
consent to share is never a blank authorisation (seed 002 § 4.4, vedlegg 2).

Actors with role AUT (author) are not whom a provision applies to but where the information
comes from («fra nærmere bestemte fagmiljø», vedlegg 2): such a provision speaks only about items
from those environments (an activity by its performer, a participant by its member, a
practitioner's role by its organisation). Only IRCP actors (or actors without a role) say whom a
provision applies to.

For one item (a resource or an element) carrying security labels ``L``, a date ``d`` and sources
``S``, the rules that speak about it are those without ``securityLabel`` or with a label in
``L``, without ``dataPeriod`` or with one that holds ``d`` (a ``dataPeriod``-bound rule speaks
about dated items only: a permit bound to a data period never reaches undated data), and without
sources or with one in ``S``. The deepest of those rules decides; at equal depth deny beats
permit; no rule at all means deny. A nested permit naming the actor with ``securityLabel`` is a
limit: of the items that carry labels, the actor then gets only those whose every label is among
its limits' labels (the person said which topics go to this recipient); unlabelled items follow
the other rules.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any, Literal

from ipfhir.adapter.ports import Actor
from ipfhir.mappings.codes import cs_url, ext_url
from ipfhir.mappings.competence import age_on
from ipfhir.mappings.recheck import ADULT

__all__ = [
    "Label",
    "Rule",
    "consent_in_force",
    "is_sharing_consent",
    "given_by_parents_alone",
    "judge",
    "lapsed_at_adulthood",
    "rules_for",
]

Label = tuple[str, str]  # (system, code)
Resource = dict[str, Any]
_REVOKED_EXT = ext_url("ip-consent-revoked")
_CAPACITY = ext_url("ip-consent-capacity")
_SHARING = (cs_url("ip-consent-category"), "sharing-consent")


@dataclass(frozen=True)
class Rule:
    """One applicable provision: ``labels`` None = about everything."""

    effect: Literal["permit", "deny"]
    depth: int
    consent: str  # "Consent/id"
    path: str  # FHIRPath of the provision, e.g. "Consent.provision.provision[1]"
    labels: frozenset[Label] | None
    data_period: tuple[str, str] | None  # (start, end) as text; "" = open
    names_actor: bool = False  # the provision lists recipients (a refused individual/environment)
    sources: frozenset[str] | None = None  # "Organization/id" the information comes from

    @property
    def limits(self) -> bool:
        """A permit naming the actor with topics: the only topics the actor gets."""
        return self.effect == "permit" and self.names_actor and self.labels is not None

    def speaks_about(
        self, labels: frozenset[Label], date: str | None, sources: frozenset[str] = frozenset()
    ) -> bool:
        if self.labels is not None and not self.labels & labels:
            return False
        if self.sources is not None and not self.sources & sources:
            return False
        if self.data_period is None:
            return True
        start, end = self.data_period
        return date is not None and (not start or start <= date) and (not end or date <= end)


def is_sharing_consent(consent: Mapping[str, Any]) -> bool:
    codes = {
        (c.get("system"), c.get("code"))
        for cat in consent.get("category", [])
        for c in cat.get("coding", [])
    }
    return _SHARING in codes


def _covers(period: Mapping[str, Any] | None, today: str) -> bool:
    if not period:
        return True
    start, end = str(period.get("start", ""))[:10], str(period.get("end", ""))[:10]
    return (not start or start <= today) and (not end or today <= end)


def consent_in_force(consent: Mapping[str, Any], today: str) -> str | None:
    """``None`` when the Consent can permit anything today, otherwise why not."""
    status = consent.get("status")
    if status != "active":
        return f"status is '{status}': only an active consent permits"
    for ext in consent.get("extension", []):
        if ext.get("url") == _REVOKED_EXT and str(ext.get("valueDate", ""))[:10] <= today:
            return f"revoked on {ext.get('valueDate')}"
    provision = consent.get("provision")
    if not isinstance(provision, dict) or provision.get("type") != "permit":
        return "the base provision is not a permit"
    if not _covers(provision.get("period"), today):
        return "outside provision.period (expired or not yet valid)"
    return None


def given_by_parents_alone(consent: Mapping[str, Any]) -> bool:
    """Every giver of ``consent`` gave it as a parent (capacity ``parent``; a giver without a
    capacity gave it as themselves, as :mod:`adapter.consent.competence` reads it)."""
    capacities = [
        next(
            (
                str(e.get("valueCode"))
                for e in giver.get("extension", [])
                if e.get("url") == _CAPACITY
            ),
            "self",
        )
        for giver in consent.get("performer", [])
    ]
    return bool(capacities) and all(c == "parent" for c in capacities)


def lapsed_at_adulthood(consent: Mapping[str, Any], born: str | None, today: str) -> bool:
    """The re-check at 18 (IP-1045, :mod:`mappings.recheck`): a consent the parents gave alone
    permits nothing once the person is 18 on ``today``; the person consents now."""
    if not born or not given_by_parents_alone(consent):
        return False
    # a partial birthDate (YYYY, YYYY-MM) is read as its earliest day: in doubt the person is
    # taken to be 18 sooner, so the parents' consent permits less, never more
    padded = born[:10] + {4: "-01-01", 7: "-01"}.get(len(born[:10]), "")
    try:
        birth, day = dt.date.fromisoformat(padded), dt.date.fromisoformat(today[:10])
    except ValueError:
        return False
    return age_on(birth, day) >= ADULT


def _in_scope(node: Mapping[str, Any], actor: Actor, today: str) -> bool:
    if not _covers(node.get("period"), today):
        return False
    purposes = {str(p.get("code")) for p in node.get("purpose", [])}
    return not purposes or actor.purpose in purposes


def _actors(node: Mapping[str, Any], source: bool) -> list[str]:
    """References of the node's recipients (``source`` False) or source environments (AUT)."""
    out = []
    for actor in node.get("actor", []):
        roles = {str(c.get("code")) for c in (actor.get("role") or {}).get("coding", [])}
        if ("AUT" in roles) == source:
            out.append(str(actor.get("reference", {}).get("reference", "")).split("/_history/")[0])
    return out


def _names(node: Mapping[str, Any], refs: set[str], inherited: bool) -> bool:
    """A node with recipients applies to them; one without inherits its parent's."""
    actors = _actors(node, source=False)
    if not actors:
        return inherited
    return bool(set(actors) & refs)


def _walk(
    node: Mapping[str, Any],
    path: str,
    depth: int,
    ctx: tuple[str, Actor, set[str], str],
    inherited: bool,
) -> Iterator[Rule]:
    consent, actor, refs, today = ctx
    if not _in_scope(node, actor, today):
        return
    applies = _names(node, refs, inherited)
    labels = node.get("securityLabel")
    period = node.get("dataPeriod")
    effect: Literal["permit", "deny"] = "deny" if node.get("type") == "deny" else "permit"
    if applies:
        sources = _actors(node, source=True)
        yield Rule(
            effect,
            depth,
            consent,
            path,
            frozenset((str(c.get("system")), str(c.get("code"))) for c in labels)
            if labels
            else None,
            (str(period.get("start", ""))[:10], str(period.get("end", ""))[:10])
            if period
            else None,
            bool(_actors(node, source=False)),
            frozenset(sources) if sources else None,
        )
    for index, child in enumerate(node.get("provision", [])):
        yield from _walk(child, f"{path}.provision[{index}]", depth + 1, ctx, applies)


def rules_for(consents: list[Resource], actor: Actor, refs: set[str], today: str) -> list[Rule]:
    """Rules of every sharing Consent in force that apply to ``actor`` (known as ``refs``)."""
    rules: list[Rule] = []
    for consent in consents:
        if not is_sharing_consent(consent) or consent_in_force(consent, today) is not None:
            continue
        ref = f"Consent/{consent.get('id')}"
        root = consent["provision"]
        rules += _walk(root, "Consent.provision", 0, (ref, actor, refs, today), False)
    return rules


def judge(
    rules: list[Rule],
    labels: frozenset[Label],
    date: str | None,
    sources: frozenset[str] = frozenset(),
) -> tuple[bool, Rule | None]:
    """(allowed, deciding rule) for an item with ``labels``, ``date`` and ``sources``."""
    speaking = [r for r in rules if r.speaks_about(labels, date, sources)]
    if not speaking:
        return False, None
    deepest = max(r.depth for r in speaking)
    top = [r for r in speaking if r.depth == deepest]
    deny = next((r for r in top if r.effect == "deny"), None)
    if deny:
        return False, deny
    limits = [r for r in rules if r.limits]
    if labels and limits and not labels <= frozenset().union(*(r.labels or () for r in limits)):
        return False, limits[0]  # a topic the person did not give this recipient
    return True, top[0]
