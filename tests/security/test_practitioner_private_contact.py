"""A Practitioner is directory data, open to every caller with the scope — but its private
contact (telecom other than ``work``/no use, and ``address``) is the person's own and is shown
to the practitioner only (adapter/consent/private_contact.py, docs/threat-model.md): a read,
search, ``_include`` or history answers with those elements removed, whoever asks, and a
write-back by someone who was shown it without them keeps them."""

from __future__ import annotations

import pytest

from tests.security.conftest import SecureWorld

PRIVATE_PHONE = "+47 999 11 222"
PRIVATE_MOBILE = "+47 999 33 444"
HOME = "Tåkeheimveien 7"
WORK_PHONE = "+47 67 50 00 00"
JSON = {"Content-Type": "application/fhir+json"}
READS = [
    "/Practitioner/ip1-koord",
    "/Practitioner?_id=ip1-koord",
    "/PractitionerRole?_id=ip1-koord-role&_include=PractitionerRole:practitioner",
    "/Practitioner/ip1-koord/_history",
]


def _private(world: SecureWorld) -> None:
    repo = world.wiring.repository
    practitioner = repo.read("Practitioner", "ip1-koord")
    practitioner["telecom"] = [
        {"system": "phone", "value": PRIVATE_PHONE, "use": "home"},
        {"system": "phone", "value": PRIVATE_MOBILE, "use": "mobile"},
        {"system": "phone", "value": WORK_PHONE, "use": "work"},
    ]
    practitioner["address"] = [{"use": "home", "line": [HOME], "city": "Bærum"}]
    repo.update("Practitioner", "ip1-koord", practitioner)


@pytest.mark.parametrize("actor", ["outsider", "recipient", "refused_org", "owner", "colleague"])
def test_nobody_but_the_practitioner_sees_its_private_contact(
    sqlite_world: SecureWorld, actor: str
) -> None:
    _private(sqlite_world)
    for path in READS:
        got = sqlite_world.client.get(path, headers=sqlite_world.as_(actor))
        assert got.status_code == 200, (path, got.text)
        assert PRIVATE_PHONE not in got.text and PRIVATE_MOBILE not in got.text, path
        assert HOME not in got.text, path
    shown = sqlite_world.client.get(READS[0], headers=sqlite_world.as_(actor)).json()
    assert shown["telecom"] == [{"system": "phone", "value": WORK_PHONE, "use": "work"}]
    assert "address" not in shown
    assert any(s.get("code") == "REDACTED" for s in shown["meta"]["security"])


def test_the_practitioner_sees_its_own_and_a_write_back_keeps_it(
    sqlite_world: SecureWorld,
) -> None:
    _private(sqlite_world)
    own = sqlite_world.client.get(READS[0], headers=sqlite_world.as_("coordinator")).json()
    assert {t["value"] for t in own["telecom"]} == {PRIVATE_PHONE, PRIVATE_MOBILE, WORK_PHONE}
    owner = sqlite_world.as_("owner")
    shown = sqlite_world.client.get(READS[0], headers=owner).json()
    shown.pop("meta")
    shown["name"] = [{"family": "Sørli", "given": ["Åse", "Marit"]}]
    put = sqlite_world.client.put(READS[0], json=shown, headers={**owner, **JSON})
    assert put.status_code == 200, put.text
    stored = sqlite_world.wiring.repository.read("Practitioner", "ip1-koord")
    assert stored["name"][0]["given"] == ["Åse", "Marit"]
    assert {t["value"] for t in stored["telecom"]} == {PRIVATE_PHONE, PRIVATE_MOBILE, WORK_PHONE}
    assert stored["address"][0]["line"] == [HOME]
