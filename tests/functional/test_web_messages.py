"""Message lists, search, the message page, the sandboxed preview and downloads."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select

from postal.messages import store_message
from postal.models import Delivery, MembershipRole, Organization, OrganizationUser, Server, utcnow
from postal.web import search as search_logic


def raw(subject="Hello", to="b@example.net", body="<p>Hi</p>", msgid="m1@example.com"):
    return (
        f"From: a@example.com\r\nTo: {to}\r\nSubject: {subject}\r\nMessage-ID: <{msgid}>\r\n"
        "MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=XX\r\n\r\n"
        "--XX\r\nContent-Type: multipart/alternative; boundary=YY\r\n\r\n"
        "--YY\r\nContent-Type: text/plain\r\n\r\nPlain words\r\n"
        f"--YY\r\nContent-Type: text/html\r\n\r\n{body}\r\n--YY--\r\n"
        "--XX\r\nContent-Type: text/html; name=report.html\r\n"
        "Content-Disposition: attachment; filename=report.html\r\n\r\n"
        "<script>alert(1)</script>\r\n--XX--\r\n"
    ).encode()


@pytest.fixture
def mailbox(browser, data, dbsession):
    """A signed-in owner of acme/main with four messages."""
    user = data.user()
    organization = Organization(name="Acme", permalink="acme", time_zone="UTC")
    organization.memberships.append(OrganizationUser(user_id=user.id, role=MembershipRole.OWNER))
    server = Server(organization=organization, name="Main", permalink="main")
    dbsession.add_all([organization, server])
    dbsession.flush()
    store = lambda scope, rcpt, content, **kw: store_message(  # noqa: E731
        dbsession, server, scope=scope, mail_from="a@example.com", rcpt_to=[rcpt], raw=content, **kw
    )[0]
    old = utcnow() - dt.timedelta(days=3)
    messages = {
        "sent": store("outgoing", "b@example.net", raw("Invoice 7"), queue=False, status="Sent",
                      tag="billing"),
        "held": store("outgoing", "c@example.net", raw("Held one", msgid="m2@x"), queue=False,
                      status="Held", held=True),
        "queued": store("outgoing", "d@example.net", raw("Queued one", msgid="m3@x")),
        "incoming": store("incoming", "in@acme.test", raw("Inbound", msgid="m4@x"),
                          queue=False, timestamp=old),
        "spam": store("incoming", "in@acme.test", raw("Cheap pills", msgid="m5@x"),
                      queue=False),
    }  # fmt: skip
    # Scanning sets these after a message is stored.
    messages["spam"].spam, messages["spam"].spam_score = True, 12.5
    dbsession.add(Delivery(message_id=messages["sent"].id, status="Sent", code=250,
                           details="Accepted by mx.example.net", output="250 OK"))  # fmt: skip
    dbsession.commit()
    browser.sign_in(user.email_address)
    browser.messages = messages
    return browser


SUBJECTS = ("Invoice 7", "Held one", "Queued one", "Inbound", "Cheap pills")


def subjects(page) -> list[str]:
    """The subjects listed in the page's message table, in SUBJECTS order."""
    _, _, table = page.text.partition('<table class="messages">')
    return [subject for subject in SUBJECTS if f">{subject}</a>" in table]


def search(web, scope, query=""):
    return subjects(web.app.get(f"/org/acme/servers/main/messages/{scope}", {"q": query}))


def test_lists(mailbox):
    assert search(mailbox, "outgoing") == ["Invoice 7", "Held one", "Queued one"]
    assert search(mailbox, "incoming") == ["Inbound"]  # spam hidden unless asked for
    assert search(mailbox, "held") == ["Held one"]
    assert search(mailbox, "queue") == ["Queued one"]


