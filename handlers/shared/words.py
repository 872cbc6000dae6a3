"""Counting things in sentences: "1 alert", "2 alerts", "1 entry", "3 entries"."""

from __future__ import annotations


def count(number: int, noun: str, plural: str | None = None) -> str:
    """`number` and the noun, singular for exactly one."""
    return f"{number} {noun if number == 1 else (plural or noun + 's')}"
