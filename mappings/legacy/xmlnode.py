"""A frozen copy of an XML element, for parts kept as sent (markup in ``anyType`` text, a
signature, OtherReceiver): tag and attribute names in Clark notation (``{ns}local``)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from lxml import etree  # type: ignore[import-untyped]  # no stubs installed

__all__ = ["Node", "append_node", "node_of"]


@dataclass(frozen=True)
class Node:
    tag: str
    attributes: tuple[tuple[str, str], ...] = ()
    text: str | None = None
    children: tuple[Node, ...] = ()
    tail: str | None = None

    @property
    def plain(self) -> str:
        return (self.text or "") + "".join(c.plain for c in self.children) + (self.tail or "")


def node_of(element: Any, *, with_tail: bool = True) -> Node:
    return Node(
        tag=element.tag,
        attributes=tuple(sorted(element.attrib.items())),
        text=element.text,
        children=tuple(node_of(c) for c in element),
        tail=element.tail if with_tail else None,
    )


def append_node(parent: Any, node: Node) -> Any:
    element = etree.SubElement(parent, node.tag, dict(node.attributes))
    element.text = node.text
    element.tail = node.tail
    for child in node.children:
        append_node(element, child)
    return element
