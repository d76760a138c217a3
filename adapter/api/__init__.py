"""The FHIR REST API (FastAPI): thin routes over ``ResourceRepository`` obtained per caller."""

from adapter.api.app import create_app

__all__ = ["create_app"]
