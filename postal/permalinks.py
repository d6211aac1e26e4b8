"""Permalinks: the short names in ``org/server`` paths and SMTP usernames."""

from __future__ import annotations

import re


PERMALINK_RE = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,62})$")


def slugify(name: str) -> str:
    slug = re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")
    return slug[:64] or "x"


def check_permalink(permalink: str, reserved: frozenset[str]) -> str | None:
    """The reason ``permalink`` is unusable, or ``None`` when it is fine."""
    if not PERMALINK_RE.match(permalink):
        return "may contain only lower-case letters, digits and dashes"
    if permalink in reserved:
        return f"{permalink!r} is reserved"
    return None


def unique_permalink(base: str, taken) -> str:
    """``base``, or ``base-2``, ``base-3``… the first one ``taken(candidate)`` says is free."""
    candidate, number = base, 1
    while taken(candidate):
        number += 1
        candidate = f"{base[:60]}-{number}"
    return candidate
