"""The adversarial world is what its docstring says (a baseline the attack tests build on)."""

from __future__ import annotations

from tests.security.conftest import ACTORS, SecureWorld


def _goal_ids(world: SecureWorld, actor: str) -> set[str]:
    found = world.client.get("/Goal?patient=Patient/ip1-pt", headers=world.as_(actor))
    assert found.status_code == 200, found.text
    return {e["resource"]["id"] for e in found.json().get("entry", [])}


def test_every_actor_gets_what_the_person_consented_to(world: SecureWorld) -> None:
    seen = {actor: _goal_ids(world, actor) for actor in ACTORS}
    everything = {"ip1-g1", "ip1-g2", "ip1-g3"}
    assert seen["owner"] == seen["coordinator"] == everything
    assert seen["recipient"] == seen["teacher"] == {"ip1-g1", "ip1-g3"}  # «rus» refused
    for refused in ("refused_org", "refused_individual", "ex_coordinator", "outsider", "colleague"):
        assert seen[refused] == set(), refused
