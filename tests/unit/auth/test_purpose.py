"""A token's purpose of use must be one the server serves (care purposes by default); a token
without the claim acts for the configured default purpose, or is refused when there is none."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from ipfhir.adapter.auth.tokens import CLAIM_ORG, PurposePolicy, actor_from_claims
from ipfhir.adapter.security_errors import Forbidden
from ipfhir.adapter.settings import Settings

CLAIMS = {CLAIM_ORG: "974703300"}


@pytest.mark.parametrize("purpose", ["TREAT", "ETREAT", "COC", "CAREMGT"])
def test_care_purposes_are_served(purpose: str) -> None:
    assert actor_from_claims({**CLAIMS, "purpose_of_use": purpose}).purpose == purpose


@pytest.mark.parametrize("purpose", ["HMARKT", "HRESCH", "treat", ["TREAT", "HMARKT"]])
def test_other_purposes_are_refused(purpose: object) -> None:
    with pytest.raises(Forbidden) as err:
        actor_from_claims({**CLAIMS, "purpose_of_use": purpose})
    assert err.value.issues[0].message_id == "IP-5107"


def test_no_claim_is_the_default_purpose_or_refused_without_one() -> None:
    assert actor_from_claims(CLAIMS).purpose == "COC"
    strict = PurposePolicy.of(["TREAT"], "")
    with pytest.raises(Forbidden) as err:
        actor_from_claims(CLAIMS, strict)
    assert err.value.issues[0].message_id == "IP-5111"
    assert actor_from_claims({**CLAIMS, "purpose_of_use": "TREAT"}, strict).purpose == "TREAT"
    with pytest.raises(Forbidden):
        actor_from_claims({**CLAIMS, "purpose_of_use": "COC"}, strict)


def test_settings_default_purpose_must_be_allowed() -> None:
    assert Settings().auth_purposes == ("TREAT", "ETREAT", "COC", "CAREMGT")
    with pytest.raises(ValidationError):
        Settings(auth_purposes=("TREAT",), auth_default_purpose="COC")
    assert Settings(auth_purposes=("TREAT",), auth_default_purpose="").auth_default_purpose == ""
