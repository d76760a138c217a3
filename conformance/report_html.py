"""``report.html``: one self-contained page for the vendor's test lead (no scripts, no network).

Top: the verdict and what must be fixed, in order of importance (mandatory failures and errors).
Then one table per suite; each check opens to its description, the requirements it verifies and
the evidence (every request and an excerpt of the answer).
"""

from __future__ import annotations

from html import escape
from typing import Any

from ipfhir.conformance.checks import SUITES
from ipfhir.conformance.requirements import REQUIREMENTS

__all__ = ["render_html"]

Json = dict[str, Any]
_SUITE_TITLES = {
    "capability": "CapabilityStatement",
    "profiles": "Profiles (offline validation)",
    "rest": "FHIR REST behaviour",
    "consent": "Consent (two actors)",
    "workflows": "Workflows (messaging)",
    "hostile": "Hostile input",
}
_LABEL = {"pass": "PASS", "fail": "FAIL", "skip": "SKIP", "error": "ERROR"}
_CSS = """
body{font:15px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:#1d2430;
 margin:0;background:#f4f6f9}
main{max-width:1180px;margin:0 auto;padding:24px 32px 48px}
h1{font-size:26px;margin:0 0 4px} h2{font-size:19px;margin:28px 0 8px}
.meta{color:#4a5568;margin:0 0 16px}
.meta code{background:#e8ecf2;padding:1px 5px;border-radius:4px}
.banner{border-radius:10px;padding:16px 20px;margin:8px 0 16px;color:#fff;font-size:18px}
.banner.ok{background:#17803d} .banner.bad{background:#b42318}
.banner small{display:block;font-size:14px;opacity:.92;margin-top:4px}
table{border-collapse:collapse;width:100%;background:#fff;border-radius:8px;overflow:hidden;
 box-shadow:0 1px 2px rgba(0,0,0,.08)}
th,td{text-align:left;padding:7px 10px;border-bottom:1px solid #e5e9f0;vertical-align:top}
th{background:#e8ecf2;font-size:13px;text-transform:uppercase;letter-spacing:.03em;color:#39465a}
td.n,th.n{text-align:center;font-variant-numeric:tabular-nums;width:11%}
td.n.hot{color:#b42318;font-weight:700} td.v{width:64px}
ul.data{margin:4px 0 0;padding-left:20px;color:#4a5568;font-size:13px}
a{color:#1d4ed8}
.badge{display:inline-block;min-width:52px;text-align:center;font-weight:700;font-size:12px;
 border-radius:4px;padding:2px 6px;color:#fff}
.pass{background:#17803d}.fail{background:#b42318}.skip{background:#8a94a6}.error{background:#b54708}
.opt{font-size:12px;color:#5b6575;border:1px solid #c3cad6;border-radius:4px;padding:0 4px}
.id{font-family:ui-monospace,Menlo,Consolas,monospace;font-size:13px;color:#39465a}
ol.fix li{margin:8px 0} ol.fix .msg{color:#7a271a} ol.fix .why{color:#4a5568;font-size:13px}
details{margin:0} summary{cursor:pointer;list-style:none}
summary::-webkit-details-marker{display:none}
summary .title{font-weight:600}
.msg{color:#39465a} .row-fail .msg,.row-error .msg{color:#7a271a}
.more{background:#f8fafc;border-left:3px solid #c3cad6;margin:8px 0 2px;padding:8px 12px}
.req{font-size:13px;color:#4a5568}
pre{white-space:pre-wrap;word-break:break-word;background:#10151f;color:#e6edf3;padding:8px 10px;
 border-radius:6px;font-size:12px;max-height:280px;overflow:auto}
"""


def _badge(verdict: str) -> str:
    return f'<span class="badge {verdict}">{_LABEL[verdict]}</span>'


def _evidence(items: list[Json]) -> str:
    out = []
    for e in items:
        status = e["status"] if e["status"] is not None else "no answer"
        head = f"{e['note']}\n" if e["note"] else ""
        body = f"\n{e['request_body']}" if e["request_body"] else ""
        headers = "".join(f"\n{k}: {v}" for k, v in e["response_headers"].items())
        out.append(
            f"<pre>{escape(head)}{escape(e['method'])} {escape(e['url'])}{escape(body)}\n\n"
            f"→ {escape(str(status))}{escape(headers)}\n{escape(e['response_body'])}</pre>"
        )
    return "".join(out) or "<p>No HTTP exchange.</p>"


