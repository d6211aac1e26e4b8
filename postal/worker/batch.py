"""Loading everything a claimed batch needs in a handful of queries (not a few per
message), and the per-message outcome the pipeline fills in."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from sqlalchemy import func, select
from sqlalchemy.orm import joinedload

from ..models import (
    Credential,
    Domain,
    IPAddress,
    Message,
    QueuedMessage,
    RawMessage,
    Server,
    Suppression,
    utcnow,
)  # fmt: skip


COUNTED_STATUSES = ("Sent", "SoftFail", "HardFail", "Bounced")


@dataclass
class Outcome:
    """What happened to one message on this pass.

    ``status`` None means no delivery is recorded (the queue row is simply dropped).
    ``requeue`` keeps the queue row for a retry after ``retry_in`` seconds (None: the
    schedule decides).
    """

    status: str | None
    details: str = ""
    output: str = ""
    sent_with_ssl: bool = False
    log_id: str | None = None
    time: float | None = None
    requeue: bool = False
    retry_in: float | None = None
    suppress_reason: str | None = None
    # False: suppress only if the recipient already hard-failed in the last 24 hours.
    suppress_now: bool = True
    unsuppress: bool = False
    timestamp: dt.datetime = field(default_factory=utcnow)
    # What the spam and virus scanners said (stored with the message and its checks).
    inspection: object | None = None
    # Receiving: send a bounce to the sender and append this note ("{id}" is its id).
    bounce_note: str | None = None
    # Receiving: outgoing messages this bounce was linked to, and whether it is permanent.
    bounced: list = field(default_factory=list)
    hard_bounce: bool = True
    # Receiving: the endpoint that took the message (its ``last_used_at`` is updated).
    endpoint_used: object | None = None


def outcome_of(result) -> Outcome:
    """The outcome of a delivery plugin's :class:`~postal.types.DeliveryResult`; a
    ``SoftFail`` is retried (after the delay the remote asked for, if any)."""
    outcome = Outcome(
        result.status,
        result.details,
        result.output or "",
        sent_with_ssl=result.sent_with_ssl,
        log_id=result.log_id,
        time=result.time,
    )
    if result.status == "SoftFail":
        outcome.requeue, outcome.retry_in = True, result.retry_after
    return outcome


@dataclass
class Job:
    queued: QueuedMessage
    message: Message
    raw: bytes | None
    server: Server
    domain: Domain | None
    credential: Credential | None
    suppression: Suppression | None
    outcome: Outcome | None = None
    # The message as handed to the delivery plugins (None when a check stopped it first).
    outgoing: object | None = None
    # Receiving (loaded by :mod:`postal.worker.incoming_loading`): the message's route, its
    # endpoint snapshot, and for bounces what the detector read and the originals found.
    route: object | None = None
    endpoint: object | None = None
    bounce_info: object | None = None
    originals: list = field(default_factory=list)
    # Outgoing: the outbound spam scan, when the server has a threshold.
    inspection: object | None = None
    # The IP pool address the queue row was given (``postal.use_ip_pools``).
    source_ip: IPAddress | None = None

    @property
    def manual(self) -> bool:
        return bool(self.queued.manual)


@dataclass
class Batch:
    token: str
    jobs: list[Job]
    # Outgoing messages each server sent in the last hour, for send limits.
    volumes: dict[int, int] = field(default_factory=dict)
    # Servers whose send-limit flags changed on this pass.
    servers_touched: dict[int, Server] = field(default_factory=dict)
    # Queue rows whose message no longer exists: removed without a delivery.
    orphans: list[int] = field(default_factory=list)
    # Events decided while processing (send limits), fired with the batch's outcomes.
    events: list = field(default_factory=list)
    # Scan results by (raw message id, scope): copies of one message are scanned once.
    inspections: dict = field(default_factory=dict)


def load_batch(dbsession, token: str, ids: list[int]) -> Batch:
    db = dbsession
    queued = db.scalars(
        select(QueuedMessage)
        .where(QueuedMessage.id.in_(ids), QueuedMessage.locked_by == token)
        .options(joinedload(QueuedMessage.message))
        .order_by(QueuedMessage.id)
    ).all()
    messages = [q.message for q in queued if q.message is not None]
    raws = _by_id(db, RawMessage, {m.raw_message_id for m in messages})
    servers = {
        s.id: s
        for s in db.scalars(
            select(Server)
            .where(Server.id.in_({q.server_id for q in queued}))
            .options(joinedload(Server.organization))
        ).unique()
    }
    domains = _by_id(db, Domain, {m.domain_id for m in messages})
    credentials = _by_id(db, Credential, {m.credential_id for m in messages})
    suppressions = _suppressions(db, messages)
    source_ips = _by_id(db, IPAddress, {q.ip_address_id for q in queued})
    jobs = [
        Job(
            queued=q,
            message=q.message,
            raw=raws[q.message.raw_message_id].data if q.message.raw_message_id in raws else None,
            server=servers[q.server_id],
            domain=domains.get(q.message.domain_id),
            credential=credentials.get(q.message.credential_id),
            suppression=suppressions.get((q.server_id, (q.message.rcpt_to or "").lower())),
            source_ip=source_ips.get(q.ip_address_id),
        )
        for q in queued
        if q.message is not None
    ]
    batch = Batch(token=token, jobs=jobs)
    batch.volumes = _volumes(db, [s for s in servers.values() if s.send_limit is not None])
    batch.orphans = [q.id for q in queued if q.message is None]
    return batch


def _by_id(db, model, ids) -> dict:
    ids = {i for i in ids if i is not None}
    if not ids:
        return {}
    return {row.id: row for row in db.scalars(select(model).where(model.id.in_(ids)))}


def _suppressions(db, messages) -> dict[tuple[int, str], Suppression]:
    addresses = {(m.rcpt_to or "").lower() for m in messages}
    server_ids = {m.server_id for m in messages}
    if not addresses:
        return {}
    rows = db.scalars(
        select(Suppression).where(
            Suppression.server_id.in_(server_ids),
            Suppression.type == "recipient",
            # Addresses are stored lower-case, so the unique index serves this.
            Suppression.address.in_(addresses),
        )
    )
    return {(s.server_id, s.address.lower()): s for s in rows}


def _volumes(db, servers) -> dict[int, int]:
    """Postal counts outgoing messages processed in the last 60 minutes."""
    since = utcnow() - dt.timedelta(hours=1)
    volumes = {}
    for server in servers:
        volumes[server.id] = db.scalar(
            select(func.count())
            .select_from(Message)
            .where(
                Message.server_id == server.id,
                Message.scope == "outgoing",
                Message.last_delivery_attempt >= since,
                Message.status.in_(COUNTED_STATUSES),
            )
        )
    return volumes
