"""The incoming pipeline, in Postal's order (§4.5): bounce linking, inspection, the spam
failure threshold, development mode, the route's mode and spam mode, then
``postal_deliver_to_endpoint``.

Like the outgoing pipeline it works on a loaded job and touches no database: what it decides
(deliveries, inspection results, bounces to send, originals to mark Bounced) is written for
the whole batch by :mod:`postal.worker.recording`.
"""

from __future__ import annotations

import logging

from ..events import Event
from ..payloads import message_hash
from .batch import Batch, Job, Outcome, outcome_of
from .incoming_loading import incoming_message
from .inspection import Inspection, Inspector, stored_inspection
from .outgoing import INTERNAL_ERROR, SUSPENDED, crlf


log = logging.getLogger(__name__)

NO_ROUTE = "Message does not have a route and/or endpoint available for delivery."
UNLINKED_BOUNCE = (
    "This message was a bounce but we couldn't link it with any outgoing message "
    "and there was no route for it."
)
ACCEPTED = "Message has been accepted but not sent to any endpoints."
SPAM_FAILED = "Message is spam and the route specifies it should be failed."
ROUTE_BOUNCES = "Message has been bounced because the route asks for this."
BOUNCE_SENT = " Sent bounce message to sender (see message <msg:{id}>)"


class IncomingPipeline:
    def __init__(self, settings, hooks):
        self.settings = settings
        self.hooks = hooks
        self.inspector = Inspector(hooks)

    def run(self, batch: Batch, job: Job) -> Outcome:
        try:
            return self.checks(job) or self.process(batch, job)
        except Exception as exc:
            log.exception("error while processing message %s", job.message.id)
            return Outcome("Error", INTERNAL_ERROR, f"{type(exc).__name__}: {exc}", requeue=True)

    def checks(self, job: Job) -> Outcome | None:
        maximum = self.settings["postal.default_maximum_delivery_attempts"]
        if job.server.suspended:
            return Outcome("Held", SUSPENDED)
        if job.queued.attempts >= maximum:
            outcome = Outcome(
                "HardFail", f"Maximum number of delivery attempts ({maximum}) has been reached."
            )
            outcome.bounce_note = " Bounce sent to sender (see message <msg:{id}>)"
            return outcome
        if job.raw is None:
            return Outcome("HardFail", "Raw message has been removed. Cannot send message.")
        return None

    def process(self, batch: Batch, job: Job) -> Outcome:
        message, server = job.message, job.server
        if message.bounce:
            linked = self.link_bounce(job)
            if linked is not None:
                return linked
        inspection = self.inspect(batch, job)
        if inspection.score >= server.spam_failure_threshold:
            return self._with(
                Outcome(
                    "HardFail",
                    "Message's spam score is higher than the failure threshold for this "
                    f"server. Threshold is currently {server.spam_failure_threshold}.",
                ),
                inspection,
            )
        return self._with(self.route(job, inspection), inspection)

    @staticmethod
    def _with(outcome: Outcome, inspection: Inspection) -> Outcome:
        if not outcome.inspection:
            outcome.inspection = inspection
        return outcome

    def inspect(self, batch: Batch, job: Job) -> Inspection:
        message, server = job.message, job.server
        if message.inspected:
            return stored_inspection(message)
        scanned = self.inspector.inspect(
            batch, message.raw_message_id, incoming_message(job, crlf(job.raw))
        )
        inspection = Inspection(
            scanned.score, scanned.threat, scanned.threat_details, list(scanned.checks)
        )
        # Strictly greater, as Postal.
        inspection.spam = inspection.score > server.spam_threshold
        return inspection

    def route(self, job: Job, inspection: Inspection) -> Outcome:
        message, route = job.message, job.route
        if job.server.mode == "Development" and not job.manual:
            return Outcome("Held", "Server is in development mode.")
        if route is None:
            return Outcome("HardFail", NO_ROUTE)
        if inspection.spam and not job.manual:
            if route.spam_mode == "Quarantine":
                return Outcome("Held", "Message placed into quarantine.")
            if route.spam_mode == "Fail":
                return Outcome("HardFail", SPAM_FAILED)
        if route.mode == "Accept":
            return Outcome("Processed", ACCEPTED)
        if route.mode == "Hold":
            if job.manual:
                return Outcome("Processed", "Message has been processed.")
            return Outcome("Held", ACCEPTED)
        if route.mode in ("Bounce", "Reject"):
            outcome = Outcome("HardFail", ROUTE_BOUNCES)
            outcome.bounce_note = " See message <msg:{id}>"
            return outcome
        return self.deliver(job, inspection, message)

    def deliver(self, job: Job, inspection: Inspection, message) -> Outcome:
        if job.endpoint is None:
            return Outcome("HardFail", "Invalid endpoint for route.")
        threshold = job.server.spam_threshold
        incoming = incoming_message(
            job,
            inspection.headers(threshold) + crlf(job.raw),
            spam_status="Spam" if inspection.spam else "NotSpam",
            spam_score=inspection.score,
        )
        result = self.hooks.postal_deliver_to_endpoint(message=incoming, endpoint=job.endpoint)
        if result is None:
            return Outcome("HardFail", "Invalid endpoint for route.")
        outcome = outcome_of(result)
        if result.status == "HardFail" and not result.suppress_bounce:
            outcome.bounce_note = BOUNCE_SENT
        elif result.status == "Sent":
            outcome.endpoint_used = job.endpoint
        return outcome

    def link_bounce(self, job: Job) -> Outcome | None:
        """A message to a return-path address: link it to the originals it reports on.
        ``None`` lets an unlinked bounce with a route (``__returnpath__``) go on as mail."""
        info = job.bounce_info
        if job.originals:
            original = job.originals[0]
            hard = info.hard if info is not None else True
            kind = "bounce message" if hard else "delivery delay notice"
            outcome = Outcome(
                "Processed", f"This has been detected as a {kind} for <msg:{original.id}>."
            )
            outcome.bounced, outcome.hard_bounce = list(job.originals), hard
            return outcome
        if job.route is None:
            return Outcome("HardFail", UNLINKED_BOUNCE)
        return None


def bounced_event(original, bounce, server_id: int) -> Event:
    """``MessageBounced`` with both messages, as Postal's payload has them."""
    payload = {"original_message": message_hash(original), "bounce": message_hash(bounce)}
    return Event("MessageBounced", server_id, payload)
