"""Run checks one after another: every check ends in a verdict, whatever the server does.

A :class:`~ipfhir.conformance.checks.Fail` is a fail, a :class:`~ipfhir.conformance.checks.Skip`
a skip; no answer (timeout, refused connection) and anything unexpected are an error with the
reason — never a traceback, never a hang (every request has a timeout).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable

import requests

from ipfhir.conformance.checks import Check, Fail, Result, Skip, Verdict
from ipfhir.conformance.context import Context

__all__ = ["run_check", "run_checks"]


def run_check(ctx: Context, chk: Check) -> Result:
    ctx.take_evidence()  # exchanges of an earlier check never count for this one
    started = time.monotonic()
    excluded = False
    verdict: Verdict
    try:
        if ctx.read_only and chk.writes:
            excluded = True
            raise Skip("writes data; not run with --read-only")
        message = chk.run(ctx)
        verdict = "pass"
    except Fail as err:
        verdict, message = "fail", str(err)
    except Skip as err:
        verdict, message = "skip", str(err)
    except requests.Timeout:
        verdict, message = "error", f"no answer within {ctx.main.timeout:g} s (timeout)"
    except requests.RequestException as err:
        verdict, message = "error", f"no answer: {type(err).__name__}: {err}"
    except Exception as err:  # a check must never end the run; the vendor sees what broke
        verdict, message = (
            "error",
            f"the check could not judge the answer: {type(err).__name__}: {err}",
        )
    return Result(
        chk,
        verdict,
        message,
        ctx.take_evidence(),
        round(time.monotonic() - started, 3),
        excluded,
    )


def run_checks(
    ctx: Context, checks: Iterable[Check], progress: Callable[[int, int, Result], None]
) -> list[Result]:
    todo = list(checks)
    results = []
    for number, chk in enumerate(todo, 1):
        result = run_check(ctx, chk)
        results.append(result)
        progress(number, len(todo), result)
    return results
