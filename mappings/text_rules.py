"""The plan's free texts and the rules on their labelled parts (IP-1040 for an unknown topic).

Free text — the situation, each cooperation's description, the person's and each party's
contribution, the consents' remarks — is plain text or labelled parts
(:class:`~mappings.model.TextPart`); a part's topics are what a refusal reaches.
"""

from __future__ import annotations

from collections.abc import Iterator

from ipfhir.mappings import codes
from ipfhir.mappings.errors import Issue
from ipfhir.mappings.model import FreeText, Plan

__all__ = ["free_texts", "text_topic_issues"]


def free_texts(plan: Plan) -> Iterator[tuple[str, FreeText]]:
    """(plan-JSON path, text) of every free text in the plan."""
    if plan.situation is not None:
        yield "situation", plan.situation
    if plan.person_contribution is not None:
        yield "person_contribution", plan.person_contribution
    for i, party in enumerate(plan.parties):
        if party.contribution is not None:
            yield f"parties[{i}].contribution", party.contribution
    for i, co in enumerate(plan.cooperation):
        yield f"cooperation[{i}].description", co.description
    for name, consent in (
        ("plan_consent", plan.plan_consent),
        ("sharing_consent", plan.sharing_consent),
    ):
        if consent is not None and consent.remarks is not None:
            yield f"{name}.remarks", consent.remarks


def text_topic_issues(plan: Plan) -> Iterator[Issue]:
    """IP-1040 for every part topic outside ip-information-topic."""
    for path, text in free_texts(plan):
        if isinstance(text, str):
            continue
        for i, part in enumerate(text):
            for j, topic in enumerate(part.topics):
                if topic not in codes.INFORMATION_TOPIC:
                    yield Issue(
                        "IP-1040",
                        f"A code is not in its code system. '{topic}'",
                        (f"{path}[{i}].topics[{j}]",),
                        "code-invalid",
                    )
