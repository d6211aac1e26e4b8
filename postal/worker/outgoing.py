"""The outgoing pipeline, in Postal's order: common checks, holds, send limit, development
mode, then ``postal_before_send`` (tracking, DKIM) and ``postal_deliver_outgoing``.

It works on a loaded :class:`~postal.worker.batch.Job` and touches no database; what it
decides is written for the whole batch by :mod:`postal.worker.recording`.
"""

from __future__ import annotations

import logging
import re
import threading
from dataclasses import replace

from ..dkim_keys import load_or_create_signing_key, selector
from ..dkim_signing import has_outgoing_headers
from ..events import Event
from ..headers import last_header
from ..messages import recipient_domain
from ..models import utcnow
from ..payloads import server_hash
from ..types import OutgoingMessage
from .batch import Batch, Job, Outcome, outcome_of
from .incoming_loading import incoming_message
from .inspection import Inspector


log = logging.getLogger(__name__)

SUSPENDED = (
    "Mail server has been suspended. No e-mails can be processed at present. "
    "Contact support for assistance."
)
INTERNAL_ERROR = (
    "An internal error occurred while sending this message. "
    "This message will be retried automatically."
)
_LINE_ENDS = re.compile(rb"\r?\n|\r")
# Whether a header is present at all (what ``last_header(...) is None`` tells), without
# decoding and unfolding values that are not used.
_TAG_HEADER = re.compile(rb"^X-Postal-Tag[ \t]*:", re.IGNORECASE | re.MULTILINE)


def _header_block(raw: bytes) -> bytes:
    """:func:`postal.headers.header_block` by substring search instead of a regular
    expression tried at every offset: the first ``\r?\n\r?\n`` starts at the first LF
    followed by (CR)LF, or at the CR before it."""
    end = raw.find(b"\n\r\n")
    bare = raw.find(b"\n\n", 0, len(raw) if end < 0 else end + 1)
    if bare >= 0:
        end = bare
    if end < 0:
        return raw
    return raw[: end - 1] if end and raw[end - 1] == 13 else raw[:end]


def crlf(raw: bytes) -> bytes:
    """SMTP wants CRLF line ends; signing must see the same bytes that are sent."""
    # Every CR and every LF belongs to a CRLF pair: nothing to change (no copies made).
    pairs = raw.count(b"\r\n")
    if raw.count(b"\n") == pairs and raw.count(b"\r") == pairs:
        return raw
    return _LINE_ENDS.sub(b"\r\n", raw)


