"""Whether a test's message broker (RabbitMQ, Redis) can be reached."""

from __future__ import annotations

from kombu.connection import Connection


def broker_problem(url: str) -> str | None:
    """Why the broker at ``url`` cannot be used, or None when it can."""
    try:
        with Connection(url, connect_timeout=3) as connection:
            connection.ensure_connection(max_retries=1)
    except Exception as exc:
        return f"broker {url} is unreachable: {exc}"
    return None
