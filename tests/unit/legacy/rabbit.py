"""RabbitMQ for tests: reachable at 127.0.0.1:5672 (guest/guest) → used; unreachable → skip with
the reason, or fail when ``IPFHIR_REQUIRE_RABBITMQ=1`` (CI sets it: the AMQP tests are
mandatory there)."""

from __future__ import annotations

import os
import socket
import uuid

import pytest

__all__ = ["AMQP_HOST", "AMQP_PORT", "queue_address", "rabbitmq_or_skip"]

AMQP_HOST = os.environ.get("IPFHIR_TEST_AMQP_HOST", "127.0.0.1")
AMQP_PORT = int(os.environ.get("IPFHIR_TEST_AMQP_PORT", "5672"))


def rabbitmq_or_skip() -> None:
    try:
        with socket.create_connection((AMQP_HOST, AMQP_PORT), timeout=2):
            pass
    except OSError as err:
        if os.environ.get("IPFHIR_REQUIRE_RABBITMQ") == "1":
            pytest.fail(f"RabbitMQ required but unreachable at {AMQP_HOST}:{AMQP_PORT}: {err}")
        # Justified skip: a developer machine without RabbitMQ; never in CI (fails above there).
        pytest.skip(f"RabbitMQ unreachable at {AMQP_HOST}:{AMQP_PORT} (IPFHIR_TEST_AMQP_HOST)")


def queue_address(name: str) -> str:
    """A queue of its own for one test (``amqp://host:port/<name>.<random>``)."""
    return f"amqp://{AMQP_HOST}:{AMQP_PORT}/ipfhir-test.{name}.{uuid.uuid4().hex[:10]}"
