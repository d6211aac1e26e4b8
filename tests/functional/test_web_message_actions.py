"""The message page's actions (retry, release, cancel hold, remove from queue), its spam
report, threat details, opens and clicks."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select, update

from postal.messages import store_message
from postal.models import Click, Delivery, Link, Load, Message, QueuedMessage, SpamCheck, utcnow
from tests.fixtures.web_server import refused_without_token


RAW = (
    b"From: a@example.com\r\nTo: b@example.net\r\nSubject: Hello\r\n"
    b"Message-ID: <m@example.com>\r\n\r\nHi\r\n"
)


@pytest.fixture
def store(server_owner, dbsession):
    def make(**fields) -> Message:
        (message,) = store_message(
            dbsession, server_owner.server, scope="outgoing", mail_from="a@example.com",
            rcpt_to=["b@example.net"], raw=RAW, **fields,
        )  # fmt: skip
        dbsession.commit()
        return message

    return make


def queued(dbsession, message) -> QueuedMessage | None:
    dbsession.rollback()  # see the application's commits (MariaDB: repeatable read)
    return dbsession.scalar(select(QueuedMessage).where(QueuedMessage.message_id == message.id))


def path(web, message, action="") -> str:
    return f"{web.base}/messages/{message.id}" + (f"/{action}" if action else "")


def test_release_a_held_message(server_owner, store, dbsession):
    web = server_owner
    message = store(queue=False, status="Held", held=True, hold_expiry=utcnow())
    page = web.app.get(path(web, message)).text
    assert ">Release</button>" in page and ">Cancel hold</button>" in page
    refused_without_token(web, path(web, message, "release"))
    done = web.post(path(web, message, "release")).follow()
    assert "has been released" in done.text
    row = queued(dbsession, message)
    assert row is not None and row.manual is True  # a manual send skips the holds
    dbsession.refresh(message)
    assert (message.held, message.hold_expiry) == (False, None)
    again = web.post(path(web, message, "release")).follow()
    assert "Only held messages can be released" in again.text


def test_cancel_a_hold(server_owner, store, dbsession):
    web = server_owner
    message = store(queue=False, status="Held", held=True)
    refused_without_token(web, path(web, message, "cancel-hold"))
    page = web.post(path(web, message, "cancel-hold")).follow().text
    assert "The hold has been cancelled" in page
    assert "The hold on this message has been removed without action." in page
    dbsession.rollback()
    dbsession.refresh(message)
    assert (message.status, message.held) == ("HoldCancelled", False)
    assert queued(dbsession, message) is None
    assert "Only held messages" in web.post(path(web, message, "cancel-hold")).follow().text


def test_retry_and_remove_from_queue(server_owner, store, dbsession):
    web = server_owner
    message = store()  # queued
    later = utcnow() + dt.timedelta(hours=1)
    dbsession.execute(update(QueuedMessage).values(retry_after=later))
    dbsession.commit()
    page = web.app.get(path(web, message)).text
    assert ">Retry now</button>" in page and ">Remove from queue</button>" in page
    refused_without_token(web, path(web, message, "retry"))
    web.post(path(web, message, "retry"))
    assert queued(dbsession, message).retry_after is None

    dbsession.execute(update(QueuedMessage).values(locked_at=utcnow(), locked_by="worker-1"))
    dbsession.commit()
    page = web.app.get(path(web, message)).text
    assert "Being delivered right now" in page and ">Remove from queue</button>" not in page
    refused = web.post(path(web, message, "remove-from-queue")).follow()
    assert "being delivered right now" in refused.text
    assert queued(dbsession, message) is not None

    dbsession.execute(update(QueuedMessage).values(locked_at=None, locked_by=None))
    dbsession.commit()
    refused_without_token(web, path(web, message, "remove-from-queue"))
    web.post(path(web, message, "remove-from-queue"))
    assert queued(dbsession, message) is None
    assert "not in the queue" in web.post(path(web, message, "remove-from-queue")).follow().text
    # A message no longer queued is retried by queueing it again, manually.
    assert ">Retry</button>" in web.app.get(path(web, message)).text
    web.post(path(web, message, "retry"))
    assert queued(dbsession, message).manual is True


def test_spam_report_threat_opens_and_clicks(server_owner, store, dbsession):
    web = server_owner
    message = store(queue=False, status="Sent")
    assert "Not opened or clicked yet" in web.app.get(path(web, message)).text
    message.threat, message.threat_details = True, "Eicar-Test-Signature FOUND"
    link = Link(message_id=message.id, token="tok1", hash="h", url="https://example.com/offer")
    dbsession.add_all([
        SpamCheck(message_id=message.id, score=2.5, code="HTML_MESSAGE", description="HTML"),
        SpamCheck(message_id=message.id, score=0.8, code="MISSING_DATE", description="No date"),
        Load(message_id=message.id, ip_address="192.0.2.1", user_agent="MailClient/1"),
        link,
    ])  # fmt: skip
    dbsession.flush()
    dbsession.add(Click(message_id=message.id, link_id=link.id, ip_address="192.0.2.2",
                        user_agent="Browser/2"))  # fmt: skip
    dbsession.add(Delivery(message_id=message.id, status="Sent", details="Accepted"))
    dbsession.commit()
    page = web.app.get(path(web, message)).text
    assert page.index("HTML_MESSAGE") < page.index("MISSING_DATE")  # highest score first
    assert "Eicar-Test-Signature FOUND" in page
    assert "Opened" in page and "MailClient/1" in page and "192.0.2.1" in page
    assert "https://example.com/offer" in page and "Browser/2" in page


def test_other_organisations_get_404(server_owner, store, stranger, dbsession):
    message = store(queue=False, status="Held", held=True)
    other = stranger()
    for action in ("retry", "release", "cancel-hold", "remove-from-queue"):
        other.post(path(server_owner, message, action), status=404)
        other.post(f"/org/other/servers/theirs/messages/{message.id}/{action}", status=404)
    dbsession.rollback()
    dbsession.refresh(message)
    assert message.held is True and queued(dbsession, message) is None
