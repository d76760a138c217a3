"""Server-to-server login cost, in process (TestClient) on SQLite: a token request (assertion
signed by the client, verified against the directory's JWKS, jti recorded, access token
signed) beside a plain ``GET /metadata`` in the same run, and an API search with the server's
own token beside the same search with a dev token of the configured issuer (the resolver hook's
cost: one unverified decode to pick the verifier), and the two refusals a stranger could compare
(an organisation not in the directory; one in it, with a wrong key): how far their timing
differs (the threat model's open timing channel, measured here for the token endpoint).

    PYTHONPATH=. .venv/bin/python bench/bench_token.py [--rounds 200] [--repeat 5]

Calls alternate round by round; each repeat prints p50/p99 milliseconds; the last line holds the
medians over the repeats. Prints numbers; asserts nothing.
"""

from __future__ import annotations

import argparse
import logging
import statistics
import tempfile
import time
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ipfhir.adapter.auth.assertion import ASSERTION_TYPE, client_assertion
from ipfhir.adapter.auth.devkey import mint_token
from ipfhir.adapter.auth.orgkey import SigningKey
from ipfhir.adapter.bootstrap import build_app, build_wiring
from ipfhir.adapter.settings import Settings
from tests.api.test_token_endpoint import SENDER, STRANGER, TOKEN_URL, load_directory, new_key

with warnings.catch_warnings():
    warnings.filterwarnings("ignore", message="Using `httpx` with")
    from fastapi.testclient import TestClient

FORM = {"Content-Type": "application/x-www-form-urlencoded"}


def _accept_all(resource: dict[str, Any], profile: str | None = None) -> dict[str, Any]:
    return {"resourceType": "OperationOutcome", "issue": []}


def _ms(samples: list[float]) -> tuple[float, float]:
    ordered = sorted(samples)
    return statistics.median(ordered) * 1000, ordered[int(len(ordered) * 0.99) - 1] * 1000


def run(rounds: int, repeat: int) -> None:
    logging.getLogger("ipfhir.auth").setLevel(logging.ERROR)  # one warning per refusal otherwise
    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(data_dir=Path(tmp), dev_mode=True)
        wiring = build_wiring(settings, validate=_accept_all)
        key = new_key()
        load_directory(wiring.engine, key)
        with TestClient(build_app(settings, wiring)) as client:
            dev = {"Authorization": f"Bearer {mint_token(Path(tmp), SENDER)}"}

            stranger = new_key()

            def token(signer: SigningKey = key, orgnr: str = SENDER) -> Any:
                form = {
                    "grant_type": "client_credentials",
                    "client_assertion_type": ASSERTION_TYPE,
                    "client_assertion": client_assertion(signer, orgnr, TOKEN_URL),
                }
                return client.post("/auth/token", data=form, headers=FORM)

            own = {"Authorization": f"Bearer {token().json()['access_token']}"}
            calls: dict[str, Callable[[], Any]] = {
                "token request": token,
                "GET /metadata": lambda: client.get("/metadata"),
                "search, own token": lambda: client.get("/CarePlan", headers=own),
                "search, dev token": lambda: client.get("/CarePlan", headers=dev),
                "refused, unknown org": lambda: token(stranger, STRANGER),
                "refused, known org, wrong key": lambda: token(stranger, SENDER),
            }
            medians: dict[str, list[float]] = {name: [] for name in calls}
            for n in range(repeat):
                samples: dict[str, list[float]] = {name: [] for name in calls}
                for _ in range(rounds):
                    for name, call in calls.items():
                        started = time.perf_counter()
                        answer = call()
                        samples[name].append(time.perf_counter() - started)
                        expected = 401 if name.startswith("refused") else 200
                        assert answer.status_code == expected, (name, answer.text)
                line = "  ".join(
                    f"{k}: p50 {_ms(v)[0]:.2f} p99 {_ms(v)[1]:.2f}" for k, v in samples.items()
                )
                print(f"repeat {n + 1}: {line}")
                for name, values in samples.items():
                    medians[name].append(_ms(values)[0])
            print(
                "median p50 ms over repeats: "
                + ", ".join(f"{k} {statistics.median(v):.2f}" for k, v in medians.items())
            )


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=200)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    run(args.rounds, args.repeat)
