"""The ``ipfhir`` command line."""

from ipfhir.adapter.cli.main import main

__all__ = ["main"]
