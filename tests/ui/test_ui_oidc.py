"""Signing in through a real OpenID Connect provider on loopback, in Chromium."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from postal.models import User


pytestmark = [
    pytest.mark.functional,
    # The provider (authlib inside oidc-provider-mock) warns about its own API in its thread.
    pytest.mark.filterwarnings("ignore:get_jwt_config.*:DeprecationWarning"),
]


def oidc_sign_in(page, live, subject: str):
    page.goto(live.url + "/login")
    page.get_by_role("link", name="Sign in with Test Provider").click()
    expect(page).to_have_url(re.compile(r"/oauth2/authorize"))
    page.get_by_role("button", name=subject).click()


def test_oidc_links_by_email_then_finds_the_user_by_subject(
    page, live_server, oidc_provider, data, dbsession
):
    alice = data.user(email="alice@example.com")
    live = live_server(**oidc_provider.settings())
    page.goto(live.url + "/login")
    page.screenshot_as("12-login-with-oidc")

    oidc_sign_in(page, live, "oidc-alice")
    expect(page.get_by_role("button", name="Sign out")).to_be_visible()
    dbsession.rollback()  # see the web process's commits (MariaDB: repeatable read)
    linked = dbsession.scalar(select(User).where(User.id == alice.id))
    assert (linked.oidc_uid, linked.oidc_issuer) == ("oidc-alice", oidc_provider.issuer)

    # Later sign-ins go by the provider's subject, whatever the e-mail address is now.
    linked.email_address = "alice.renamed@example.com"
    dbsession.commit()
    page.get_by_role("button", name="Sign out").click()
    oidc_sign_in(page, live, "oidc-alice")
    expect(page.get_by_role("button", name="Sign out")).to_be_visible()
    page.goto(live.url + "/settings")
    expect(page.get_by_label("E-mail address", exact=True)).to_have_value(
        "alice.renamed@example.com"
    )


def test_oidc_never_creates_users(page, live_server, oidc_provider):
    live = live_server(**oidc_provider.settings())
    oidc_sign_in(page, live, "oidc-nobody")
    expect(page).to_have_url(re.compile(r"/login$"))
    expect(page.get_by_text("there is no Postal account for nobody@example.com")).to_be_visible()


def test_passwords_can_be_turned_off(page, live_server, oidc_provider):
    live = live_server(**oidc_provider.settings(**{"oidc.local_authentication_enabled": False}))
    page.goto(live.url + "/login")
    expect(page.get_by_role("link", name="Sign in with Test Provider")).to_be_visible()
    expect(page.get_by_label("Password")).to_have_count(0)
