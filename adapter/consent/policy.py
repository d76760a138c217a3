"""The consent policy: a pure decision over the person's Consents, the plan, the actor and one
resource. No I/O, no clock (``today`` is passed in), no knowledge of HTTP or the store.

Who sees what (shared/domain/individuell-plan.md § 5; seed 002 § 4.4, § 7.7, vedlegg 2):

- **Directory data** (Organization, Practitioner, PractitionerRole, HealthcareService, Endpoint,
  Location) is not confidential information about a person: every authenticated actor with the
  scope may read it — but a Practitioner's private contact (telecom other than work, address)
  only the practitioner itself (:mod:`adapter.consent.private_contact`). What links a provider
  to a person (CareTeam, CarePlan) is person data.
- **The plan's owner** (the coordinating unit — a token with the :data:`OWNER_ROLE` role claim —
  of the organisation in ``CarePlan.author`` / ``CareTeam.managingOrganization``) and **the
  coordinator** (a CareTeam participant with a coordinator role, assignment in force, HPR number
  and organisation of the token) hold the plan: they see all of it, the Consents and the
  plan's AuditEvents included — unless a provision of a Consent in force names them in a deny
  (deny beats permit).
- **Everyone else** — the rest of the owning organisation too (need to know: the municipality's
  other employees are not the plan's holders) — sees exactly what a sharing Consent in force
  gives them
  (:mod:`adapter.consent.provisions`): the deepest matching provision decides, deny beats permit,
  refused topics remove resources (``meta.security``) and elements (activities, needs, resources,
  references to hidden goals, CareTeam participants with their contribution), and nothing at all
  without a permit. They never see Consent or
  AuditEvent resources: which topics a person refused is itself confidential.
- **Relatives** (RelatedPerson) are personal data of a third person tied to the plan, never
  directory data. A relative the person refused (a deny provision of a sharing Consent in force
  naming the RelatedPerson, without topic or data period) is shown to the owner and the
  coordinator only, and their CareTeam participation is removed for everyone else. A recipient
  sees a relative the person did not refuse only while the relative takes part in the plan as a
  CareTeam participant the recipient sees (whom to contact), and then without identifiers
  (fødselsnummer, D-nummer: a recipient never needs a relative's national identity); relatives
  named only in a Consent (a guardian, a parent who consented) are not shown to recipients.
- **A notification waiting in an inbox** (:mod:`adapter.consent.inbox`): the addressee's
  coordinating unit only, while another organisation's words; the plan's rules once acted on.
- **What this adapter received under a consent its sender has since withdrawn or narrowed**
  (labelled :data:`~mappings.codes.REVOKED_LABEL` by :mod:`adapter.sync.revocation`): nobody,
  the plan's holders included — answered as missing; the label of the newest version hides
  every earlier one too (:mod:`adapter.consent.versions`).
- Anything else (a resource tied to no person and not directory data) is denied.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from ipfhir.adapter.consent.context import (
    DIRECTORY_TYPES,
    PlanContext,
    actor_refs,
    claimed_refs,
    patient_of,
    ref_of,
    references_in,
)
from ipfhir.adapter.consent.inbox import inbox_verdict
from ipfhir.adapter.consent.private_contact import shown_to_self, strip_private
from ipfhir.adapter.consent.provisions import Label, Rule, judge, lapsed_at_adulthood, rules_for
from ipfhir.adapter.consent.redact import (
    Keep,
    Removal,
    activity_date,
    element_labels,
    element_sources,
    mark_redacted,
    resource_date,
    resource_labels,
    strip_elements,
    strip_identifiers,
    strip_participants,
)
from ipfhir.adapter.consent.redact_text import strip_free_text
from ipfhir.adapter.consent.work_refs import WORK_TYPES, strip_work_references
from ipfhir.adapter.ports import Actor, DisclosurePolicy
from ipfhir.mappings.codes import REVOKED_LABEL

__all__ = [
    "OWNER_ROLE",
    "Access",
    "ConsentRules",
    "Decision",
    "Policy",
    "Reason",
    "access_for",
    "decide",
]

Resource = dict[str, Any]
# The role claim (adapter.auth.tokens CLAIM_ROLES) of the owning organisation's coordinating unit
# (koordinerende enhet): without it a token of the owning organisation is no owner.
OWNER_ROLE = "koordinerende-enhet"
Basis = Literal["directory", "owner", "coordinator", "consent", "none"]
_PRIVILEGED_ONLY = frozenset({"Consent", "AuditEvent"})
_VERDICTS = 512  # remembered verdicts per Access (distinct label sets and dates are few)


@dataclass(frozen=True)
class Reason:
    text: str
    consent: str | None = None
    provision: str | None = None

    @classmethod
    def of(cls, text: str, rule: Rule | None) -> Reason:
        return cls(text, rule.consent if rule else None, rule.path if rule else None)


@dataclass(frozen=True)
class Access:
    """What an actor holds on one person's plan today."""

    basis: Basis
    rules: tuple[Rule, ...] = ()
    reasons: tuple[Reason, ...] = ()

    _verdicts: dict[
        tuple[frozenset[Label], str | None, frozenset[str]], tuple[bool, Rule | None]
    ] = field(default_factory=dict, compare=False, repr=False)

    @property
    def consents(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(r.consent for r in self.rules if r.effect == "permit"))

    def judge(
        self, labels: frozenset[Label], date: str | None, sources: frozenset[str] = frozenset()
    ) -> tuple[bool, Rule | None]:
        """:func:`~adapter.consent.provisions.judge` over these rules, remembered per (labels,
        date, sources): an Access lives as long as its plan context, which never changes."""
        key = (labels, date, sources)
        verdict = self._verdicts.get(key)
        if verdict is None:
            if len(self._verdicts) >= _VERDICTS:
                self._verdicts.clear()
            verdict = self._verdicts[key] = judge(list(self.rules), labels, date, sources)
        return verdict