@pytest.mark.parametrize(
    "query, expected",
    [
        ("to: b@example.net", ["Invoice 7"]),
        ("to: *@example.net to: nobody@x", ["Invoice 7", "Held one", "Queued one"]),
        ("status: held", ["Held one"]),
        ("status: HELD status: sent", ["Invoice 7", "Held one"]),
        ("tag: billing", ["Invoice 7"]),
        ('subject: "queued ONE"', ["Queued one"]),
        ("invoice", ["Invoice 7"]),
        ("from: a@example.com after: yesterday", ["Invoice 7", "Held one", "Queued one"]),
        ("msgid: <m4@x>", ["Inbound"]),  # searches both directions
        ("tag: [blank] status: pending", ["Queued one"]),
    ],
)
def test_search(mailbox, query, expected):
    assert search(mailbox, "outgoing", query) == expected


def test_search_spam_and_dates(mailbox):
    assert search(mailbox, "incoming", "spam: yes") == ["Inbound", "Cheap pills"]
    assert search(mailbox, "incoming", "before: today") == ["Inbound"]
    page = mailbox.app.get("/org/acme/servers/main/messages/incoming", {"q": "colour: red"})
    assert "Unknown search key colour" in page.text
    page = mailbox.app.get("/org/acme/servers/main/messages/incoming", {"q": "after: someday"})
    assert "is not a date" in page.text


def test_message_page(mailbox):
    message = mailbox.messages["sent"]
    page = mailbox.app.get(f"/org/acme/servers/main/messages/{message.id}")
    assert "Accepted by mx.example.net" in page.text  # delivery log
    assert "Plain words" in page.text and "report.html" in page.text
    assert 'sandbox=""' in page.text and f"/messages/{message.id}/html" in page.text
    assert "<script>alert(1)</script>" not in page.text


def test_html_preview_headers(mailbox):
    message = mailbox.messages["sent"]
    response = mailbox.app.get(f"/org/acme/servers/main/messages/{message.id}/html")
    csp = response.headers["Content-Security-Policy"]
    assert "default-src 'none'" in csp and "img-src data:" in csp and "sandbox" in csp
    assert "frame-ancestors 'self'" in csp
    assert response.headers["X-Frame-Options"] == "SAMEORIGIN"
    assert response.text.strip() == "<p>Hi</p>"


def test_downloads(mailbox):
    message = mailbox.messages["sent"]
    base = f"/org/acme/servers/main/messages/{message.id}"
    eml = mailbox.app.get(base + "/raw")
    assert eml.content_type == "message/rfc822" and eml.body == raw("Invoice 7")
    assert eml.headers["Content-Disposition"] == f'attachment; filename="{message.token}.eml"'
    attachment = mailbox.app.get(base + "/attachments/0")
    assert attachment.content_type == "application/octet-stream"
    assert attachment.headers["Content-Disposition"] == 'attachment; filename="report.html"'
    assert attachment.body == b"<script>alert(1)</script>"
    mailbox.app.get(base + "/attachments/5", status=404)


def test_messages_of_other_servers_are_not_found(mailbox, dbsession):
    other = Server(organization_id=dbsession.scalar(select(Organization.id)), name="Other",
                   permalink="other")  # fmt: skip
    dbsession.add(other)
    dbsession.commit()
    message = mailbox.messages["sent"]
    mailbox.app.get(f"/org/acme/servers/other/messages/{message.id}", status=404)


def test_parser():
    parsed = search_logic.parse('to: a@b.c to:"x y" free "two words" status: held')
    assert parsed.terms == {"to": ["a@b.c", "x y"], "status": ["held"]}
    assert parsed.words == ["free", "two words"]
    zone = dt.UTC
    now = dt.datetime(2024, 5, 10, 12, 30, tzinfo=dt.UTC)
    assert search_logic.parse_time("2024-05-01", zone, now) == dt.datetime(2024, 5, 1, tzinfo=zone)
    assert search_logic.parse_time("2024-05-01 08:15", zone, now).hour == 8
    assert search_logic.parse_time("yesterday", zone, now) == dt.datetime(2024, 5, 9, tzinfo=zone)
    assert search_logic.parse_time("3 hours ago", zone, now) == now - dt.timedelta(hours=3)
