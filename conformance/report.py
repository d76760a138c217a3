"""The run's reports: ``report.json`` (everything), ``junit.xml`` (CI) and ``report.html``
(people: :mod:`ipfhir.conformance.report_html`).

JUnit: a failed or erroring *optional* check is written as ``skipped`` with the message prefixed
"optional check failed", so CI goes red exactly when the kit's exit code does.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import xml.etree.ElementTree as etree
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ipfhir.conformance.checks import SUITES, Result
from ipfhir.conformance.report_html import render_html

__all__ = ["Run", "write_reports"]


@dataclass
class Run:
    base_url: str
    started: dt.datetime
    results: list[Result]
    options: dict[str, Any] = field(default_factory=dict)
    written: list[str] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return not any(r.blocks for r in self.results)

    def counts(self, suite: str | None = None) -> dict[str, int]:
        out = {"pass": 0, "fail": 0, "skip": 0, "error": 0}
        for r in self.results:
            if suite is None or r.check.suite == suite:
                out[r.verdict] += 1
        return out


def _result_json(r: Result) -> dict[str, Any]:
    return {
        "id": r.check.id,
        "suite": r.check.suite,
        "title": r.check.title,
        "description": r.check.description,
        "requirements": list(r.check.requirements),
        "mandatory": r.check.mandatory,
        "writes": r.check.writes,
        "result": r.verdict,
        "message": r.message,
        "excluded": r.excluded,
        "seconds": r.seconds,
        "evidence": [dataclasses.asdict(e) for e in r.evidence],
    }


def report_json(run: Run) -> dict[str, Any]:
    return {
        "kit": "ipfhir conformance",
        "base_url": run.base_url,
        "started": run.started.isoformat(timespec="seconds"),
        "passed": run.passed,
        "counts": run.counts(),
        "options": run.options,
        "written": run.written,
        "results": [_result_json(r) for r in run.results],
    }


def report_junit(run: Run) -> bytes:
    root = etree.Element("testsuites", name="ipfhir conformance")
    for suite in SUITES:
        results = [r for r in run.results if r.check.suite == suite]
        if not results:
            continue
        c = run.counts(suite)
        optional_bad = sum(
            1 for r in results if not r.check.mandatory and r.verdict in ("fail", "error")
        )
        node = etree.SubElement(
            root,
            "testsuite",
            name=suite,
            tests=str(len(results)),
            failures=str(sum(1 for r in results if r.check.mandatory and r.verdict == "fail")),
            errors=str(sum(1 for r in results if r.check.mandatory and r.verdict == "error")),
            skipped=str(c["skip"] + optional_bad),
            time=f"{sum(r.seconds for r in results):.3f}",
        )
        for r in results:
            case = etree.SubElement(
                node,
                "testcase",
                classname=f"conformance.{suite}",
                name=r.check.id,
                time=f"{r.seconds:.3f}",
            )
            if r.verdict == "skip":
                etree.SubElement(case, "skipped", message=r.message)
            elif r.verdict in ("fail", "error") and not r.check.mandatory:
                etree.SubElement(case, "skipped", message=f"optional check failed: {r.message}")
            elif r.verdict == "fail":
                etree.SubElement(case, "failure", message=r.message).text = r.check.description
            elif r.verdict == "error":
                etree.SubElement(case, "error", message=r.message).text = r.check.description
    etree.indent(root)
    data: bytes = etree.tostring(root, xml_declaration=True, encoding="UTF-8")
    return data


def write_reports(run: Run, folder: Path) -> list[Path]:
    """Write report.json, junit.xml and report.html into ``folder``; their paths."""
    folder.mkdir(parents=True, exist_ok=True)
    paths = [folder / "report.json", folder / "junit.xml", folder / "report.html"]
    paths[0].write_text(
        json.dumps(report_json(run), ensure_ascii=False, indent=2) + "\n", encoding="utf-8"
    )
    paths[1].write_bytes(report_junit(run))
    paths[2].write_text(render_html(report_json(run)), encoding="utf-8")
    return paths