@dataclass(frozen=True)
class Decision:
    """``resource`` is what may be disclosed (redacted copy for ``redact``), None for deny."""

    effect: Literal["permit", "deny", "redact"]
    basis: Basis
    resource: Resource | None
    reasons: tuple[Reason, ...] = ()
    removed: tuple[Removal, ...] = ()
    consents: tuple[str, ...] = field(default=())

    @property
    def disclosed(self) -> bool:
        return self.resource is not None


def access_for(ctx: PlanContext, actor: Actor, today: str) -> Access:
    """What ``actor`` holds on the plan today. Permits reach the actor by who it *is*
    (:func:`actor_refs`: organisation, and a practitioner at that organisation); refusals by
    who it *may be* (:func:`claimed_refs`: also the HPR number alone), so a refused individual
    stays refused whatever organisation the token names. The coordinator is the practitioner
    of a coordinator assignment at the assignment's organisation (HPR number and orgnr)."""
    sharing = ctx.of_type("Consent")
    born = (ctx.get(ctx.patient) or {}).get("birthDate")
    lapsed = [c for c in sharing if lapsed_at_adulthood(c, born, today)]
    permits = rules_for(
        [c for c in sharing if c not in lapsed], actor, actor_refs(ctx, actor), today
    )
    # a lapsed consent's refusals keep restricting: a refusal never discloses
    denies = [
        r for r in rules_for(sharing, actor, claimed_refs(ctx, actor), today) if r.effect == "deny"
    ]
    rules = tuple(dict.fromkeys([*permits, *denies]))
    named = _refused_outright(rules)
    if named is not None:
        return Access("none", rules, (Reason.of("the person refused this recipient", named),))
    if (
        actor.organisation
        and actor.organisation in ctx.owner_orgnrs()
        and OWNER_ROLE in actor.roles
    ):
        why = "the actor is the coordinating unit of the organisation that owns the plan"
        return Access("owner", rules, (Reason(why),))
    if (
        actor.practitioner
        and actor.organisation
        and ((actor.practitioner, actor.organisation) in ctx.coordinators(today))
    ):
        return Access("coordinator", rules, (Reason("the actor is the plan's coordinator"),))
    if any(r.effect == "permit" for r in rules):
        return Access("consent", rules, (Reason("a sharing consent in force names the actor"),))
    if lapsed:
        why = (
            "no sharing consent in force permits this actor: a consent the parents gave alone "
            "permits nothing once the person is 18 (IP-1045 re-check)"
        )
        return Access("none", rules, (Reason(why, f"Consent/{lapsed[0].get('id')}"),))
    return Access("none", rules, (Reason("no sharing consent in force permits this actor"),))


def _refused_outright(rules: tuple[Rule, ...]) -> Rule | None:
    """The deny naming the actor without topic, source or data period: it refuses everything."""
    return next(
        (
            r
            for r in rules
            if r.effect == "deny"
            and r.names_actor
            and r.labels is None
            and r.sources is None
            and r.data_period is None
        ),
        None,
    )


