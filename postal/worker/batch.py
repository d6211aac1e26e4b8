"""Loading everything a claimed batch needs in a handful of queries (not a few per
message), and the per-message outcome the pipeline fills in."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from sqlalchemy import bindparam, func, select
from sqlalchemy import inspect as sa_inspect
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
    queued: QueuedRecord  # a QueuedMessage's columns (and ``message``)
    message: MessageRecord  # a Message's columns
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


class Record:
    """One row read with Core: its columns as attributes, named as on the ORM entity.

    The pipeline only reads queue rows and messages (and sets a few attributes it then
    writes back itself), so it needs no identity map or attribute instrumentation: building
    these is a fraction of the cost of loading ORM entities, a few dozen per batch."""

    @classmethod
    def of(cls, keys: tuple[str, ...], values) -> Record:
        record = cls.__new__(cls)
        record.__dict__ = dict(zip(keys, values, strict=True))
        return record

    def __repr__(self) -> str:
        return f"<{type(self).__name__} id={self.__dict__.get('id')!r}>"


class QueuedRecord(Record):
    """A ``queued_messages`` row (and ``message``, its :class:`MessageRecord`)."""


class MessageRecord(Record):
    """A ``messages`` row."""


def _columns(model) -> tuple[tuple[str, ...], list]:
    attrs = sa_inspect(model).column_attrs
    return tuple(a.key for a in attrs), [a.columns[0] for a in attrs]


_QUEUE, _MESSAGES, _RAW = QueuedMessage.__table__, Message.__table__, RawMessage.__table__
_QUEUED_KEYS, _QUEUED_COLUMNS = _columns(QueuedMessage)
_MESSAGE_KEYS, _MESSAGE_COLUMNS = _columns(Message)
_SPLIT = len(_QUEUED_KEYS)
_MESSAGE_ID = _SPLIT + _MESSAGE_KEYS.index("id")
# Built once: a statement's cache key is memoised on it, so each batch only binds values.
_LOAD_QUEUED = (
    select(*_QUEUED_COLUMNS, *_MESSAGE_COLUMNS)
    .select_from(_QUEUE.outerjoin(_MESSAGES, _MESSAGES.c.id == _QUEUE.c.message_id))
    .where(
        _QUEUE.c.id.in_(bindparam("ids", expanding=True)),
        _QUEUE.c.locked_by == bindparam("token"),
    )
    .order_by(_QUEUE.c.id)
)
_LOAD_RAWS = select(_RAW.c.id, _RAW.c.data).where(_RAW.c.id.in_(bindparam("ids", expanding=True)))
_LOAD_SERVERS = (
    select(Server)
    .where(Server.id.in_(bindparam("ids", expanding=True)))
    .options(joinedload(Server.organization))
)
_BY_ID = {
    model: select(model).where(model.id.in_(bindparam("ids", expanding=True)))
    for model in (Domain, Credential, IPAddress)
}
_SUPPRESSIONS = select(Suppression).where(
    Suppression.server_id.in_(bindparam("servers", expanding=True)),
    Suppression.type == "recipient",
    # Addresses are stored lower-case, so the unique index serves this.
    Suppression.address.in_(bindparam("addresses", expanding=True)),
)


def load_batch(dbsession, token: str, ids: list[int]) -> Batch:
    db = dbsession
    connection = db.connection()
    queued, messages, orphans = [], [], []
    for row in connection.execute(_LOAD_QUEUED, {"ids": list(ids), "token": token}).all():
        q = QueuedRecord.of(_QUEUED_KEYS, row[:_SPLIT])
        if row[_MESSAGE_ID] is None:  # no message row joined: it was deleted
            orphans.append(q.id)
            continue
        queued.append(q)
        messages.append(MessageRecord.of(_MESSAGE_KEYS, row[_SPLIT:]))
    raw_ids = {m.raw_message_id for m in messages} - {None}
    raws = dict(connection.execute(_LOAD_RAWS, {"ids": list(raw_ids)}).all()) if raw_ids else {}
    server_ids = list({q.server_id for q in queued})
    servers = (
        {s.id: s for s in db.scalars(_LOAD_SERVERS, {"ids": server_ids}).unique()}
        if server_ids
        else {}
    )
    domains = _by_id(db, Domain, {m.domain_id for m in messages})
    credentials = _by_id(db, Credential, {m.credential_id for m in messages})
    suppressions = _suppressions(db, messages)
    source_ips = _by_id(db, IPAddress, {q.ip_address_id for q in queued})
    jobs = []
    for q, m in zip(queued, messages, strict=True):
        q.message = m
        jobs.append(
            Job(
                queued=q,
                message=m,
                raw=raws.get(m.raw_message_id),
                server=servers[q.server_id],
                domain=domains.get(m.domain_id),
                credential=credentials.get(m.credential_id),
                suppression=suppressions.get((q.server_id, (m.rcpt_to or "").lower())),
                source_ip=source_ips.get(q.ip_address_id),
            )
        )
    batch = Batch(token=token, jobs=jobs)
    batch.volumes = _volumes(db, [s for s in servers.values() if s.send_limit is not None])
    batch.orphans = orphans
    return batch


def _by_id(db, model, ids) -> dict:
    ids = [i for i in ids if i is not None]
    if not ids:
        return {}
    return {row.id: row for row in db.scalars(_BY_ID[model], {"ids": ids})}


def _suppressions(db, messages) -> dict[tuple[int, str], Suppression]:
    addresses = list({(m.rcpt_to or "").lower() for m in messages})
    server_ids = list({m.server_id for m in messages})
    if not addresses:
        return {}
    rows = db.scalars(_SUPPRESSIONS, {"servers": server_ids, "addresses": addresses})
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
