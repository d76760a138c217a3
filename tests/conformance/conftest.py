"""The kit against stub vendors (pytest-httpserver): ``run_kit(flaws, suites)`` runs the checks
in-process and returns the results by check id."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable

import pytest
from pytest_httpserver import HTTPServer

from ipfhir.conformance.checks import Result, all_checks
from ipfhir.conformance.context import Context
from ipfhir.conformance.http import Client
from ipfhir.conformance.runner import run_checks
from tests.conformance.stub_vendor import OWNER_ORG, SECOND_ORG, StubVendor

RunKit = Callable[..., dict[str, Result]]


def stub_context(base: str, *, read_only: bool = False, timeout: float = 10.0) -> Context:
    return Context(
        Client(base, "owner-token", timeout, "owner"),
        Client(base, "second-token", timeout, "second actor"),
        read_only=read_only,
        owner_org=OWNER_ORG,
        second_org=SECOND_ORG,
        oversize_mb=1.5,  # the stub refuses bodies over 1 MiB
    )


@pytest.fixture
def run_kit(httpserver: HTTPServer) -> RunKit:
    def run(
        flaws: Iterable[str] = (), suites: Iterable[str] = (), read_only: bool = False
    ) -> dict[str, Result]:
        base = httpserver.url_for("").rstrip("/")
        vendor = StubVendor(set(flaws), base)
        httpserver.clear()
        httpserver.expect_request(re.compile(".*")).respond_with_handler(vendor)
        chosen = set(suites)
        checks = [c for c in all_checks() if not chosen or c.suite in chosen]
        ctx = stub_context(base, read_only=read_only)
        return {r.check.id: r for r in run_checks(ctx, checks, lambda *_: None)}

    return run