def decide(
    ctx: PlanContext | None,
    actor: Actor,
    resource: Resource,
    today: str,
    access: Access | None = None,
) -> Decision:
    """Permit, deny or redact ``resource`` for ``actor`` (``ctx``: the resource's person)."""
    rtype = str(resource.get("resourceType"))
    if _revoked(resource):
        text = "received under a consent its sender has since withdrawn or narrowed"
        return Decision("deny", "none", None, (Reason(text),))
    if rtype in DIRECTORY_TYPES and patient_of(resource) is None:
        reasons = (Reason("directory data"),)
        if rtype == "Practitioner" and not shown_to_self(actor, resource):
            out, removed = strip_private(resource)
            if removed:
                redacted = mark_redacted(out)
                return Decision("redact", "directory", redacted, reasons, tuple(removed))
        return Decision("permit", "directory", resource, reasons)
    if ctx is None or patient_of(resource) != ctx.patient:
        return Decision("deny", "none", None, (Reason("not tied to a person's plan"),))
    inbox = inbox_verdict(
        resource,
        actor.organisation,
        OWNER_ROLE in actor.roles,
        ctx.owner_orgnrs(),
        actor.practitioner,
    )
    if inbox == "addressee":
        access = access or access_for(ctx, actor, today)
        named = _refused_outright(access.rules)
        if named is not None:  # the coordinating unit's token does not lift a refusal
            return Decision("deny", "none", None, access.reasons)
        text = "a notification addressed to the actor's coordinating unit"
        return Decision("permit", "owner", resource, (Reason(text),))
    if inbox == "hidden":
        text = "a notification from another organisation: its addressee's coordinating unit only"
        return Decision("deny", "none", None, (Reason(text),))
    access = access or access_for(ctx, actor, today)
    if access.basis in ("owner", "coordinator"):
        return Decision("permit", access.basis, resource, access.reasons)
    if access.basis == "none":
        return Decision("deny", "none", None, access.reasons)
    if rtype in _PRIVILEGED_ONLY:
        why = Reason(f"{rtype} is shown to the plan's owner and coordinator only")
        return Decision("deny", "consent", None, (why,))
    return _by_consent(ctx, access, resource, _refused_relatives(ctx, actor, today, rtype))


def _revoked(resource: Resource) -> bool:
    labels = (resource.get("meta") or {}).get("security")
    return any(
        isinstance(label, Mapping)
        and (label.get("system"), label.get("code"))
        == (REVOKED_LABEL["system"], REVOKED_LABEL["code"])
        for label in (labels if isinstance(labels, list) else ())
    )


def _refused_relatives(ctx: PlanContext, actor: Actor, today: str, rtype: str) -> frozenset[str]:
    """``RelatedPerson/id`` of the relatives the person refused outright (a named deny without
    topic or data period in a sharing Consent in force); only CareTeam and RelatedPerson
    decisions need them."""
    if rtype not in ("CareTeam", "RelatedPerson"):
        return frozenset()
    sharing = ctx.of_type("Consent")
    named = {
        ref.split("/_history/")[0]
        for consent in sharing
        for ref in references_in(consent.get("provision"))
        if ref.startswith("RelatedPerson/")
    }
    anyone = Actor(purpose=actor.purpose)
    return frozenset(
        ref
        for ref in named
        if any(
            r.effect == "deny"
            and r.names_actor
            and r.labels is None
            and r.data_period is None
            and r.sources is None
            for r in rules_for(sharing, anyone, {ref}, today)
        )
    )


def _by_consent(
    ctx: PlanContext, access: Access, resource: Resource, refused: frozenset[str]
) -> Decision:
    allowed, rule = access.judge(resource_labels(resource), resource_date(resource))
    if not allowed:
        return Decision("deny", "consent", None, (Reason.of(_why(rule), rule),))
    assert rule is not None
    reasons = (Reason.of("permitted by the sharing consent", rule),)
    rtype = resource.get("resourceType")
    if rtype == "CarePlan":
        out, removed = _strip_care_plan(ctx, access, resource)
    elif rtype == "CareTeam":
        out, removed = strip_participants(resource, _participant(ctx, access, refused))
    elif rtype in WORK_TYPES:
        out, removed = strip_work_references(resource, _hidden_reference(ctx, access))
    elif rtype == "RelatedPerson":
        why = _relative_hidden(ctx, access, ref_of(resource), refused)
        if why is not None:
            return Decision("deny", "consent", None, (Reason(why),))
        out, removed = strip_identifiers(resource)
    else:
        out, removed = resource, []
    # free text in labelled parts, wherever it is (situation, cooperation, contributions)
    out, removed = strip_free_text(resource, out, removed, _labelled(access, lambda _e: None))
    if not removed:
        return Decision("permit", "consent", resource, reasons, (), (rule.consent,))
    redacted = mark_redacted(out)
    return Decision("redact", "consent", redacted, reasons, tuple(removed), (rule.consent,))


