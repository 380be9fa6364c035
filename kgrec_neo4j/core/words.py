"""Counts in words, for the messages the library and the CLI print."""

from __future__ import annotations


def plural(n: int, noun: str, many: str | None = None) -> str:
    """``1 item``, ``2 items``; ``many`` for a noun whose plural is not ``noun + 's'`` (``1 family relation``)."""
    return f"{n} {noun if n == 1 else (many or noun + 's')}"
