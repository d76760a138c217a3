"""One validated ``Settings`` object for the server (env prefix ``IPFHIR_``).

Built by the CLI or by tests, never at import time. Extend by adding fields (authentication adds
its own: issuer, JWKS, dev mode); keep defaults safe.
"""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlsplit

from pydantic import Field, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict
from sqlalchemy import URL, make_url
from sqlalchemy.exc import ArgumentError

__all__ = ["Settings", "shown_url"]


class Settings(BaseSettings):
    """Server configuration. ``database_url`` empty means SQLite inside ``data_dir``."""

    model_config = SettingsConfigDict(env_prefix="IPFHIR_", extra="ignore")

    host: str = "127.0.0.1"
    port: int = Field(default=8080, ge=1, le=65535)
    data_dir: Path = Path("ipfhir-data")
    database_url: str = ""
    base_url: str = ""  # public base for fullUrl/links; empty = derived from each request
    max_body_bytes: int = Field(default=4 * 1024 * 1024, ge=1024)
    max_json_depth: int = Field(default=64, ge=8, le=1000)
    default_page_size: int = Field(default=20, ge=1, le=1000)
    max_page_size: int = Field(default=500, ge=1, le=10000)
    db_pool_size: int = Field(default=8, ge=1, le=200)
    # PostgreSQL cancels a statement running longer than this (0 = never); answered with 503.
    db_statement_timeout_s: float = Field(default=30.0, ge=0, le=3600)
    # What one search may ask (adapter/fhir/search_parsing.py SearchLimits); over → 400.
    search_max_params: int = Field(default=30, ge=1, le=1000)
    search_max_or_values: int = Field(default=100, ge=1, le=1000)
    search_max_values: int = Field(default=300, ge=1, le=10000)
    # The delivery worker settles the plan transfers this often (adapter/sync/transfer_state.py)
    transfer_settle_seconds: float = Field(default=60.0, ge=1, le=86400)
    # People whose plan context the consent enforcement point keeps between requests (0 = none);
    # an entry is used only while the store's change stamps say nothing changed.
    consent_cache_size: int = Field(default=512, ge=0, le=1_000_000)  # = consent.cache.DEFAULT_SIZE
    # authentication (adapter/auth): outside dev mode the server needs an issuer and a JWKS
    auth_issuer: str = ""
    auth_jwks: str = ""  # file path or http(s) URL of the JWKS
    auth_audience: str = ""  # checked when set
    dev_mode: bool = False  # ``ipfhir serve --dev``: trust only the local dev key in data_dir
    # purposes of use (HL7 v3 PurposeOfUse) a token may name; any other is refused (IP-5107).
    # A token without the claim acts for auth_default_purpose; empty: it is refused (IP-5111).
    auth_purposes: tuple[str, ...] = ("TREAT", "ETREAT", "COC", "CAREMGT")  # = CARE_PURPOSES
    auth_default_purpose: str = "COC"

    @field_validator("database_url")
    @classmethod
    def _known_driver(cls, value: str) -> str:
        if value and not value.startswith(("sqlite", "postgresql+psycopg://")):
            raise ValueError("database_url must be sqlite:///... or postgresql+psycopg://...")
        return value

    @model_validator(mode="after")
    def _default_purpose_allowed(self) -> Settings:
        if self.auth_default_purpose and self.auth_default_purpose not in self.auth_purposes:
            raise ValueError("auth_default_purpose must be one of auth_purposes (or empty)")
        return self

    def effective_database_url(self) -> str:
        """The database to use: ``database_url`` or the embedded SQLite file in ``data_dir``."""
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'ipfhir.sqlite3').resolve()}"


def shown_url(url: str | URL) -> str:
    """A database or key URL as an operator may see it in a log line: no password, no query
    (a query may carry ``password=`` or a token), no user info of an http(s) URL."""
    text = str(url) if isinstance(url, URL) else url
    if text.startswith(("http://", "https://")):
        parts = urlsplit(text)
        host = parts.hostname or ""
        port = f":{parts.port}" if parts.port else ""
        return f"{parts.scheme}://{host}{port}{parts.path}"
    try:
        parsed = url if isinstance(url, URL) else make_url(text)
        return parsed.set(query={}).render_as_string(hide_password=True)
    except (ArgumentError, ValueError, TypeError):
        return text.split("?", 1)[0].split("@", 1)[-1]