def _participant(ctx: PlanContext, access: Access, refused: frozenset[str]) -> Keep:
    """A CareTeam participant stays unless labelled with a refused topic or a refused relative
    (or the information comes from an environment the person refused, by its member)."""
    labelled = _labelled(access, lambda _e: None, ctx)

    def keep(element: Mapping[str, Any], path: str) -> str | None:
        why = labelled(element, path)
        member = str((element.get("member") or {}).get("reference", "")).split("/_history/")[0]
        if why is None and member in refused:
            return "a relative the person refused"
        return why

    return keep


def _relative_hidden(
    ctx: PlanContext, access: Access, ref: str, refused: frozenset[str]
) -> str | None:
    """Why a recipient may not see the relative ``ref`` (None: they may)."""
    if ref in refused:
        return "the person refused this relative (shown to the owner and coordinator only)"
    keep = _participant(ctx, access, refused)
    for team in ctx.of_type("CareTeam"):
        for index, part in enumerate(team.get("participant", [])):
            member = str((part.get("member") or {}).get("reference", "")).split("/_history/")[0]
            if member == ref and keep(part, f"CareTeam.participant[{index}]") is None:
                return None
    return "a relative outside the care team is shown to the owner and coordinator only"


def _labelled(
    access: Access,
    date_of: Callable[[Mapping[str, Any]], str | None],
    ctx: PlanContext | None = None,
) -> Keep:
    """Judge of an element by its ip-security-label topics, its date and (with ``ctx``) the
    environments it comes from (None: keep it)."""

    def keep(element: Mapping[str, Any], _path: str) -> str | None:
        sources = element_sources(element, ctx.get) if ctx is not None else frozenset()
        ok, why = access.judge(element_labels(element), date_of(element), sources)
        return None if ok else _why(why)

    return keep


def _hidden_reference(ctx: PlanContext, access: Access) -> Callable[[str], str | None]:
    """Why a recipient may not see what ``ref`` points at (None: it may): a Consent, or a
    Goal on a refused topic, outside a data period, or outside the plan."""

    def reference(ref: str) -> str | None:
        ref = ref.split("/_history/")[0]
        if ref.startswith("Consent/"):
            return "Consent resources are shown to the owner and coordinator only"
        if not ref.startswith("Goal/"):
            return None
        goal = ctx.get(ref)
        if goal is None:
            return "reference to a goal outside the plan"
        ok, why = access.judge(resource_labels(goal), resource_date(goal))
        return None if ok else _why(why)

    return reference


def _strip_care_plan(
    ctx: PlanContext, access: Access, resource: Resource
) -> tuple[Resource, list[Removal]]:
    activity = _labelled(access, activity_date, ctx)
    item = _labelled(access, lambda _e: None)
    return strip_elements(resource, activity, item, _hidden_reference(ctx, access))


def _why(rule: Rule | None) -> str:
    if rule is None:
        return "no provision permits it (deny by default)"
    where = f"{rule.consent} {rule.path}"
    if rule.limits:
        return f"a topic outside those permitted to this recipient by {where}"
    if rule.sources is not None:
        return f"information from a refused environment by {where}"
    if rule.labels is not None:
        topics = ", ".join(sorted(code for _s, code in rule.labels))
        return f"refused topic ({topics}) by {where}"
    if rule.data_period is not None:
        return f"outside the consented data period by {where}"
    return f"denied by {where}"


class ConsentRules:
    """The rules above as the enforcement point's :class:`~adapter.ports.DisclosurePolicy`
    (``Enforcement.policy``; the one the server uses)."""

    def access_for(self, ctx: PlanContext, actor: Actor, today: str) -> Access:
        return access_for(ctx, actor, today)

    def decide(
        self,
        ctx: PlanContext | None,
        actor: Actor,
        resource: Resource,
        today: str,
        access: Access | None = None,
    ) -> Decision:
        return decide(ctx, actor, resource, today, access)


Policy = DisclosurePolicy[PlanContext, Access, Decision]  # what the enforcement point applies
