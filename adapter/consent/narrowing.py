"""Has a change to a sharing Consent taken away what it gave? (pure: no I/O, ``today`` given)

A revocation notice goes to every organisation that received data under a Consent when the
person withdraws or narrows it (:mod:`adapter.services.revoke`). :func:`narrowing` compares the
version before the change with the version after it and names each way the new one gives less:

- **withdrawn**: the Consent was in force and is no more — status no longer ``active``
  (inactive, rejected, entered-in-error), the ``ip-consent-revoked`` extension dated today or
  earlier, the base provision no longer a permit, or the Consent deleted;
- **period shortened**: ``provision.period`` ends earlier (or now ends) or starts later;
- **permit narrowed**: a permit provision of the old version has no counterpart in the new one
  giving at least as much — removed, an actor removed from it, a topic (``securityLabel``)
  taken from it, or any other element of it changed (read as a narrowing: when in doubt, tell);
- **deny added**: a deny provision of the new version has no counterpart in the old one
  refusing at least as much — a refused topic, individual or environment added after the fact.

A counterpart is compared without position (a provision moved in the list is the same) and
without its nested provisions (each of those is compared on its own). That structural reading
alone misses what the position of a provision decides (the deepest rule decides, at equal depth
deny beats permit, an AUT actor limits a permit to items from that source), so the decision
itself is compared too (:func:`lost`): the real policy code (:func:`rules_for`, :func:`judge`,
the same enforcement uses) is asked, for old and new, about every recipient named in either
version (alone, in pairs, and "anyone"), every purpose named (and none), every topic of
``ip-information-topic`` and any other label named (and no label), every source environment
named (and none), and the dates around every ``dataPeriod`` (and no date); anything permitted
before and refused after is a **permit narrowed**. A consent that was not
in force before gives nothing to take away: no notice (data shared under it while it was in
force was told when it stopped: expiry is not a change and tells nobody, a known limit).
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator, Mapping, Sequence
from itertools import combinations
from typing import Any

from ipfhir.adapter.consent.provisions import (
    Label,
    Rule,
    consent_in_force,
    is_sharing_consent,
    judge,
    rules_for,
)
from ipfhir.adapter.ports import Actor
from ipfhir.mappings.codes import INFORMATION_TOPIC, cs_url

__all__ = ["lost", "narrowing"]

Resource = Mapping[str, Any]
_WIDER_IF_MORE = ("actor", "securityLabel")  # a permit giving more of these gives more


def narrowing(old: Resource | None, new: Resource | None, today: str) -> tuple[str, ...]:
    """The ways ``new`` (``None``: deleted) gives less than ``old``; ``()`` when it does not."""
    if old is None or not is_sharing_consent(old) or consent_in_force(old, today) is not None:
        return ()
    if new is None:
        return ("withdrawn: the consent was deleted",)
    stopped = consent_in_force(new, today)
    if stopped is not None or not is_sharing_consent(new):
        return (f"withdrawn: {stopped or 'no longer a sharing consent'}",)
    found: list[str] = []
    if _shortened(old["provision"].get("period"), new["provision"].get("period")):
        found.append("period shortened")
    old_nodes, new_nodes = list(_nodes(old["provision"])), list(_nodes(new["provision"]))
    permits = [n for n in new_nodes if n.get("type") != "deny"]
    denies = [n for n in old_nodes if n.get("type") == "deny"]
    for node in old_nodes:
        if node.get("type") != "deny" and not any(_gives_as_much(q, node) for q in permits):
            found.append("permit narrowed")
            break
    for node in new_nodes:
        if node.get("type") == "deny" and not any(_gives_as_much(q, node) for q in denies):
            found.append("deny added")
            break
    if not found and lost([old], [new], today):
        found.append("permit narrowed")
    return tuple(found)


_ANYONE = "Organization/~anyone"  # a recipient no version names
_TOPICS = cs_url("ip-information-topic")


def lost(old: Sequence[Resource], new: Sequence[Resource], today: str) -> bool:
    """Does the policy refuse under the Consents ``new`` anything it permits under ``old``
    (each list: every Consent of one person, combined as enforcement combines them)? Asked of
    the decision code itself over every recipient, purpose, topic, source and date the two
    versions name (see the module doc)."""
    nodes = [
        n
        for c in (*old, *new)
        if isinstance(c.get("provision"), Mapping)
        for n in _tree(c["provision"])
    ]
    recipients = sorted({r for n in nodes for r in _refs(n, source=False)})
    who = [frozenset({r}) for r in recipients] + [frozenset(p) for p in combinations(recipients, 2)]
    who.append(frozenset({_ANYONE}))
    purposes: list[str | None] = [None] + sorted(
        {
            str(p.get("code"))
            for n in nodes
            for p in n.get("purpose") or ()
            if isinstance(p, Mapping)
        }
    )
    labels: list[frozenset[Label]] = [frozenset()] + [
        frozenset({label})
        for label in sorted(
            {(_TOPICS, code) for code in INFORMATION_TOPIC}
            | {
                (str(lab.get("system")), str(lab.get("code")))
                for n in nodes
                for lab in n.get("securityLabel") or ()
                if isinstance(lab, Mapping)
            }
        )
    ]
    sources: list[frozenset[str]] = [frozenset()] + [
        frozenset({s}) for s in sorted({s for n in nodes for s in _refs(n, source=True)})
    ]
    dates = _dates(nodes)
    old_list, new_list = [dict(c) for c in old], [dict(c) for c in new]
    judged: set[tuple[tuple[Any, ...], tuple[Any, ...]]] = set()
    for refs in who:
        for purpose in purposes:
            actor = Actor(purpose=purpose)
            before = rules_for(old_list, actor, set(refs), today)
            if not before:
                continue
            after = rules_for(new_list, actor, set(refs), today)
            pair = (_decides(before), _decides(after))
            if pair[0] == pair[1] or pair in judged:
                continue  # the same rules decide alike (where they sit aside)
            judged.add(pair)
            for label in labels:
                for date in dates:
                    for source in sources:
                        if (
                            judge(before, label, date, source)[0]
                            and not judge(after, label, date, source)[0]
                        ):
                            return True
    return False


def _decides(rules: list[Rule]) -> tuple[Any, ...]:
    """What :func:`judge` reads of ``rules``: all but which Consent and path they come from."""
    return tuple(
        sorted(
            (
                (
                    r.effect,
                    r.depth,
                    tuple(sorted(r.labels)) if r.labels is not None else None,
                    r.data_period,
                    r.names_actor,
                    tuple(sorted(r.sources)) if r.sources is not None else None,
                )
                for r in rules
            ),
            key=repr,
        )
    )


def _tree(provision: Mapping[str, Any]) -> Iterator[Mapping[str, Any]]:
    yield provision
    for child in provision.get("provision") or ():
        if isinstance(child, Mapping):
            yield from _tree(child)


def _refs(node: Mapping[str, Any], source: bool) -> set[str]:
    """The recipients (``source`` False) or source environments (role AUT) a node names, as
    :mod:`adapter.consent.provisions` reads them."""
    out: set[str] = set()
    for actor in node.get("actor") or ():
        if not isinstance(actor, Mapping):
            continue
        role, ref = actor.get("role"), actor.get("reference")
        role = role if isinstance(role, Mapping) else {}
        ref = ref if isinstance(ref, Mapping) else {}
        codes = {str(c.get("code")) for c in role.get("coding") or () if isinstance(c, Mapping)}
        if ("AUT" in codes) == source:
            out.add(str(ref.get("reference", "")).split("/_history/")[0])
    return out


def _dates(nodes: list[Mapping[str, Any]]) -> list[str | None]:
    """No date, and a day before, on and after every ``dataPeriod`` bound."""
    found: set[str] = set()
    for node in nodes:
        period = node.get("dataPeriod")
        if not isinstance(period, Mapping):
            continue
        for key in ("start", "end"):
            text = str(period.get(key, ""))[:10]
            try:
                day = dt.date.fromisoformat(text)
            except ValueError:
                continue
            for delta in (-1, 0, 1):
                found.add((day + dt.timedelta(days=delta)).isoformat())
    if not found:
        found.add("2000-01-01")
    return [None, *sorted(found)]


def _nodes(provision: Mapping[str, Any], top: bool = True) -> Iterator[dict[str, Any]]:
    """Every provision of the tree without its children (the base provision's period is
    compared on its own, by :func:`_shortened`)."""
    node = {k: v for k, v in provision.items() if k != "provision" and not (top and k == "period")}
    yield node
    for child in provision.get("provision") or ():
        if isinstance(child, Mapping):
            yield from _nodes(child, top=False)


def _canon(items: Any) -> set[str]:
    return {json.dumps(i, sort_keys=True) for i in items or ()}


def _gives_as_much(wider: Mapping[str, Any], narrower: Mapping[str, Any]) -> bool:
    """Does provision ``wider`` give (a permit) or refuse (a deny) at least what ``narrower``
    does? Equal but for more actors and, where both name topics, more topics (a permit naming
    topics is a limit: its recipient gets only those; one naming none is about everything, never
    the counterpart of one naming some)."""
    rest = set(wider) | set(narrower)
    if any(wider.get(k) != narrower.get(k) for k in rest - set(_WIDER_IF_MORE)):
        return False
    actors_wide, actors_narrow = _canon(wider.get("actor")), _canon(narrower.get("actor"))
    if not actors_narrow <= actors_wide or (actors_wide and not actors_narrow):
        return False  # no actors: its parent's, which more named actors may not cover
    topics_wide, topics_narrow = wider.get("securityLabel"), narrower.get("securityLabel")
    if not topics_narrow or not topics_wide:  # about every topic, or (a limit) some only
        return not topics_narrow and not topics_wide
    return _canon(topics_narrow) <= _canon(topics_wide)


def _shortened(old: Mapping[str, Any] | None, new: Mapping[str, Any] | None) -> bool:
    old, new = old or {}, new or {}
    old_end, new_end = str(old.get("end", ""))[:10], str(new.get("end", ""))[:10]
    old_start, new_start = str(old.get("start", ""))[:10], str(new.get("start", ""))[:10]
    ends_earlier = bool(new_end) and (not old_end or new_end < old_end)
    starts_later = bool(new_start) and (not old_start or new_start > old_start)
    return ends_earlier or starts_later
