"""Click and open tracking, as Postal does it (docs/tracking.md).

* ``postal_before_send``: when the message's server has a track domain on its sender domain
  whose CNAME checks out, HTML links become ``<scheme>://<track host>/<server token>/<link
  token>`` and a hidden 1×1 image ``/img/<server token>/<message token>`` is added; the
  links are stored in the caller's unit of work.  Not ``trylast``: the ``dkim`` plugin is,
  so it signs the rewritten bytes.
* ``postal_web_configure``: a tween that answers requests carrying ``X-Postal-Track-Host: 1``.
* ``postal_register_scheduled_tasks``: the hourly CNAME check of every track domain.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Iterator
from contextlib import contextmanager

from pyramid.threadlocal import get_current_registry
from sqlalchemy import select

from postal import hookimpl
from postal.models import TrackDomain
from postal.services.dns import IDNSResolver
from postal.track_domains import check_dns
from postal.types import ScheduledTask
from postal.unit_of_work import current_request, unit_of_work

from .rewrite import amp_skip
from .sending import TargetCache, find_target, track_message


log = logging.getLogger(__name__)

DNS_BATCH = 100


@contextmanager
def _caller_unit_of_work() -> Iterator[object | None]:
    """The running unit of work; failing that, a new one on the thread's registry."""
    request = current_request()
    if request is not None:
        yield request
        return
    registry = get_current_registry()
    if registry.get("dbsession_factory") is None:
        yield None
        return
    with unit_of_work(registry) as request:
        yield request


_targets = TargetCache()


@hookimpl
def postal_before_send(message):
    if not message.sender_domain:
        return
    settings = get_current_registry().settings
    key = (message.server_id, message.sender_domain.lower())

    def load():
        with _caller_unit_of_work() as request:
            if request is None:
                return None
            return find_target(request.dbsession, message.server_id, message.sender_domain)

    target = _targets.get(key, settings.get("tracking.cache_seconds", 10.0), load)
    if target is None or amp_skip(message.raw):
        return
    with _caller_unit_of_work() as request:
        if request is None:
            _warn_once("tracking: postal_before_send called outside a unit of work; "
                       "messages are sent untracked")  # fmt: skip
            return
        track_message(request.dbsession, request.tm, settings, message, target)


_warned: set[str] = set()


def _warn_once(text: str) -> None:
    if text not in _warned:
        _warned.add(text)
        log.error(text)


@hookimpl
def postal_web_configure(config):
    config.include("plugins.tracking.serving")


def check_all_track_domains(registry) -> int:
    """Re-check the CNAME of every track domain, in batches; returns how many."""
    checked, last_id = 0, 0
    while True:
        with unit_of_work(registry) as request:
            rows = request.dbsession.scalars(
                select(TrackDomain)
                .where(TrackDomain.id > last_id)
                .order_by(TrackDomain.id)
                .limit(DNS_BATCH)
            ).all()
            resolver = request.find_service(IDNSResolver)
            for track_domain in rows:
                check_dns(registry.settings, track_domain, resolver)
                last_id = track_domain.id
        checked += len(rows)
        if len(rows) < DNS_BATCH:
            return checked


@hookimpl
def postal_register_scheduled_tasks():
    return [
        ScheduledTask(
            name="check_track_domains", interval=dt.timedelta(hours=1), run=check_all_track_domains
        )
    ]
