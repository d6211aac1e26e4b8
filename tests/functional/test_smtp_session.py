"""The SMTP conversation through the real SMTP process: Postal's exact replies."""

from __future__ import annotations

import pytest

from tests.fixtures.smtp_server import SMTP_HOSTNAME


pytestmark = pytest.mark.functional


def test_greeting_and_basic_commands(line_client):
    client = line_client()
    greeting = client.reply()
    assert greeting.startswith(f"220 {SMTP_HOSTNAME} ESMTP Postal/")
    trace = greeting.rsplit("/", 1)[1]
    assert len(trace) == 8 and trace.isalnum() and trace.upper() == trace
    assert client.cmd("EHLO client.test") == (
        "250-My capabilities are\n250-SIZE 14680064\n250-STARTTLS\n250 AUTH CRAM-MD5 PLAIN LOGIN"
    )
    assert client.cmd("HELO client.test") == f"250 {SMTP_HOSTNAME}"
    assert client.cmd("RSET") == "250 OK"
    assert client.cmd("NOOP") == "250 OK"
    assert client.cmd("VRFY someone") == "502 Invalid/unsupported command"
    assert client.cmd("HELP") == "502 Invalid/unsupported command"
    assert client.cmd("AUTH DIGEST-MD5") == "502 Invalid/unsupported command"
    assert client.cmd("QUIT") == "221 Closing Connection"


def test_out_of_order_commands(line_client):
    client = line_client()
    client.reply()
    assert client.cmd("MAIL FROM:<a@b.test>") == "503 EHLO/HELO first please"
    assert client.cmd("RCPT TO:<a@b.test>") == "503 EHLO/HELO and MAIL FROM first please"
    assert client.cmd("DATA") == "503 HELO/EHLO, MAIL FROM and RCPT TO before sending data"
    assert client.cmd("helo me") == f"250 {SMTP_HOSTNAME}"
    assert client.cmd("mail from: <a@b.test> AUTH=<> BODY=8BITMIME") == "250 OK"
    assert client.cmd("RCPT TO:<>") == "501 RCPT TO should not be empty"
    assert client.cmd("RCPT TO:<nodomain>") == "501 Invalid RCPT TO"
    assert client.cmd("RCPT TO:<x@unrouted.test>") == "530 Authentication required"
    assert client.cmd("DATA") == "503 HELO/EHLO, MAIL FROM and RCPT TO before sending data"


@pytest.fixture
def inbound(smtp_data):
    server = smtp_data.server()
    smtp_data.route(server, "*", smtp_data.domain("in.test", server=server), mode="Accept")
    return server


def stored_raw(dbsession):
    from sqlalchemy import select

    from postal.models import RawMessage

    dbsession.expire_all()
    return [r.data for r in dbsession.scalars(select(RawMessage).order_by(RawMessage.id))]


def open_transaction(client):
    client.reply()
    client.cmd("EHLO me")
    assert client.cmd("MAIL FROM:<a@remote.test>") == "250 OK"
    assert client.cmd("RCPT TO:<x@in.test>") == "250 OK"
    assert client.cmd("DATA") == "354 Go ahead"


def test_size_is_enforced_at_mail_from_and_during_data(smtp_server_factory, line_client, inbound,
                                                       dbsession):  # fmt: skip
    process = smtp_server_factory(smtp_server__max_message_size=1)
    client = line_client(process.port)
    client.reply()
    assert "250-SIZE 1048576" in client.cmd("EHLO me")
    assert client.cmd("MAIL FROM:<a@b.test> SIZE=2000000") == (
        "552 Message too large (maximum size 1MB)"
    )
    assert client.cmd("MAIL FROM:<a@b.test> SIZE=1000") == "250 OK"
    assert client.cmd("RCPT TO:<x@in.test>") == "250 OK"
    assert client.cmd("DATA") == "354 Go ahead"
    client.send(b"Subject: big\r\n\r\n" + (b"x" * 998 + b"\r\n") * 1100)
    assert client.cmd(".") == "552 Message too large (maximum size 1MB)"
    assert client.cmd("NOOP") == "250 OK"  # the session goes on
    assert stored_raw(dbsession) == []


