"""Permalinks: the short names in ``org/server`` paths and SMTP usernames."""

from __future__ import annotations

import re

from sqlalchemy import select

from .models import Organization, Server


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


class PermalinkInvalid(ValueError):
    """The requested permalink breaks the rules; the message says which."""


class PermalinkTaken(ValueError):
    """Another object already uses the requested permalink."""


def organization_permalink_taken(dbsession):
    return lambda candidate: (
        dbsession.scalar(select(Organization.id).where(Organization.permalink == candidate))
        is not None
    )


def server_permalink_taken(dbsession, organization_id: int):
    return lambda candidate: (
        dbsession.scalar(
            select(Server.id).where(
                Server.organization_id == organization_id, Server.permalink == candidate
            )
        )
        is not None
    )


def choose_permalink(requested: str | None, name: str, reserved: frozenset[str], taken) -> str:
    """``requested`` when it is valid and free, or a free one made from ``name`` when none was
    requested (``None``).  Raises :class:`PermalinkInvalid` or :class:`PermalinkTaken`."""
    if requested is None:
        return unique_permalink(slugify(name), lambda c: taken(c) or c in reserved)
    problem = check_permalink(requested, reserved)
    if problem:
        raise PermalinkInvalid(problem)
    if taken(requested):
        raise PermalinkTaken(requested)
    return requested
