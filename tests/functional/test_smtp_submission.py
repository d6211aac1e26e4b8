"""Authenticated submission and inbound mail through the real SMTP process: what is stored
and queued, and what is refused."""

from __future__ import annotations

import smtplib
import ssl

import pytest
from sqlalchemy import select

from postal.models import Message, QueuedMessage, RawMessage


pytestmark = pytest.mark.functional

MESSAGE = (
    "From: Sender <sender@example.com>\r\n"
    "To: rcpt@dest.test\r\n"
    "Subject: Hello there\r\n"
    "Message-ID: <abc@example.com>\r\n"
    "\r\n"
    "Body line\r\n"
    ".starts with a dot\r\n"
)


@pytest.fixture
def sending_server(smtp_data):
    server = smtp_data.server()
    credential = smtp_data.credential(server)
    domain = smtp_data.domain("example.com", server=server)
    return server, credential, domain


def messages(dbsession):
    dbsession.expire_all()
    return dbsession.scalars(select(Message).order_by(Message.id)).all()


def test_smtplib_submission_is_stored_and_queued(smtp_server, sending_server, dbsession):
    server, credential, domain = sending_server
    with smtplib.SMTP("127.0.0.1", smtp_server.port, timeout=10) as client:
        client.starttls(context=ssl._create_unverified_context())
        client.login("anything", credential.key)
        refused = client.sendmail("bounces@example.com", ["a@dest.test", "b@other.test"], MESSAGE)
    assert refused == {}
    rows = messages(dbsession)
    assert [(m.scope, m.rcpt_to, m.mail_from) for m in rows] == [
        ("outgoing", "a@dest.test", "bounces@example.com"),
        ("outgoing", "b@other.test", "bounces@example.com"),
    ]
    first = rows[0]
    assert first.server_id == server.id
    assert first.credential_id == credential.id
    assert first.domain_id == domain.id
    assert first.received_with_ssl is True
    assert first.subject == "Hello there"
    assert first.message_id == "abc@example.com"
    raw = dbsession.get(RawMessage, first.raw_message_id).data
    assert raw.startswith(b"Received: from ")
    assert b"by smtp.postal.test with SMTP; " in raw.split(b"\r\n", 1)[0]
    assert raw.endswith(b"Body line\r\n.starts with a dot\r\n")  # unstuffed
    queued = dbsession.scalars(select(QueuedMessage).order_by(QueuedMessage.id)).all()
    assert [q.message_id for q in queued] == [m.id for m in rows]
    assert [q.domain for q in queued] == ["dest.test", "other.test"]


def test_wrong_from_domain_is_refused(smtp_server, sending_server, dbsession):
    _server, credential, _domain = sending_server
    with smtplib.SMTP("127.0.0.1", smtp_server.port, timeout=10) as client:
        client.login("x", credential.key)
        with pytest.raises(smtplib.SMTPDataError) as error:
            client.sendmail(
                "a@example.com", ["a@dest.test"], MESSAGE.replace("example.com", "evil.test")
            )
    assert (error.value.smtp_code, error.value.smtp_error) == (
        530,
        b"From/Sender name is not valid",
    )
    assert messages(dbsession) == []


def test_sender_header_counts_when_the_server_allows_it(smtp_server, smtp_data, dbsession):
    server = smtp_data.server(allow_sender=True)
    credential = smtp_data.credential(server)
    smtp_data.domain("example.com", server=server)
    body = "From: someone@gmail.test\r\nSender: me@example.com\r\n\r\nhi\r\n"
    with smtplib.SMTP("127.0.0.1", smtp_server.port, timeout=10) as client:
        client.login("x", credential.key)
        client.sendmail("me@example.com", ["a@dest.test"], body)
    assert len(messages(dbsession)) == 1


def test_organisation_domain_and_use_for_any(smtp_server, smtp_data, dbsession):
    server = smtp_data.server()
    credential = smtp_data.credential(server)
    smtp_data.domain("org.test", org=server.organization)
    smtp_data.domain("any.test", server=server, use_for_any=True)
    with smtplib.SMTP("127.0.0.1", smtp_server.port, timeout=10) as client:
        client.login("x", credential.key)
        client.sendmail("a@org.test", ["a@dest.test"], "From: a@org.test\r\n\r\nhi\r\n")
        client.sendmail("a@else.test", ["a@dest.test"], "From: a@else.test\r\n\r\nhi\r\n")
    rows = messages(dbsession)
    assert len(rows) == 2
    assert rows[1].domain_id is not None and rows[1].domain_id != rows[0].domain_id


def test_suspended_server_cannot_send(smtp_server, smtp_data):
    from postal.models import utcnow

    server = smtp_data.server(suspended_at=utcnow())
    credential = smtp_data.credential(server)
    with smtplib.SMTP("127.0.0.1", smtp_server.port, timeout=10) as client:
        client.login("x", credential.key)
        client.mail("a@example.com")
        assert client.rcpt("a@dest.test") == (535, b"Mail server has been suspended")
