"""What the checks of one run share: the clients of the two actors, the CapabilityStatement (read
once), and the synthetic plans the kit uploaded (one per purpose, created on first use).

Writing is announced before the first byte is sent (``announce``), and only synthetic persons
are ever written (:mod:`ipfhir.conformance.synthetic`).
"""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

from ipfhir.conformance.checks import Evidence, Fail, Skip
from ipfhir.conformance.http import Client
from ipfhir.conformance.synthetic import SyntheticPlan, synthetic_plan

__all__ = ["CLAIM_HPR", "CLAIM_ORG", "Context", "claims_of"]

# HelseID claim names (the kit reads them, unverified, only to learn whom a token speaks for).
CLAIM_ORG = "helseid://claims/client/claims/orgnr_child"
CLAIM_ORG_PARENT = "helseid://claims/client/claims/orgnr_parent"
CLAIM_HPR = "helseid://claims/hpr/hpr_number"


def claims_of(token: str | None) -> dict[str, Any]:
    """The payload of a JWT, not verified (empty when the token is not a JWT)."""
    if not token or token.count(".") != 2:
        return {}
    payload = token.split(".")[1]
    try:
        value = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


def _org_of(token: str | None) -> str | None:
    claims = claims_of(token)
    org = claims.get(CLAIM_ORG) or claims.get(CLAIM_ORG_PARENT)
    return org if isinstance(org, str) else None


@dataclass
class Context:
    main: Client
    second: Client | None = None
    anonymous: Client | None = None
    read_only: bool = False
    oversize_mb: float = 12.0
    owner_org: str | None = None
    second_org: str | None = None
    announce: Callable[[str], None] = lambda _text: None
    written: list[str] = field(default_factory=list)  # what the kit wrote (for the report)
    _capability: dict[str, Any] | None = None
    _plans: dict[str, SyntheticPlan] = field(default_factory=dict)
    _refused: dict[str, str] = field(default_factory=dict)  # purpose -> why the upload failed
    _announced: bool = False

    def __post_init__(self) -> None:
        self.owner_org = self.owner_org or _org_of(self.main.token)
        if self.second is not None:
            self.second_org = self.second_org or _org_of(self.second.token)
        if self.anonymous is None:
            self.anonymous = Client(self.main.base, None, self.main.timeout, "anonymous")

    def clients(self) -> list[Client]:
        return [c for c in (self.main, self.second, self.anonymous) if c is not None]

    def take_evidence(self) -> list[Evidence]:
        """The exchanges made since the last call, in order (all actors)."""
        out: list[Evidence] = []
        for client in self.clients():
            out += client.evidence
            client.evidence = []
        return out

    def capability(self) -> dict[str, Any]:
        """The CapabilityStatement (``GET /metadata``), read once; Fail when there is none."""
        if self._capability is None:
            answer = self.main.get("metadata", note="the CapabilityStatement")
            body = answer.maybe_json() if answer.status == 200 else None
            if not body or body.get("resourceType") != "CapabilityStatement":
                raise Fail(f"GET /metadata answered {answer.status} without a CapabilityStatement")
            self._capability = body
        return self._capability

    def resource_capability(self, rtype: str) -> dict[str, Any]:
        for rest in self.capability().get("rest") or []:
            for res in rest.get("resource") or []:
                if isinstance(res, dict) and res.get("type") == rtype:
                    return res
        return {}

    def need_writes(self) -> None:
        if self.read_only:
            raise Skip("writes data; not run with --read-only")
        if not self._announced:
            self._announced = True
            self.announce(
                f"writing synthetic test data to {self.main.base}: synthetic persons only "
                "(fødselsnummer with month + 80, valid checksum), plan ids ipkit-…"
            )

    def plan(self, purpose: str, second_as: Literal["permit", "deny"] = "permit") -> SyntheticPlan:
        """The synthetic plan for ``purpose``, uploaded as a transaction on first use."""
        if purpose in self._plans:
            return self._plans[purpose]
        if purpose in self._refused:  # uploaded once only: a refusal is not retried
            raise Fail(self._refused[purpose])
        self.need_writes()
        if not self.owner_org:
            raise Skip(
                "cannot tell which organisation the token speaks for (no HelseID orgnr claim); "
                "give --org ORGNR"
            )
        plan = synthetic_plan(self.owner_org, self.second_org, second_as)
        answer = self.main.request(
            "POST", "", body=plan.bundle(), note=f"upload the synthetic plan ({purpose})"
        )
        if answer.status not in (200, 201):
            self._refused[purpose] = (
                f"the server refused the kit's synthetic plan ({purpose}: a transaction Bundle "
                f"of {len(plan.bundle()['entry'])} entries) with {answer.status}; the checks "
                "that need it cannot run"
            )
            raise Fail(self._refused[purpose])
        self.written.append(
            f"{purpose}: Patient/{plan.patient_id} (synthetic {plan.fnr}), "
            f"CarePlan/{plan.care_plan_id}"
        )
        self._plans[purpose] = plan
        return plan

    def need_second(self) -> Client:
        if self.second is None:
            raise Skip("needs a second actor: give --second-token")
        if not self.second_org:
            raise Skip(
                "cannot tell which organisation the second token speaks for; give --second-org"
            )
        return self.second
