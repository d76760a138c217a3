"""report.html shows what the server sent without letting it act: every byte of an answer is
escaped, and the page loads nothing from anywhere."""

from __future__ import annotations

import datetime as dt

from ipfhir.conformance.checks import Evidence, Result, all_checks
from ipfhir.conformance.report import Run, report_json
from ipfhir.conformance.report_html import render_html

HOSTILE = '<script>alert("ø")</script><img src=x onerror=alert(1)>'


def _run() -> Run:
    chk = next(c for c in all_checks() if c.id == "consent.errors")
    evidence = Evidence("GET", "http://vendor.example.no/Goal/x", {}, "", 404, {}, HOSTILE)
    result = Result(chk, "fail", f"the server said {HOSTILE}", [evidence])
    return Run("http://vendor.example.no", dt.datetime(2026, 12, 1, tzinfo=dt.UTC), [result])


def test_server_text_is_escaped_and_the_page_is_self_contained() -> None:
    html = render_html(report_json(_run()))
    assert "<script" not in html and "<img" not in html
    assert "&lt;script&gt;alert(&quot;ø&quot;)&lt;/script&gt;" in html
    assert "http-equiv" not in html and "<link" not in html and "@import" not in html


def test_a_failed_mandatory_check_heads_the_page() -> None:
    html = render_html(report_json(_run()))
    assert "Not conformant: 1 mandatory check(s) did not pass" in html
    fix = html[html.index("What to fix first") : html.index("The kit wrote nothing")]
    assert "consent.errors" in fix and "CONSENT-channels" in fix
