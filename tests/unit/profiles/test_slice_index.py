"""The slice index (one value discriminator, every slice fixing a string there: extensions by url)
finds, for every item, the slice that trying each slice in turn finds.

Every sliced element of every profile the validator ships is looked at; where the index applies,
each item is matched both ways: the items the fixture Bundles hold there, and made-up ones (each
slice's own value, two of them at once, none, another JSON type, an unknown value).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

from ipfhir.profiles.validator import Validator
from ipfhir.profiles.validator.engine import Engine
from ipfhir.profiles.validator.fhirpath import Env
from ipfhir.profiles.validator.model import Node
from ipfhir.profiles.validator.slicing import _expected_at, _first_slice, _string_index
from ipfhir.profiles.validator.walker import Walker
from tests.unit.profiles.reference import REPO


def _sliced(root: Node) -> Iterator[Node]:
    todo, seen = [root], set()
    while todo:
        node = todo.pop()
        if id(node) in seen:
            continue
        seen.add(id(node))
        if node.slices:
            yield node
        todo += [*(node.children or {}).values(), *node.slices, *node.type_slices.values()]


def _fixture_values() -> list[Any]:
    """Every object in the fixture Bundles (candidate slice items of any element)."""
    found: list[Any] = []
    todo: list[Any] = [
        json.loads(p.read_bytes()) for p in sorted((REPO / "fixtures" / "bundles").glob("*.json"))
    ]
    while todo:
        item = todo.pop()
        if isinstance(item, dict):
            found.append(item)
            todo.extend(item.values())
        elif isinstance(item, list):
            todo.extend(item)
    return found


def _made_up(owner: Node, walker: Walker) -> list[Any]:
    path = owner.discriminators[0].path
    wants = [e[0] for s in owner.slices if (e := _expected_at(walker, s, path)) is not None]
    items: list[Any] = [{}, {path: None}, {path: 1}, {path: {"a": "b"}}, {path: "ukjent-å"}]
    items += [{path: w} for w in wants]
    items += [{path: [w, wants[0]]} for w in reversed(wants)]  # two values: the earlier slice
    items += [{path: [1, w]} for w in wants]
    return items


def test_the_index_finds_the_slice_trying_each_finds() -> None:
    validator = Validator()
    engine: Engine = validator.engine
    walker = Walker(engine, Env({}, {}))
    urls = sorted(engine.registry.urls("StructureDefinition"))
    fixture_values = _fixture_values()
    indexed = compared = 0
    for url in urls:
        root = engine.compiled(url)
        if root is None:
            continue
        for owner in _sliced(root):
            index = _string_index(walker, owner)
            if index is None:
                continue
            indexed += 1
            for item in _made_up(owner, walker) + fixture_values:
                fast = _first_slice(walker, owner, item, index)
                slow = _first_slice(walker, owner, item, None)
                assert fast is slow, (url, owner.path, item)
                compared += 1
    assert indexed >= 20
    assert compared >= 10_000
