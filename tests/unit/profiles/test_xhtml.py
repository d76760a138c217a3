"""Narrative checks: the quick look (a text scan for forbidden start tags, an XPath for event
attributes) that lets most narratives skip the element-by-element look never lets active
content through, and messages name the first problem in the document."""

from __future__ import annotations

import json

import pytest
from lxml import etree  # type: ignore[import-untyped]

from ipfhir.profiles.validator import xhtml
from ipfhir.profiles.validator.xhtml import xhtml_problem
from tests.unit.profiles.reference import reference_dir

NS = 'xmlns="http://www.w3.org/1999/xhtml"'


def _element_by_element(div: str) -> str | None:
    """The check without the quick look: every element and attribute looked at."""
    try:
        root = etree.fromstring(div.encode("utf-8"), xhtml._PARSER)
    except etree.XMLSyntaxError as err:
        return f"not well-formed XML ({err.msg})"
    if root.tag != f"{{{xhtml._XHTML}}}div":
        return "the root must be a <div> in the XHTML namespace"
    for element in root.iter():
        if not isinstance(element.tag, str):
            continue
        local = element.tag.rpartition("}")[2]
        if local in xhtml._FORBIDDEN:
            return f"element <{local}> is not allowed in narrative"
        for name in element.attrib:
            if name.rpartition("}")[2].lower().startswith("on"):
                return f"event attribute '{name}' is not allowed in narrative"
    return None


CASES = [
    f"<div {NS}><p>Plan on Monday, one goal</p></div>",
    f"<div {NS}><script>alert(1)</script></div>",
    f'<div {NS} xmlns:x="urn:x"><x:script/></div>',
    f'<div {NS}><p xmlns="">x</p><form xmlns=""/></div>',
    f'<div {NS}><b ONclick="x">y</b></div>',
    f'<div {NS}><b\tonmouseover\n=\n"x">y</b></div>',
    f'<div {NS} xmlns:x="urn:x"><b x:onLoad="x">y</b></div>',
    f'<div {NS}><b title="x" onclick="1" onload="2"><i onfocus="3"/></b></div>',
    f'<div {NS}><i onfocus="3"/><script/></div>',
    f'<div {NS}><script onload="1"/></div>',
    f'<div {NS}><b one="1" ontology="2">x</b></div>',
    f"<div {NS}><!-- <script> --><p>x</p></div>",
    f"<div {NS}><![CDATA[<script>]]></div>",
    f"<div {NS}><p>a <b>formula</b> on=</p></div>",
    f'<div {NS}><frameset/><iframe src="x"/></div>',
    f'<div {NS}><img src="x" alt="on=1"/></div>',
    f'<div {NS}><p xmlns:o="urn:o" o:Onset="1" lang="no">x</p></div>',
    f'<div {NS}><p data-x="1" ON="2">x</p></div>',
    f'<!DOCTYPE div [<!ENTITY s "<script/>">]><div {NS}>&s;</div>',
    f"<p {NS}>x</p>",
    "<div>no namespace</div>",
    f"<div {NS}><p>unclosed</div>",
]


@pytest.mark.parametrize("div", CASES)
def test_answers_as_the_element_by_element_check(div: str) -> None:
    assert xhtml_problem(div) == _element_by_element(div)


def test_active_content_is_found() -> None:
    assert all(xhtml_problem(div) is not None for div in CASES[1:11])
    assert xhtml_problem(CASES[0]) is None
    assert xhtml_problem(CASES[8]) == "event attribute 'onfocus' is not allowed in narrative"
    assert xhtml_problem(CASES[7]) == "event attribute 'onclick' is not allowed in narrative"


def test_every_r4_example_narrative_answers_as_before() -> None:
    divs = []
    for path in sorted(reference_dir("r4-examples", "json").glob("*.json")):
        text = json.loads(path.read_bytes()).get("text")
        if isinstance(text, dict) and isinstance(text.get("div"), str):
            divs.append(text["div"])
    assert len(divs) > 50
    assert [xhtml_problem(d) for d in divs] == [_element_by_element(d) for d in divs]
