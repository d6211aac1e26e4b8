"""Postal's message search: ``to: a@b.com status: held after: 2024-01-01 "free words"``.

Keys: ``to``, ``from``, ``subject``, ``tag``, ``status``, ``msgid``, ``id``, ``token``,
``spam`` (``yes`` shows spam, hidden otherwise), ``before``/``after`` (``yyyy-mm-dd``,
``"yyyy-mm-dd hh:mm"``, ``today``, ``yesterday``, ``"N hours ago"``, ``"N days ago"``) and
``order: oldest-first``.  Values with spaces go in double quotes; ``[blank]`` means empty;
a repeated key matches any of its values.  Words without a key match the subject, sender or
recipient.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field

from sqlalchemy import Select, func, or_

from ..models import Message, MessageStatus


KEYS = {
    "to", "from", "subject", "tag", "status", "msgid", "id", "token", "spam", "before",
    "after", "order",
}  # fmt: skip
STATUSES = {status.value.lower(): status.value for status in MessageStatus}
BLANK = "[blank]"
TOKEN_RE = re.compile(r'(?:(\w+):\s*)?(?:"([^"]*)"|(\S+))')
AGO_RE = re.compile(r"^(\d+)\s*(hour|day|week)s?\s+ago$")


class SearchError(ValueError):
    """A query that cannot be understood; the message is safe to show."""


@dataclass
class Search:
    terms: dict[str, list[str]] = field(default_factory=dict)
    words: list[str] = field(default_factory=list)

    @property
    def spam(self) -> bool:
        return any(value.lower() in ("yes", "true", "1") for value in self.terms.get("spam", []))

    @property
    def oldest_first(self) -> bool:
        return "oldest-first" in (v.lower() for v in self.terms.get("order", []))

    @property
    def crosses_scopes(self) -> bool:
        """``msgid:`` looks in both directions, as Postal's does."""
        return "msgid" in self.terms


def parse(query: str) -> Search:
    search = Search()
    for key, quoted, bare in TOKEN_RE.findall(query or ""):
        value = quoted if quoted or bare == "" else bare
        if not key:
            search.words.append(value)
            continue
        key = key.lower()
        if key not in KEYS:
            raise SearchError(f"Unknown search key {key}:. Use one of: {', '.join(sorted(KEYS))}.")
        search.terms.setdefault(key, []).append(value)
    return search


def parse_time(value: str, zone: dt.tzinfo, now: dt.datetime) -> dt.datetime:
    text = value.strip().lower()
    local_now = now.astimezone(zone)
    midnight = local_now.replace(hour=0, minute=0, second=0, microsecond=0)
    if text == "today":
        return midnight
    if text == "yesterday":
        return midnight - dt.timedelta(days=1)
    if text == "now":
        return now
    ago = AGO_RE.match(text)
    if ago:
        return now - dt.timedelta(**{f"{ago.group(2)}s": int(ago.group(1))})
    for fmt in ("%Y-%m-%d %H:%M", "%Y-%m-%d"):
        try:
            return dt.datetime.strptime(text, fmt).replace(tzinfo=zone)
        except ValueError:
            continue
    raise SearchError(f'{value!r} is not a date (use yyyy-mm-dd, "yyyy-mm-dd hh:mm" or today).')


def _matches(column, values: list[str], *, lower: bool = True):
    conditions = []
    for value in values:
        if value == BLANK:
            conditions.append(column.is_(None))
        elif "*" in value:
            pattern = value.replace("*", "%")
            conditions.append(
                func.lower(column).like(pattern.lower()) if lower else column.like(pattern)
            )
        else:
            conditions.append(func.lower(column) == value.lower() if lower else column == value)
    return or_(*conditions)


def apply(query: Select, search: Search, *, zone: dt.tzinfo, now: dt.datetime) -> Select:
    """Add the search's conditions to a ``select(Message)``."""
    terms = search.terms
    simple = {"to": Message.rcpt_to, "from": Message.mail_from, "tag": Message.tag}
    for key, column in simple.items():
        if key in terms:
            query = query.where(_matches(column, terms[key]))
    if "token" in terms:
        query = query.where(_matches(Message.token, terms["token"], lower=False))
    if "msgid" in terms:
        ids = [value.strip().strip("<>") for value in terms["msgid"]]
        query = query.where(_matches(Message.message_id, ids, lower=False))
    if "subject" in terms:
        query = query.where(
            or_(
                *(
                    func.lower(Message.subject).contains(v.lower(), autoescape=True)
                    for v in terms["subject"]
                )
            )
        )
    if "status" in terms:
        statuses = []
        for value in terms["status"]:
            if value.lower() not in STATUSES:
                raise SearchError(f"Unknown status {value!r}; use one of {', '.join(STATUSES)}.")
            statuses.append(STATUSES[value.lower()])
        query = query.where(Message.status.in_(statuses))
    if "id" in terms:
        try:
            query = query.where(Message.id.in_([int(value) for value in terms["id"]]))
        except ValueError:
            raise SearchError("id: takes message numbers.") from None
    for key, compare in (("after", Message.timestamp.__ge__), ("before", Message.timestamp.__lt__)):
        for value in terms.get(key, []):
            query = query.where(compare(parse_time(value, zone, now)))
    for word in search.words:
        like = word.lower()
        query = query.where(
            or_(
                func.lower(Message.subject).contains(like, autoescape=True),
                func.lower(Message.rcpt_to).contains(like, autoescape=True),
                func.lower(Message.mail_from).contains(like, autoescape=True),
            )
        )
    if not search.spam:
        query = query.where(Message.spam.is_(False))
    return query
