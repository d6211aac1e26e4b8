"""The outgoing side of tracking: find the track domain, rewrite, store the links.

Runs in the caller's unit of work (``current_request().dbsession``), so the links commit
with the rest of the delivery's work.
"""

from __future__ import annotations

import hashlib
import logging
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select, update
from zope.sqlalchemy import mark_changed

from postal.models import Link, Message
from postal.tokens import message_token
from postal.track_domains import excluded_domains, for_sending
from postal.types import OutgoingMessage

from .rewrite import Tracker, amp_skip, rewrite_message


log = logging.getLogger(__name__)


def url_hash(url: str) -> str:
    """Postal's link hash: SHA-1 of the URL."""
    return hashlib.sha1(url.encode("utf-8", "surrogateescape")).hexdigest()


class LinkTokens:
    """Hands out one token per distinct URL of a message.  A URL tracked by an earlier
    attempt keeps its token, so a retried message carries the same links."""

    def __init__(self, dbsession, message_id: int):
        self.dbsession = dbsession
        self.message_id = message_id
        rows = dbsession.execute(
            select(Link.hash, Link.token).where(Link.message_id == message_id)
        ).all()
        self.known = {row.hash: row.token for row in rows}
        self.new: dict[str, tuple[str, str]] = {}

    def __call__(self, url: str) -> str:
        digest = url_hash(url)
        if digest in self.known:
            return self.known[digest]
        token = message_token()
        self.known[digest] = token
        self.new[digest] = (token, url)
        return token

    def save(self) -> None:
        self.dbsession.add_all(
            Link(message_id=self.message_id, token=token, hash=digest, url=url)
            for digest, (token, url) in self.new.items()
        )


@dataclass(frozen=True)
class TrackTarget:
    """A snapshot of the track domain a server's sender domain uses."""

    full_name: str
    ssl_enabled: bool
    track_clicks: bool
    track_loads: bool
    excluded_hosts: frozenset[str]


def find_target(dbsession, server_id: int, domain_name: str | None) -> TrackTarget | None:
    track_domain = for_sending(dbsession, server_id, domain_name)
    if track_domain is None:
        return None
    return TrackTarget(
        track_domain.full_name,
        bool(track_domain.ssl_enabled),
        bool(track_domain.track_clicks),
        bool(track_domain.track_loads),
        frozenset(excluded_domains(track_domain.excluded_click_domains)),
    )


class TargetCache:
    """Which track domain each (server, sender domain) uses, kept ``ttl`` seconds
    (``tracking.cache_seconds``): most messages have none, and finding that out must not
    cost a transaction per message."""

    def __init__(self):
        self._entries: dict[tuple, tuple[float, TrackTarget | None]] = {}
        self._lock = threading.Lock()

    def get(self, key: tuple, ttl: float, load: Callable[[], TrackTarget | None]):
        now = time.monotonic()
        with self._lock:
            hit = self._entries.get(key)
        if hit is not None and hit[0] > now:
            return hit[1]
        value = load()
        if ttl > 0:
            with self._lock:
                if len(self._entries) > 10_000:
                    self._entries.clear()
                self._entries[key] = (now + ttl, value)
        return value


def track_message(
    dbsession, transaction_manager, settings: Mapping[str, Any], message: OutgoingMessage,
    target: TrackTarget | None = None,
) -> bool:  # fmt: skip
    """Rewrite ``message.raw`` for tracking when its server tracks its sender domain;
    returns whether the message changed."""
    if target is None:
        target = find_target(dbsession, message.server_id, message.sender_domain)
    if target is None or amp_skip(message.raw):
        return False
    links = LinkTokens(dbsession, message.id)
    scheme = "https" if target.ssl_enabled else "http"
    tracker = Tracker(
        base_url=f"{scheme}://{target.full_name}",
        server_token=message.server_token,
        message_token=message.token,
        link_token=links,
        track_clicks=target.track_clicks,
        track_loads=target.track_loads,
        track_text_links=settings.get("tracking.track_plain_text_links", False),
        excluded_hosts=set(target.excluded_hosts),
    )
    try:
        new_raw = rewrite_message(message.raw, tracker)
    except Exception:
        # As Postal does: a message we cannot parse is sent as it is, never held up.
        log.exception("tracking: could not rewrite message %s; sending it unchanged", message.id)
        return False
    if new_raw is None:
        return False
    links.save()
    dbsession.execute(
        update(Message)
        .where(Message.id == message.id)
        .values(tracked_links=tracker.links, tracked_images=tracker.images, parsed=True)
    )
    mark_changed(dbsession, transaction_manager=transaction_manager)
    message.raw = new_raw
    message.notes["tracking"] = {"links": tracker.links, "images": tracker.images}
    return True
