"""One timestamp format for everything we store: UTC, ISO 8601, second precision."""

from datetime import UTC, datetime


def utc_now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
