"""The FHIR REST API (FastAPI): thin routes over ``ResourceRepository`` obtained per caller.

The app is built by :func:`adapter.bootstrap.build_app`; routers outside this package (the
consent operations) use :func:`request_resource` and :func:`server_context`.
"""

from ipfhir.adapter.api.app import request_resource, server_context

__all__ = ["request_resource", "server_context"]
