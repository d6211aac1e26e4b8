"""The outgoing side of tracking: find the track domain, rewrite, store the links.

Runs in the caller's unit of work (``current_request().dbsession``), so the links commit
with the rest of the delivery's work.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Mapping
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


def track_message(
    dbsession, transaction_manager, settings: Mapping[str, Any], message: OutgoingMessage
) -> bool:
    """Rewrite ``message.raw`` for tracking when its server tracks its sender domain;
    returns whether the message changed."""
    track_domain = for_sending(dbsession, message.server_id, message.sender_domain)
    if track_domain is None or amp_skip(message.raw):
        return False
    links = LinkTokens(dbsession, message.id)
    scheme = "https" if track_domain.ssl_enabled else "http"
    tracker = Tracker(
        base_url=f"{scheme}://{track_domain.full_name}",
        server_token=message.server_token,
        message_token=message.token,
        link_token=links,
        track_clicks=track_domain.track_clicks,
        track_loads=track_domain.track_loads,
        track_text_links=settings.get("tracking.track_plain_text_links", False),
        excluded_hosts=set(excluded_domains(track_domain.excluded_click_domains)),
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
