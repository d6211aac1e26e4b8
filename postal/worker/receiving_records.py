"""The receiving side of writing a processed batch: inspection results and spam checks,
bounces linked to the originals they report on, bounces sent to senders, and endpoints'
``last_used_at``.  Called by :func:`postal.worker.recording.record_batch` in the batch's
transaction, before the deliveries are written (a bounce's id goes into their details).
"""

from __future__ import annotations

import datetime as dt
import logging

from sqlalchemy import insert, update

from ..bounce_messages import build_bounce, eligible
from ..messages import store_message
from ..models import Delivery, Message, SpamCheck
from .incoming import bounced_event
from .incoming_loading import ENDPOINT_TYPES, route_description


log = logging.getLogger(__name__)

BOUNCED = "We've received a bounce message for this e-mail. See <msg:{id}> for details."


def record_receiving(request, batch, settings, now, suppress) -> None:
    db = request.dbsession
    _inspections(db, batch)
    for job in batch.jobs:
        outcome = job.outcome
        if outcome is None:
            continue
        if outcome.bounced:
            _link_bounce(request, job, settings, now, suppress)
        if outcome.bounce_note:
            _send_bounce(db, job, settings)
        if outcome.endpoint_used is not None:
            endpoint = outcome.endpoint_used
            model = ENDPOINT_TYPES.get(endpoint.type)
            if model is not None:
                db.execute(update(model).where(model.id == endpoint.id).values(last_used_at=now))


def _inspections(db, batch) -> None:
    values, checks = [], []
    for job in batch.jobs:
        inspection = job.outcome.inspection if job.outcome else None
        if inspection is None or not inspection.new:
            continue
        values.append(
            {
                "id": job.message.id,
                "inspected": True,
                "spam": inspection.spam,
                "spam_score": inspection.score,
                "threat": inspection.threat,
                "threat_details": inspection.threat_details,
            }
        )
        checks += [
            {
                "message_id": job.message.id,
                "score": check.score,
                "code": check.code[:255],
                "description": check.description,
            }
            for check in inspection.checks
        ]
        job.message.inspected, job.message.spam = True, inspection.spam
    if values:
        db.execute(update(Message), values)
    if checks:
        db.execute(insert(SpamCheck), checks)


def _link_bounce(request, job, settings, now, suppress) -> None:
    """This message reports on ``outcome.bounced``: link it, mark them Bounced and fire
    ``MessageBounced``; a permanent failure also suppresses the original recipient."""
    db, outcome, message = request.dbsession, job.outcome, job.message
    first = outcome.bounced[0]
    db.execute(
        update(Message)
        .where(Message.id == message.id)
        .values(bounce_for_id=first.id, domain_id=first.domain_id)
    )
    if not outcome.hard_bounce:
        return
    keep = dt.timedelta(days=settings["postal.default_suppression_list_automatic_removal_days"])
    for original in outcome.bounced:
        if original.status == "Bounced":
            continue  # a second report on the same message changes nothing
        db.execute(
            insert(Delivery).values(
                message_id=original.id,
                status="Bounced",
                details=BOUNCED.format(id=message.id),
                output=(job.bounce_info.diagnostic or "")[:65000] if job.bounce_info else "",
                timestamp=now,
            )
        )
        original.status, original.held = "Bounced", False
        db.execute(
            update(Message)
            .where(Message.id == original.id)
            .values(status="Bounced", held=False, last_delivery_attempt=now)
        )
        if original.rcpt_to:
            suppress(db, original.server_id, original.rcpt_to, "hard bounce", now + keep)
        request.notify(bounced_event(original, message, job.server.id))


def _send_bounce(db, job, settings) -> None:
    """Queue Postal's bounce to the sender and put its id into the delivery's details."""
    outcome, message, route = job.outcome, job.message, job.route
    if not eligible(message) or job.raw is None:
        outcome.bounce_note = None
        return
    domain = route.domain if route is not None else None
    if domain is None:
        log.warning("message %s failed but has no route domain to bounce from", message.id)
        return
    description = route_description(route)
    raw = build_bounce(
        settings=settings, server=job.server, message=message, raw=job.raw,
        route=description, domain_name=domain.name, details=outcome.details,
        output=outcome.output,
    )  # fmt: skip
    (bounce,) = store_message(
        db,
        job.server,
        scope="outgoing",
        mail_from=description,
        rcpt_to=[message.mail_from],
        raw=raw,
        bounce=True,
        bounce_for_id=message.id,
        domain_id=domain.id,
    )
    outcome.details += outcome.bounce_note.format(id=bounce.id)
