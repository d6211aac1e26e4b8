"""The Routing tab in a real Chromium: an HTTP endpoint, then a route to it, showing the
route's forwarding address.  Screenshots go to test-artifacts/ui/."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from postal.models import Domain, HTTPEndpoint, Route, Server, utcnow
from tests.ui.test_ui_flow import sign_in


pytestmark = pytest.mark.functional


def test_owner_creates_an_http_endpoint_and_a_route(page, live_server, data, dbsession):
    user = data.user()
    live = live_server()
    sign_in(page, live.url, user.email_address)
    page.get_by_role("link", name="New organisation").click()
    page.get_by_label("Name", exact=True).fill("Acme")
    page.get_by_role("button", name="Create organisation").click()
    page.get_by_role("link", name="New server").click()
    page.get_by_label("Name", exact=True).fill("Inbound")
    page.get_by_role("button", name="Create server").click()
    expect(page).to_have_url(live.url + "/org/acme/servers/inbound")
    server = dbsession.scalar(select(Server).where(Server.permalink == "inbound"))
    dbsession.add(Domain(name="in.example", server_id=server.id, verified_at=utcnow(),
                         dkim_private_key="unused"))  # fmt: skip
    dbsession.commit()

    page.get_by_role("link", name="Routing").click()
    page.get_by_role("link", name="HTTP Endpoints").click()
    page.get_by_label("Name").fill("Helpdesk app")
    page.get_by_label("URL").fill("https://93.184.215.14/incoming")
    page.get_by_label("Encoding").select_option("FormData")
    page.get_by_label("Timeout (seconds, 5–60)").fill("15")
    page.get_by_role("button", name="Create endpoint").click()
    expect(page.get_by_role("link", name="Helpdesk app")).to_be_visible()
    page.screenshot_as("routing-01-http-endpoints")
    dbsession.commit()  # a new transaction sees what the app committed (MariaDB snapshots)
    endpoint = dbsession.scalar(select(HTTPEndpoint))
    assert (endpoint.encoding, endpoint.timeout) == ("FormData", 15)

    page.get_by_role("navigation", name="Routing").get_by_role("link", name="Routes").click()
    page.get_by_label("Name").fill("support")
    page.get_by_label("Domain").select_option(label="@in.example")
    page.get_by_label("Mail goes to").select_option(label="HTTP: Helpdesk app")
    page.get_by_label("Spam").select_option("Quarantine")
    page.get_by_role("button", name="Create route").click()
    expect(page.get_by_role("link", name="support@in.example")).to_be_visible()
    dbsession.commit()
    route = dbsession.scalar(select(Route))
    forwarding = f"{route.token}@routes.postal.test"
    expect(page.get_by_text(forwarding)).to_be_visible()
    page.screenshot_as("routing-02-routes")
    assert (route.mode, route.spam_mode, route.endpoint_id) == ("Endpoint", "Quarantine",
                                                                endpoint.id)  # fmt: skip

    page.get_by_role("link", name="support@in.example").click()
    expect(page).to_have_url(re.compile(r"/routes/[0-9a-f-]+$"))
    expect(page.get_by_text(forwarding)).to_be_visible()
    expect(page.get_by_label("Mail goes to")).to_have_value(f"HTTPEndpoint:{endpoint.uuid}")
    page.screenshot_as("routing-03-route-edit")