class OutgoingPipeline:
    def __init__(self, settings, hooks):
        self.settings = settings
        self.hooks = hooks
        self._lock = threading.Lock()
        self._signing_key: str | None = None
        self._inspector = None

    def signing_key(self) -> str:
        if self._signing_key is None:
            self._signing_key = load_or_create_signing_key(
                self.settings["postal.signing_key_path"], self.settings["postal.dkim_key_size"]
            )
        return self._signing_key

    def run(self, batch: Batch, job: Job) -> Outcome:
        try:
            outcome = self.checks(batch, job) or self.deliver(job)
            outcome.inspection = job.inspection
            return outcome
        except Exception as exc:
            log.exception("error while processing message %s", job.message.id)
            return Outcome("Error", INTERNAL_ERROR, f"{type(exc).__name__}: {exc}", requeue=True)

    def checks(self, batch: Batch, job: Job) -> Outcome | None:
        """Every reason not to send, in Postal's order; ``None`` when the message may go."""
        message, settings = job.message, self.settings
        maximum = settings["postal.default_maximum_delivery_attempts"]
        if job.server.suspended:
            return Outcome("Held", SUSPENDED)
        if job.queued.attempts >= maximum:
            return Outcome(
                "HardFail",
                f"Maximum number of delivery attempts ({maximum}) has been reached. "
                f"Added {message.rcpt_to} to suppression list because delivery has failed "
                f"{maximum} times.",
                suppress_reason="too many soft fails",
            )
        if job.raw is None:
            return Outcome("HardFail", "Raw message has been removed. Cannot send message.")
        if message.scope != "outgoing":
            return Outcome("HardFail", f"Scope {message.scope} is not valid")
        if job.domain is None:
            return Outcome("HardFail", "Message's domain no longer exist")
        if not message.rcpt_to:
            return Outcome("HardFail", "Message doesn't have an RCPT to")
        if not message.tag:
            tagged = _TAG_HEADER.search(_header_block(job.raw)) is not None
            message.tag = (tagged and (last_header(job.raw, b"X-Postal-Tag") or "")[:255]) or None
        if job.credential is not None and job.credential.hold and not job.manual:
            return Outcome(
                "Held", "Credential is configured to hold all messages authenticated by it."
            )
        suppression = job.suppression
        if suppression is not None and not job.manual and _active(suppression):
            return Outcome(
                "Held",
                f"Recipient ({message.rcpt_to}) is on the suppression list "
                f"(reason: {suppression.reason})",
            )
        return (
            self.outbound_spam(batch, job)
            or self.send_limit(batch, job)
            or self.development_mode(job)
        )

    def outbound_spam(self, batch: Batch, job: Job) -> Outcome | None:
        """Only for servers with an outbound threshold (an admin setting), as Postal."""
        threshold = job.server.outbound_spam_threshold
        if threshold is None or job.message.inspected:
            return None
        if self._inspector is None:
            self._inspector = Inspector(self.hooks)
        scanned = self._inspector.inspect(
            batch, job.message.raw_message_id, incoming_message(job, crlf(job.raw)), virus=False
        )
        job.inspection = inspection = replace(scanned, checks=list(scanned.checks))
        inspection.spam = inspection.score >= threshold
        if inspection.spam:
            return Outcome(
                "HardFail",
                f"Message is likely spam. Threshold is {threshold} and the message scored "
                f"{inspection.score}.",
            )
        return None

    def send_limit(self, batch: Batch, job: Job) -> Outcome | None:
        server, limit = job.server, job.server.send_limit
        if limit is None:
            return None
        with self._lock:
            volume = batch.volumes.get(server.id, 0)
            if volume >= limit:
                self._flag(batch, server, "exceeded", volume)
                details = f"Message held because send limit ({limit}) has been reached."
                return Outcome("Held", details)
            batch.volumes[server.id] = volume + 1
            if volume + 1 >= 0.9 * limit:
                self._flag(batch, server, "approaching", volume + 1)
        return None

    def _flag(self, batch: Batch, server, kind: str, volume: int) -> None:
        """Mark the server and, at most once an hour, announce it (Postal's notification
        task does the same every minute)."""
        now = utcnow()
        setattr(server, f"send_limit_{kind}_at", now)
        batch.servers_touched[server.id] = server
        notified = getattr(server, f"send_limit_{kind}_notified_at")
        if notified is None or (now - notified).total_seconds() >= 3600:
            setattr(server, f"send_limit_{kind}_notified_at", now)
            name = "SendLimitApproaching" if kind == "approaching" else "SendLimitExceeded"
            payload = {"server": server_hash(server), "volume": volume, "limit": server.send_limit}
            batch.events.append(Event(name, server.id, payload))

    def development_mode(self, job: Job) -> Outcome | None:
        if job.server.mode == "Development" and not job.manual:
            return Outcome("Held", "Server is in development mode.")
        return None

    def outgoing_message(self, job: Job) -> OutgoingMessage:
        message, server, domain, settings = job.message, job.server, job.domain, self.settings
        outgoing = OutgoingMessage(
            id=message.id,
            token=message.token,
            server_id=server.id,
            server_token=server.token,
            mail_from=self.return_path(job),
            rcpt_to=message.rcpt_to,
            raw=crlf(job.raw or b""),
            sender_domain=domain.name if domain else None,
            tag=message.tag,
        )
        if job.source_ip is not None:
            outgoing.source_ipv4 = job.source_ip.ipv4
            outgoing.source_ipv6 = job.source_ip.ipv6
            outgoing.helo_hostname = job.source_ip.hostname
        if domain is not None and domain.dkim_status == "OK":
            outgoing.dkim_domain = domain.name
            outgoing.dkim_selector = selector(
                settings["dns.dkim_identifier"], domain.dkim_identifier_string
            )
            outgoing.dkim_private_key = domain.dkim_private_key
        else:
            outgoing.dkim_domain = settings["dns.return_path_domain"]
            outgoing.dkim_selector = settings["dns.dkim_identifier"]
            outgoing.dkim_private_key = self.signing_key()
        return outgoing

    def return_path(self, job: Job) -> str:
        """MAIL FROM as Postal builds it: ``<>`` for bounces, else the server token at the
        domain's own return path when its CNAME checks out, else at the installation's."""
        if job.message.bounce:
            return ""
        settings, domain = self.settings, job.domain
        if domain is not None and domain.return_path_status == "OK":
            host = f"{settings['dns.custom_return_path_prefix']}.{domain.name}"
        else:
            host = settings["dns.return_path_domain"]
        return f"{job.server.token}@{host}"

    def deliver(self, job: Job) -> Outcome:
        outgoing = job.outgoing = self.outgoing_message(job)
        self.hooks.postal_before_send(message=outgoing)
        if not has_outgoing_headers(outgoing.raw):
            # The dkim plugin adds it with the signature; without that plugin, bounces
            # must still be traceable to this message.
            outgoing.raw = b"X-Postal-MsgID: " + outgoing.token.encode() + b"\r\n" + outgoing.raw
        domain = recipient_domain(job.message.rcpt_to) or ""
        result = self.hooks.postal_deliver_outgoing(message=outgoing, domain=domain)
        if result is None:
            return Outcome("SoftFail", "No delivery plugin accepted the message.", requeue=True)
        outcome = outcome_of(result)
        if result.status == "HardFail":
            # A recipient the remote says does not exist is suppressed at once; other
            # permanent failures (content, policy) only when they repeat (Postal's rule).
            first = outgoing.notes.get("recipient_rejected", False)
            outcome.suppress_reason = "too many hard fails"
            outcome.suppress_now = bool(first)
        elif result.status == "Sent" and job.suppression is not None:
            outcome.unsuppress = True
            outcome.details += " Recipient removed from suppression list"
        return outcome


def _active(suppression) -> bool:
    return suppression.keep_until is None or suppression.keep_until > utcnow()
