"""The FHIR REST API (FastAPI): thin routes over ``ResourceRepository`` obtained per caller.

The app is built by :func:`adapter.bootstrap.build_app`; its routers
(``routes``, ``consent_ops``) read what they share from :mod:`adapter.api.context`.
"""

from ipfhir.adapter.api.context import request_resource, server_context

__all__ = ["request_resource", "server_context"]
