"""Webhooks and their history, track domains, the suppression list, the message actions and
the admins' organisation list, walked in a real Chromium.  Screenshots go to
test-artifacts/ui/<engine>-tools-*.png."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from postal.domains import new_domain
from postal.messages import store_message
from postal.models import (
    MembershipRole,
    Organization,
    OrganizationUser,
    Server,
    Webhook,
    WebhookRequestLog,
)
from tests.ui.test_ui_flow import sign_in


pytestmark = pytest.mark.functional

RAW = (
    b"From: Shop <shop@example.com>\r\nTo: buyer@example.net\r\nSubject: Held for review\r\n"
    b"Message-ID: <held-1@example.com>\r\nContent-Type: text/plain\r\n\r\nPlease review.\r\n"
)


def _server(dbsession, settings, user) -> Server:
    organization = Organization(name="Acme", permalink="acme", time_zone="UTC")
    organization.memberships.append(OrganizationUser(user_id=user.id, role=MembershipRole.OWNER))
    server = Server(organization=organization, name="Main", permalink="main")
    domain = new_domain(settings, "example.com", verified=True)
    domain.server = server
    dbsession.add_all([organization, server, domain])
    dbsession.commit()
    return server


def test_server_tools(page, live_server, data, dbsession):
    admin = data.user(admin=True)
    live = live_server(**{"postal.allowed_request_destinations": ["127.0.0.1"]})
    server = _server(dbsession, live.settings, admin)
    base = live.url + "/org/acme/servers/main"
    sign_in(page, live.url, admin.email_address)

    page.goto(base)
    page.get_by_role("link", name="Webhooks").click()
    page.get_by_role("link", name="New webhook").click()
    page.get_by_label("Name", exact=True).fill("Order system")
    page.get_by_label("URL").fill("http://127.0.0.1:9/postal")
    page.get_by_label("All events").uncheck()
    page.get_by_label("MessageHeld").check()
    page.get_by_label("MessageBounced").check()
    page.screenshot_as("tools-01-webhook-form")
    page.get_by_role("button", name="Create webhook").click()
    expect(page.get_by_role("link", name="Order system")).to_be_visible()
    expect(page.get_by_text("MessageBounced, MessageHeld")).to_be_visible()
    page.screenshot_as("tools-02-webhooks")

    webhook = server_webhook(dbsession, server)
    dbsession.add(WebhookRequestLog(
        uuid="6a1f0c9e-1b2c-4d5e-8f90-123456789abc", server_id=server.id, webhook_id=webhook.id,
        event="MessageHeld", url=webhook.url, attempt=1, status_code=500,
        body='{"error":"database is down"}', will_retry=True, duration_ms=31,
        payload='{"event":"MessageHeld","payload":{"status":"Held"}}',
    ))  # fmt: skip
    dbsession.commit()
    page.get_by_role("link", name="View history").click()
    expect(page.locator("table.webhook-requests tbody tr")).to_have_count(1)
    page.screenshot_as("tools-03-webhook-history")
    page.locator("table.webhook-requests tbody tr a").first.click()
    expect(page.get_by_text("database is down")).to_be_visible()
    page.screenshot_as("tools-04-webhook-request")
    page.get_by_role("button", name="Retry now").click()
    expect(page.get_by_role("status")).to_contain_text("will be sent again")

    page.get_by_role("link", name="Tracking", exact=True).click()
    page.get_by_label("Name", exact=True).fill("click")
    page.get_by_role("button", name="Add track domain").click()
    expect(page.get_by_role("heading", name="click.example.com")).to_be_visible()
    page.get_by_label("Track clicks").uncheck()
    page.get_by_label("Excluded click domains").fill("shop.example.com")
    page.get_by_role("button", name="Save click.example.com").click()
    expect(page.get_by_role("status")).to_contain_text("has been saved")
    expect(page.get_by_label("Track clicks")).not_to_be_checked()
    page.screenshot_as("tools-05-track-domains")

    page.get_by_role("link", name="Suppressions").click()
    page.get_by_label("Address").fill("gone@example.net")
    page.get_by_label("Reason").fill("mailbox closed")
    page.get_by_role("button", name="Add to list").click()
    expect(page.locator("table.suppressions")).to_contain_text("gone@example.net")
    page.screenshot_as("tools-06-suppressions")

    (message,) = store_message(
        dbsession, server, scope="outgoing", mail_from="shop@example.com",
        rcpt_to=["buyer@example.net"], raw=RAW, queue=False, status="Held", held=True,
    )  # fmt: skip
    dbsession.commit()
    page.goto(f"{base}/messages/{message.id}")
    expect(page.get_by_role("button", name="Cancel hold")).to_be_visible()
    page.screenshot_as("tools-07-message-held")
    page.get_by_role("button", name="Release").click()
    expect(page.get_by_role("status")).to_contain_text("released")
    expect(page.get_by_role("button", name="Retry now")).to_be_visible()
    page.screenshot_as("tools-08-message-released")

    page.get_by_role("link", name="Overview").click()
    expect(page.locator("svg.chart rect.bar-held").first).to_be_attached()
    page.screenshot_as("tools-09-overview")
    page.get_by_role("link", name="All organisations").click()
    expect(page).to_have_url(re.compile(r"/admin/organizations$"))
    expect(page.locator("table.organisations")).to_contain_text("Acme")
    page.screenshot_as("tools-10-admin-organisations")


def server_webhook(dbsession, server) -> Webhook:
    dbsession.rollback()  # see the application's commits (MariaDB: repeatable read)
    return dbsession.scalar(select(Webhook).where(Webhook.server_id == server.id))