def _row(r: Json) -> str:
    reqs = ", ".join(f"{escape(q)} ({escape(REQUIREMENTS.get(q, '?'))})" for q in r["requirements"])
    optional = "" if r["mandatory"] else ' <span class="opt">optional</span>'
    return (
        f'<tr id="{escape(r["id"])}" class="row-{r["result"]}">'
        f'<td class="v">{_badge(r["result"])}</td>'
        f"<td><details{' open' if r['result'] in ('fail', 'error') else ''}><summary>"
        f'<span class="title">{escape(r["title"])}</span>{optional} '
        f'<span class="id">{escape(r["id"])}</span><br><span class="msg">{escape(r["message"])}'
        f'</span></summary><div class="more"><p>{escape(r["description"])}</p>'
        f'<p class="req">Verifies: {reqs}</p>{_evidence(r["evidence"])}</div></details></td></tr>'
    )


def _summary(report: Json) -> str:
    rows = []
    for suite in SUITES:
        rs = [r for r in report["results"] if r["suite"] == suite]
        if not rs:
            continue
        counts = {v: sum(1 for r in rs if r["result"] == v) for v in _LABEL}
        cells = "".join(f'<td class="n">{counts[v] or "–"}</td>' for v in _LABEL)
        blocking = sum(1 for r in rs if _blocks(r))
        hot = ' class="n hot"' if blocking else ' class="n"'
        rows.append(
            f'<tr><td><a href="#{suite}">{escape(_SUITE_TITLES[suite])}</a></td>{cells}'
            f"<td{hot}>{blocking or '–'}</td></tr>"
        )
    head = "".join(f'<th class="n">{_LABEL[v].title()}</th>' for v in _LABEL)
    return (
        f'<table><tr><th>Suite</th>{head}<th class="n">Mandatory, not passed</th></tr>'
        f"{''.join(rows)}</table>"
    )


def _blocks(r: Json) -> bool:
    return bool(r["mandatory"]) and not r["excluded"] and r["result"] != "pass"


def _to_fix(report: Json) -> str:
    bad = [r for r in report["results"] if r["result"] in ("fail", "error")]
    bad.sort(key=lambda r: (not r["mandatory"], r["result"] != "fail"))
    if not bad:
        return ""
    items = "".join(
        f'<li>{_badge(r["result"])} <a href="#{escape(r["id"])}"><b>{escape(r["title"])}</b></a>'
        f"{'' if r['mandatory'] else ' <span class=opt>optional</span>'} "
        f'<span class="id">{escape(r["id"])}</span><br><span class="msg">{escape(r["message"])}'
        f'</span><br><span class="why">Required: {escape(r["description"])} '
        f"({escape(', '.join(r['requirements']))})</span></li>"
        for r in bad
    )
    return f'<h2>What to fix first</h2><ol class="fix">{items}</ol>'


def render_html(report: Json) -> str:
    counts = report["counts"]
    blocking = sum(1 for r in report["results"] if _blocks(r))
    mandatory = sum(1 for r in report["results"] if r["mandatory"] and not r["excluded"])
    if report["passed"]:
        banner = '<div class="banner ok">Conformant: every mandatory check passed'
    else:
        banner = (
            f'<div class="banner bad">Not conformant: {blocking} mandatory check(s) did not pass'
        )
    banner += (
        f"<small>{mandatory - blocking} of {mandatory} mandatory checks passed · "
        f"{counts['pass']} passed · {counts['fail']} failed · {counts['skip']} skipped · "
        f"{counts['error']} errors, of {len(report['results'])} checks</small></div>"
    )
    written = (
        "<h2>Test data the kit wrote</h2><p class=meta>Synthetic persons only (fødselsnummer "
        "with month + 80, valid checksum); remove them when the test is over.</p><ul class=data>"
        + "".join(f"<li>{escape(w)}</li>" for w in report["written"])
        + "</ul>"
        if report["written"]
        else "<p class=meta>The kit wrote nothing to the server.</p>"
    )
    sections = []
    for suite in SUITES:
        rs = [r for r in report["results"] if r["suite"] == suite]
        if rs:
            sections.append(
                f'<h2 id="{suite}">{escape(_SUITE_TITLES[suite])}</h2>'
                f"<table>{''.join(_row(r) for r in rs)}</table>"
            )
    return (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        f"<title>IP FHIR conformance — {escape(report['base_url'])}</title>"
        f"<style>{_CSS}</style></head><body><main>"
        "<h1>Individual plan (IP) FHIR conformance report</h1>"
        f"<p class=meta>Server <code>{escape(report['base_url'])}</code> · run "
        f"{escape(report['started'])} · ipfhir conformance</p>"
        f"{banner}{_summary(report)}{_to_fix(report)}{written}{''.join(sections)}"
        "<p class=meta>Open a check to read what it requires, the requirements it verifies and "
        "every request it made with an excerpt of the answer.</p></main></body></html>\n"
    )
