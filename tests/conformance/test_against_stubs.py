"""The kit against a faithful stub vendor (every check passes) and against broken ones: each
flaw is caught by the check meant for it, with the verdict and a message the vendor can act on."""

from __future__ import annotations

import pytest

from tests.conformance.conftest import RunKit


def test_a_faithful_vendor_passes_every_check(run_kit: RunKit) -> None:
    results = run_kit()
    assert {i: (r.verdict, r.message) for i, r in results.items() if r.verdict != "pass"} == {}
    assert len(results) >= 35
    consent = results["consent.refused-topic"]
    assert "hidden: not searched, 404 on read" in consent.message
    assert any(e.note.startswith("[second actor]") for e in consent.evidence)


# flaw, suite, check, verdict, words the message must contain
BROKEN = [
    ("wrong-profile", "profiles", "profiles.careplan", "fail", "1 of 1 do not validate"),
    ("no-etag", "rest", "rest.if-match", "fail", "answered without an ETag"),
    ("no-etag", "rest", "rest.create-read", "fail", "201 without an ETag header"),
    ("leak-topic", "consent", "consent.refused-topic", "fail", "is in the recipient's search"),
    (
        "leak-topic",
        "consent",
        "consent.xml",
        "fail",
        "refused goal reaches the recipient in the XML",
    ),
    (
        "leak-totals",
        "consent",
        "consent.totals",
        "fail",
        "total 2 reported to the recipient, who sees 1",
    ),
    ("leak-links", "consent", "consent.links", "fail", "page 2 of 2 is empty"),
    ("forbidden-hidden", "consent", "consent.errors", "fail", "the hidden Goal answers 403"),
    ("non-atomic", "rest", "rest.transaction-atomic", "fail", "stored (not atomic)"),
    ("duplicate-twice", "workflows", "workflows.duplicate-message", "fail", "processed twice"),
    ("xxe-accepted", "hostile", "hostile.xxe", "fail", "was accepted (201)"),
    ("500-on-malformed", "hostile", "hostile.malformed-json", "fail", "answered 500, not 4xx"),
    (
        "no-messaging",
        "workflows",
        "workflows.notice-acknowledged",
        "skip",
        "depends on the sync engine (issue 12)",
    ),
]


@pytest.mark.parametrize(
    ("flaw", "suite", "check_id", "verdict", "words"),
    BROKEN,
    ids=[b[0] + ":" + b[2] for b in BROKEN],
)
def test_a_broken_vendor_gets_the_verdict_and_message(
    run_kit: RunKit, flaw: str, suite: str, check_id: str, verdict: str, words: str
) -> None:
    result = run_kit({flaw}, {suite})[check_id]
    assert (result.verdict, words in result.message) == (verdict, True), result.message
    assert result.evidence, "a verdict comes with the exchanges behind it"


def test_an_optional_failure_is_reported_but_does_not_block(run_kit: RunKit) -> None:
    results = run_kit({"duplicate-twice"}, {"workflows"})
    dup = results["workflows.duplicate-message"]
    assert (dup.verdict, dup.check.mandatory, dup.blocks) == ("fail", False, False)
    assert results["workflows.notice-acknowledged"].verdict == "pass"


def test_read_only_runs_only_checks_that_write_nothing(run_kit: RunKit) -> None:
    results = run_kit(read_only=True)
    ran = {i for i, r in results.items() if not r.excluded}
    assert all(not results[i].check.writes for i in ran)
    assert {i for i, r in results.items() if r.excluded} == {
        i for i, r in results.items() if r.check.writes
    }
    excluded = results["rest.if-match"]
    assert (excluded.verdict, excluded.message, excluded.evidence) == (
        "skip",
        "writes data; not run with --read-only",
        [],
    )
    # the read-only profile checks judge what the server holds: an empty stub has no data
    assert results["profiles.careplan"].verdict == "skip"
    assert "no data" in results["profiles.careplan"].message


def test_a_refused_plan_is_uploaded_once_and_fails_every_check_that_needs_it(
    run_kit: RunKit,
) -> None:
    results = run_kit({"no-transaction"}, {"rest"})
    needing = ["rest.search-identifier", "rest.paging"]
    assert {results[i].verdict for i in needing} == {"fail"}
    assert "refused the kit's synthetic plan (rest" in results["rest.paging"].message
    uploads = [e for r in results.values() for e in r.evidence if "upload the synthetic" in e.note]
    assert len(uploads) == 1
