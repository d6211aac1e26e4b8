"""The main flows in a real Chromium: sign in, organisation, server, domain, credential,
DNS records, message search and the message page.  Screenshots go to test-artifacts/ui/."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from postal.domains import dns_records
from postal.messages import store_message
from postal.models import Delivery, Domain, Server


pytestmark = pytest.mark.functional

RAW = (
    b"From: Shop <shop@example.com>\r\nTo: buyer@example.net\r\n"
    b"Subject: Order 1234 confirmed\r\nMessage-ID: <order-1234@example.com>\r\n"
    b"Content-Type: text/plain; charset=utf-8\r\n\r\nThank you for your order.\r\n"
)


def sign_in(page, url, email, password="password123"):
    page.goto(url + "/")
    expect(page).to_have_url(re.compile(r"/login"))
    page.get_by_label("E-mail address").fill(email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("button", name="Sign out")).to_be_visible()


def test_admin_sets_up_a_server_and_finds_a_message(page, live_server, data, dbsession):
    admin = data.user(admin=True)
    live = live_server()
    page.goto(live.url + "/")
    page.screenshot_as("01-login")
    sign_in(page, live.url, admin.email_address)
    page.screenshot_as("02-organisations")

    page.get_by_role("link", name="New organisation").click()
    page.get_by_label("Name", exact=True).fill("Acme Mail")
    page.get_by_role("button", name="Create organisation").click()
    expect(page.get_by_role("heading", name="Mail servers")).to_be_visible()

    page.get_by_role("link", name="New server").click()
    page.get_by_label("Name", exact=True).fill("Transactional")
    page.get_by_role("button", name="Create server").click()
    expect(page).to_have_url(live.url + "/org/acme-mail/servers/transactional")
    page.screenshot_as("03-server-new")

    page.get_by_role("link", name="Domains").click()
    page.get_by_label("Domain name").fill("example.com")
    page.get_by_role("button", name="Add domain").click()
    expect(page.get_by_role("heading", name="example.com", exact=True)).to_be_visible()
    domain = dbsession.scalar(select(Domain).where(Domain.name == "example.com"))
    for record in dns_records(live.settings, domain):
        expect(page.get_by_text(record["name"], exact=True).first).to_be_visible()
        expect(page.get_by_text(record["value"]).first).to_be_visible()
    expect(page.locator("#record-spf")).to_contain_text("v=spf1 a mx include:spf.postal.test ~all")
    expect(page.locator("#record-return_path")).to_contain_text("rp.postal.test")
    page.screenshot_as("04-domain-dns")

    page.get_by_role("link", name="Credentials").click()
    page.get_by_label("Name", exact=True).fill("Shop backend")
    page.get_by_role("button", name="Create credential").click()
    expect(page.get_by_role("link", name="Shop backend")).to_be_visible()
    page.screenshot_as("05-credentials")

    server = dbsession.scalar(select(Server).where(Server.permalink == "transactional"))
    message = _store(dbsession, server)

    page.get_by_role("link", name="Outgoing").click()
    page.get_by_role("searchbox").fill('to: buyer@example.net subject: "order 1234"')
    page.get_by_role("button", name="Search").click()
    rows = page.locator("table.messages tbody tr")
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("Order 1234 confirmed")
    page.screenshot_as("06-message-search")

    rows.first.get_by_role("link", name="Order 1234 confirmed").click()
    expect(page).to_have_url(re.compile(rf"/messages/{message.id}$"))
    log = page.locator("#deliveries")
    expect(log).to_contain_text("Sent")
    expect(log).to_contain_text("accepted by mx.example.net")
    expect(page.get_by_text("Thank you for your order.")).to_be_visible()
    page.screenshot_as("07-message")

    page.get_by_role("link", name="Overview").click()
    expect(page.locator("svg.chart rect.bar-out").first).to_be_attached()
    page.screenshot_as("08-server-overview")
    page.get_by_role("link", name="Settings", exact=True).click()
    page.screenshot_as("09-server-settings")
    page.get_by_role("link", name="Sending & API keys").click()
    page.screenshot_as("10-sending-help")


def _store(dbsession, server):
    """Two messages; only the first matches the search."""
    (message,) = store_message(
        dbsession, server, scope="outgoing", mail_from="shop@example.com",
        rcpt_to=["buyer@example.net"], raw=RAW, queue=False, status="Sent", tag="orders",
    )  # fmt: skip
    other = RAW.replace(b"Order 1234", b"Newsletter").replace(b"buyer@", b"reader@")
    store_message(
        dbsession, server, scope="outgoing", mail_from="shop@example.com",
        rcpt_to=["reader@example.net"], raw=other, queue=False,
    )  # fmt: skip
    dbsession.add(
        Delivery(
            message_id=message.id, status="Sent", code=250, sent_with_ssl=True, time=0.42,
            details="Message for buyer@example.net accepted by mx.example.net",
            output="250 2.0.0 OK: queued as 4ABC",
        )
    )  # fmt: skip
    dbsession.commit()
    return message
