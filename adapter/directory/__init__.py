"""The directory of organisations and their endpoints: routing and whose keys to trust."""

from ipfhir.adapter.directory.messages import DirectoryFileError, NoRoute, TokenRequestFailed
from ipfhir.adapter.directory.model import DirectoryEntry, Endpoint
from ipfhir.adapter.directory.parse import parse_directory
from ipfhir.adapter.directory.store import SqlDirectory

__all__ = [
    "DirectoryEntry",
    "DirectoryFileError",
    "Endpoint",
    "NoRoute",
    "SqlDirectory",
    "TokenRequestFailed",
    "parse_directory",
]
