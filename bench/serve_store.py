"""Bench only: the FHIR routes over the bare store (no authentication, no consent, no audit) on
uvicorn, to measure the store path apart from the consent-enforced server. Never a way to run
the server: ``ipfhir serve`` builds the enforced app (``adapter.bootstrap.build_app``).

    .venv/bin/python bench/serve_store.py --database URL --port 8099 [--workers N]
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def app_factory() -> Any:
    """uvicorn factory: settings from IPFHIR_* (one engine, validator and app per process)."""
    from ipfhir.adapter.api.app import create_app
    from ipfhir.adapter.bootstrap import build_wiring
    from ipfhir.adapter.ports import Actor
    from ipfhir.adapter.settings import Settings
    from tests.permit_all import PermitAll

    settings = Settings()
    wiring = build_wiring(settings, run_migrations=False)
    bench_actor = Actor(organisation="bench", scopes=("system/*.cruds",))
    return create_app(
        settings,
        PermitAll(wiring.repository),
        validate=wiring.validate,
        validator_name=wiring.validator_name,
        actor_resolver=lambda _request: bench_actor,
    )


def main() -> None:
    import uvicorn

    from ipfhir.adapter.bootstrap import build_wiring
    from ipfhir.adapter.settings import Settings

    ap = argparse.ArgumentParser()
    ap.add_argument("--database", required=True)
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--workers", type=int, default=1)
    args = ap.parse_args()
    os.environ["IPFHIR_DATABASE_URL"] = args.database
    build_wiring(Settings()).engine.dispose()  # migrate once
    print("bench store server (no consent) ready to start", file=sys.stderr, flush=True)
    uvicorn.run(
        "serve_store:app_factory",
        factory=True,
        host="127.0.0.1",
        port=args.port,
        workers=args.workers,
        log_level="warning",
        access_log=False,
        app_dir=str(Path(__file__).parent),
    )


if __name__ == "__main__":
    main()
