"""RCPT classification through the real SMTP process: routes, return path, route tokens,
SMTP-IP credentials, and no open relay."""

from __future__ import annotations

import smtplib

import pytest
from sqlalchemy import select

from postal.models import Message, QueuedMessage


pytestmark = pytest.mark.functional


@pytest.fixture
def routed(smtp_data):
    """A server receiving mail for support@in.test (two endpoints) and *@wild.test."""
    server = smtp_data.server()
    domain = smtp_data.domain("in.test", server=server)
    wild = smtp_data.domain("wild.test", server=server)
    support = smtp_data.route(
        server, "support", domain, endpoint_type="HTTPEndpoint", endpoint_id=7
    )
    from postal.models import AdditionalRouteEndpoint

    smtp_data.db.add(
        AdditionalRouteEndpoint(route_id=support.id, endpoint_type="SMTPEndpoint", endpoint_id=9)
    )
    smtp_data.db.commit()
    catch_all = smtp_data.route(server, "*", wild, mode="Accept")
    smtp_data.route(server, "closed", domain, mode="Reject")
    return server, support, catch_all


def rows(dbsession):
    dbsession.expire_all()
    return dbsession.scalars(select(Message).order_by(Message.id)).all()


def test_routed_mail_is_stored_per_endpoint(smtp_server, routed, dbsession):
    server, support, _ = routed
    with smtplib.SMTP("127.0.0.1", smtp_server.port, timeout=10) as client:
        client.sendmail("x@remote.test", ["support+urgent@IN.test"], "Subject: hi\r\n\r\nhi\r\n")
    stored = rows(dbsession)
    assert [(m.scope, m.rcpt_to, m.route_id, m.endpoint_type, m.endpoint_id) for m in stored] == [
        ("incoming", "support+urgent@in.test", support.id, "HTTPEndpoint", 7),
        ("incoming", "support+urgent@in.test", support.id, "SMTPEndpoint", 9),
    ]
    assert all(m.server_id == server.id and m.received_with_ssl is False for m in stored)
    queued = dbsession.scalars(select(QueuedMessage).order_by(QueuedMessage.id)).all()
    assert [q.route_id for q in queued] == [support.id, support.id]


def test_wildcard_route_and_reject_mode(smtp_server, routed, dbsession):
    _server, _support, catch_all = routed
    with smtplib.SMTP("127.0.0.1", smtp_server.port, timeout=10) as client:
        client.ehlo()
        client.mail("x@remote.test")
        assert client.rcpt("closed@in.test") == (550, b"Route does not accept incoming messages")
        assert client.rcpt("nobody@in.test") == (530, b"Authentication required")
        assert client.rcpt("anyone@wild.test") == (250, b"OK")
        assert client.data(b"Subject: x\r\n\r\nbody\r\n") == (250, b"OK")
    assert [(m.rcpt_to, m.route_id) for m in rows(dbsession)] == [
        ("anyone@wild.test", catch_all.id)
    ]


def test_route_token_address_is_rewritten(smtp_server, routed, dbsession):
    _server, support, _ = routed
    with smtplib.SMTP("127.0.0.1", smtp_server.port, timeout=10) as client:
        client.ehlo()
        client.mail("x@remote.test")
        assert client.rcpt("zzzzzzzz@routes.postal.test") == (550, b"Invalid route token")
        assert client.rcpt(f"{support.token}+tag@routes.postal.test") == (250, b"OK")
        client.data(b"\r\nbody\r\n")
    assert rows(dbsession)[0].rcpt_to == "support+tag@in.test"


def test_return_path_mail_is_a_bounce(smtp_server, smtp_data, dbsession):
    server = smtp_data.server()
    with smtplib.SMTP("127.0.0.1", smtp_server.port, timeout=10) as client:
        client.ehlo()
        client.mail("")
        assert client.rcpt("nosuch@rp.postal.test") == (550, b"Invalid server token")
        assert client.rcpt(f"{server.token}@rp.postal.test") == (250, b"OK")
        assert client.rcpt(f"{server.token}@psrp.customer.test") == (250, b"OK")
        client.data(b"Subject: failure\r\n\r\nbounce\r\n")
    stored = rows(dbsession)
    assert [(m.scope, m.bounce, m.route_id, m.mail_from) for m in stored] == [
        ("incoming", True, None, ""),
        ("incoming", True, None, ""),
    ]


def test_suspended_routes_refuse(smtp_server, smtp_data):
    from postal.models import utcnow

    server = smtp_data.server(suspended_at=utcnow())
    domain = smtp_data.domain("susp.test", server=server)
    smtp_data.route(server, "*", domain)
    with smtplib.SMTP("127.0.0.1", smtp_server.port, timeout=10) as client:
        client.ehlo()
        client.mail("x@remote.test")
        assert client.rcpt("a@susp.test") == (535, b"Mail server has been suspended")
        assert client.rcpt(f"{server.token}@rp.postal.test") == (
            535,
            b"Mail server has been suspended",
        )


def test_smtp_ip_credential_authorises_relay(smtp_server, smtp_data, dbsession):
    server = smtp_data.server()
    smtp_data.domain("example.com", server=server)
    smtp_data.credential(server, key="10.0.0.0/8", type="SMTP-IP")
    credential = smtp_data.credential(server, key="127.0.0.1/32", type="SMTP-IP")
    with smtplib.SMTP("127.0.0.1", smtp_server.port, timeout=10) as client:
        client.sendmail("a@example.com", ["x@far.test"], "From: a@example.com\r\n\r\nhi\r\n")
    message = rows(dbsession)[0]
    assert (message.scope, message.credential_id) == ("outgoing", credential.id)


OPEN_RELAY_ATTEMPTS = [
    "victim@far.test",
    "victim%far.test@in.test",
    "@in.test:victim@far.test",
    "<@in.test,@x.test:victim@far.test>",
    '"victim@far.test"@in.test',
    "far.test!victim@in.test",
    "victim@far.test@in.test",
    "victim@[127.0.0.1]",
    "victim",
]


@pytest.mark.parametrize("address", OPEN_RELAY_ATTEMPTS)
def test_no_open_relay(smtp_server, smtp_data, dbsession, address):
    server = smtp_data.server()
    smtp_data.domain("in.test", server=server)
    smtp_data.route(server, "support", smtp_data.domain("other.test", server=server))
    with smtplib.SMTP("127.0.0.1", smtp_server.port, timeout=10) as client:
        client.ehlo()
        client.mail("spammer@remote.test")
        target = address if address.startswith("<") else f"<{address}>"
        code, _text = client.docmd(f"RCPT TO:{target}")
        assert code in (501, 530)
        assert client.docmd("DATA")[0] == 503
    assert rows(dbsession) == []
