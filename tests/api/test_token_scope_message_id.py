"""The token endpoint names IP-6033 when an authenticated organisation asks for more than
reading (the message id no test named before, tests/unit/test_message_ids.py)."""

from __future__ import annotations

from tests.api.test_token_endpoint import World, ask, claims, form
from tests.api.test_token_endpoint import world as world  # noqa: F401  (the fixture)


def test_a_write_scope_is_refused_with_ip_6033(world: World) -> None:  # noqa: F811
    answer = ask(world.client, form(world.key.sign(claims()), scope="system/Patient.write"))
    assert answer.status_code == 400
    body = answer.json()
    assert body["error"] == "invalid_scope"
    assert body["error_description"].startswith("IP-6033: ")