def test_dot_stuffing_and_smuggling_defence(line_client, inbound, dbsession):
    client = line_client()
    open_transaction(client)
    # A bare-LF "dot line" is data, not the end; "..x" is unstuffed to ".x".
    client.send(b"Subject: t\r\n\r\nline\n.\nMAIL FROM:<evil@x.test>\r\n..x\r\n")
    assert client.cmd(".") == "250 OK"
    assert client.cmd("QUIT") == "221 Closing Connection"
    raw = stored_raw(dbsession)[0]
    assert raw.endswith(b"Subject: t\r\n\r\nline\n.\nMAIL FROM:<evil@x.test>\r\n.x\r\n")


def test_empty_message_and_pipelined_commands(line_client, inbound, dbsession):
    client = line_client()
    open_transaction(client)
    client.send(".\r\nNOOP\r\n")
    assert client.reply() == "250 OK"
    assert client.reply() == "250 OK"
    assert stored_raw(dbsession)[0].endswith(b"with SMTP; " + stored_raw(dbsession)[0]
                                             .split(b"with SMTP; ")[1])  # fmt: skip


def test_loop_detection(line_client, inbound, dbsession):
    client = line_client()
    open_transaction(client)
    hops = f"Received: from a by {SMTP_HOSTNAME} with SMTP; now\r\n" * 5
    client.send(hops + "Subject: loop\r\n\r\nbody\r\n")
    assert client.cmd(".") == "550 Loop detected"
    assert stored_raw(dbsession) == []


def test_received_header(line_client, inbound, dbsession):
    client = line_client()
    client.reply()
    client.cmd("HELO client.example")
    client.cmd("MAIL FROM:<a@remote.test>")
    client.cmd("RCPT TO:<x@in.test>")
    client.cmd("DATA")
    client.send("Subject: hi\r\n\r\nbody\r\n")
    assert client.cmd(".") == "250 OK"
    first_line = stored_raw(dbsession)[0].split(b"\r\n", 1)[0].decode()
    assert first_line.startswith(
        f"Received: from client.example (127.0.0.1 [127.0.0.1]) by {SMTP_HOSTNAME} with SMTP; "
    )


def test_proxy_protocol(smtp_server_factory, line_client, smtp_data, dbsession):
    process = smtp_server_factory(smtp_server__proxy_protocol=True)
    server = smtp_data.server()
    smtp_data.domain("example.com", server=server)
    smtp_data.credential(server, key="192.0.2.0/24", type="SMTP-IP")
    client = line_client(process.port)
    client.send("PROXY TCP4 192.0.2.10 127.0.0.1 4000 25\r\n")
    assert client.reply().startswith("220 ")
    client.cmd("EHLO me")
    client.cmd("MAIL FROM:<a@example.com>")
    assert client.cmd("RCPT TO:<x@far.test>") == "250 OK"  # the IP credential matched
    bad = line_client(process.port)
    bad.send("EHLO me\r\n")
    assert bad.reply() == "502 Proxy Error"


def test_database_error_answers_451_and_keeps_nothing(smtp_server, line_client, inbound,
                                                      dbsession, monkeypatch):  # fmt: skip
    from postal import messages as store

    def broken(*args, **kwargs):
        raise RuntimeError("database went away")

    # Fails after the raw and message rows were inserted, before the queue rows.
    monkeypatch.setattr(store, "batch_key", broken)
    client = line_client()
    open_transaction(client)
    client.send("Subject: x\r\n\r\nbody\r\n")
    assert client.cmd(".") == ("451 Temporary failure while storing the message, please try again")
    assert stored_raw(dbsession) == []
    from sqlalchemy import func, select

    from postal.models import Message

    assert dbsession.scalar(select(func.count()).select_from(Message)) == 0


def test_health_and_metrics(smtp_server, line_client, inbound):
    import urllib.request

    client = line_client()
    open_transaction(client)
    client.send("Subject: x\r\n\r\nbody\r\n")
    assert client.cmd(".") == "250 OK"
    base = f"http://127.0.0.1:{smtp_server.health.port}"
    assert urllib.request.urlopen(base + "/health", timeout=5).read() == b"OK"
    metrics = urllib.request.urlopen(base + "/metrics", timeout=5).read().decode()
    assert 'postal_smtp_server_messages_total{tls="no",type="incoming"}' in metrics
    assert "postal_smtp_server_connections_total" in metrics
    assert "postal_smtp_server_accept_latency_seconds_bucket" in metrics
