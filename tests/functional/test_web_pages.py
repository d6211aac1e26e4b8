"""Organisations, members and invitations, servers, domains, credentials, users and tokens."""

from __future__ import annotations

import re

import pytest
import webtest
from sqlalchemy import select

from postal.config import configure
from postal.models import ApiToken, Credential, Domain, Organization, Server, User, UserInvite
from postal.views.members import token_hash
from tests.fixtures.web import WebBrowser, csrf_token


def create_org(web, name="Acme"):
    return web.post("/org/new", {"name": name})


def create_server(web, org="acme", name="Main", mode="Live"):
    return web.post(f"/org/{org}/servers/new", {"name": name, "mode": mode})


@pytest.fixture
def owner(browser, data):
    user = data.user()
    browser.sign_in(user.email_address)
    create_org(browser)
    create_server(browser)
    browser.user = user
    return browser


def test_organisation_and_server_pages(owner, dbsession):
    assert "Main" in owner.app.get("/org/acme").text
    page = owner.app.get("/org/acme/servers/main")
    assert "Last 24 hours" in page.text and "<svg" in page.text
    server = dbsession.scalar(select(Server).where(Server.permalink == "main"))
    assert server.mode.value == "Live" and server.organization.permalink == "acme"
    response = create_server(owner, name="Main")  # the same name gets the next permalink
    assert response.location.endswith("/org/acme/servers/main-2")
    bad = owner.post(
        "/org/acme/servers/new", {"name": "X", "permalink": "new", "mode": "Live"}, status=200
    )
    assert "reserved" in bad.text


def test_server_settings(owner, dbsession):
    fields = {"name": "Renamed", "mode": "Development", "spam_threshold": "4.5",
              "spam_failure_threshold": "15", "postmaster_address": "pm@example.com",
              "privacy_mode": "1", "send_limit": "999"}  # fmt: skip
    owner.post("/org/acme/servers/main/settings", fields)
    server = dbsession.scalar(select(Server).where(Server.permalink == "main"))
    assert (server.name, server.mode.value, server.spam_threshold) == (
        "Renamed",
        "Development",
        4.5,
    )
    assert server.privacy_mode is True and server.postmaster_address == "pm@example.com"
    assert server.send_limit is None  # an admin-only setting, ignored for an owner
    fields["spam_failure_threshold"] = "1"
    page = owner.post("/org/acme/servers/main/settings", fields, status=200)
    assert "must not be below" in page.text


def test_admin_settings(browser, data, dbsession):
    browser.sign_in(data.user(admin=True).email_address)
    create_org(browser)
    create_server(browser)
    fields = {"name": "Main", "mode": "Live", "spam_threshold": "5", "spam_failure_threshold": "20",
              "send_limit": "100", "allow_sender": "1", "message_retention_days": "30",
              "raw_message_retention_days": "7", "raw_message_retention_size": "512",
              "outbound_spam_threshold": ""}  # fmt: skip
    browser.post("/org/acme/servers/main/settings", fields)
    server = dbsession.scalar(select(Server).where(Server.permalink == "main"))
    assert (server.send_limit, server.allow_sender, server.raw_message_retention_days) == (
        100, True, 7,
    )  # fmt: skip


def test_domains(owner, dbsession):
    response = owner.post("/org/acme/servers/main/domains", {"name": "Example.COM"})
    domain = dbsession.scalar(select(Domain).where(Domain.name == "example.com"))
    assert response.location.endswith(f"/domains/{domain.uuid}")
    page = owner.app.get(response.location)
    assert f"postal-verification {domain.verification_token}" in page.text  # not verified yet
    assert "v=spf1 a mx include:spf.postal.test ~all" in page.text
    assert f"postal-{domain.dkim_identifier_string}._domainkey.example.com" in page.text
    again = owner.post("/org/acme/servers/main/domains", {"name": "example.com"}, status=200)
    assert "already been added" in again.text
    bad = owner.post("/org/acme/servers/main/domains", {"name": "not a domain"}, status=200)
    assert "not a valid domain name" in bad.text


def test_domain_verify_and_check(web_settings, clean_tables, data, dbsession, dns_server):
    settings = {**web_settings, "dns.nameservers": [("127.0.0.1", dns_server.port)]}
    web = WebBrowser(webtest.TestApp(configure(settings, role="web").make_wsgi_app()))
    web.sign_in(data.user().email_address)
    create_org(web)
    create_server(web)
    location = web.post("/org/acme/servers/main/domains", {"name": "example.com"}).location
    path = location.replace("http://localhost", "")
    web.post(path + "/verify")
    assert "couldn&#39;t verify your domain" in web.app.get(path).text
    domain = dbsession.scalar(select(Domain).where(Domain.name == "example.com"))
    dns_server.add("example.com", "TXT", f"postal-verification {domain.verification_token}")
    web.post(path + "/verify")
    assert "has been verified" in web.app.get(path).text
    dns_server.add("example.com", "TXT", "v=spf1 a mx include:spf.postal.test ~all")
    web.post(path + "/check")
    page = web.app.get(path).text
    assert "Some records are missing or wrong" in page
    assert re.search(r'id="record-spf".*?status-sent">OK', page, re.S)
    assert "No TXT records were returned for" in page  # DKIM is missing


def test_credentials(owner, dbsession):
    owner.post("/org/acme/servers/main/credentials", {"type": "API", "name": "App"})
    owner.post("/org/acme/servers/main/credentials",
               {"type": "SMTP-IP", "name": "Office", "key": "192.0.2.7/24"})  # fmt: skip
    bad = owner.post("/org/acme/servers/main/credentials",
                     {"type": "SMTP-IP", "name": "Bad", "key": "nope"}, status=200)  # fmt: skip
    assert "is not an IP address" in bad.text
    credentials = {c.name: c for c in dbsession.scalars(select(Credential))}
    assert len(credentials["App"].key) == 24 and credentials["Office"].key == "192.0.2.0/24"
    page = owner.app.get("/org/acme/servers/main/credentials").text
    assert credentials["App"].key in page
    assert credentials["App"].key in owner.app.get("/org/acme/servers/main/help").text
    path = f"/org/acme/servers/main/credentials/{credentials['App'].uuid}"
    owner.post(path, {"name": "App renamed", "hold": "1"})
    dbsession.rollback()  # a new transaction sees the app's commit (MariaDB: repeatable read)
    assert (credentials["App"].name, credentials["App"].hold) == ("App renamed", True)
    owner.post(path + "/delete")
    dbsession.rollback()
    assert dbsession.scalar(select(Credential).where(Credential.name == "App renamed")) is None


def test_other_users_see_nothing(owner, data, web_app):
    stranger = WebBrowser(type(web_app)(web_app.app))
    stranger.sign_in(data.user().email_address)
    stranger.app.get("/org/acme", status=404)
    stranger.app.get("/org/acme/servers/main", status=404)
    assert "Acme" not in stranger.app.get("/").text


def test_invitations_and_member_rights(owner, web_app, dbsession):
    owner.post("/org/acme/members", {"email_address": "new@example.com", "role": "member"})
    invite = dbsession.scalar(select(UserInvite))
    assert invite.email_address == "new@example.com"
    assert "new@example.com" in owner.app.get("/org/acme/members").text
    guest = WebBrowser(type(web_app)(web_app.app))
    token = "known-to-the-test"
    guest.app.get(f"/invite/{token}", status=404)
    # Only the token's hash is stored (the e-mailed link is tested below): plant a known one.
    invite.token_hash = token_hash(token)
    dbsession.commit()
    page = guest.app.get(f"/invite/{token}")
    assert "Create your account" in page.text
    fields = {"first_name": "New", "last_name": "Person", "password": "new-password"}
    response = guest.app.post(f"/invite/{token}", {**fields, "csrf_token": csrf_token(page)})
    assert response.location == "http://localhost/org/acme"
    assert "Main" in guest.app.get("/org/acme").text
    guest.app.get("/org/acme/settings", status=403)  # members use, owners manage
    guest.post("/org/acme/servers/main/settings", {"name": "Hijack"}, status=403)


def test_invitation_email_is_sent(web_settings, clean_tables, data, smtp_sink, dbsession):
    settings = {**web_settings, "smtp.host": "127.0.0.1", "smtp.port": smtp_sink.port}
    web = WebBrowser(webtest.TestApp(configure(settings, role="web").make_wsgi_app()))
    web.sign_in(data.user().email_address)
    create_org(web)
    web.post("/org/acme/members", {"email_address": "friend@example.com", "role": "admin"})
    assert smtp_sink.wait_for(1)
    link = re.search(rb"http://localhost/invite/(\S+)", smtp_sink.messages[0].data).group(1)
    assert web.app.get(f"/invite/{link.decode()}").status_int == 200


def test_users_admin(browser, data, dbsession):
    admin = data.user(admin=True)
    browser.sign_in(admin.email_address)
    create_org(browser)
    browser.post("/users/new", {"first_name": "Bo", "last_name": "Day",
                 "email_address": "bo@example.com", "password": "bo-password",
                 "organizations": dbsession.scalar(select(Organization.uuid))})  # fmt: skip
    dbsession.rollback()
    bo = dbsession.scalar(select(User).where(User.email_address == "bo@example.com"))
    assert [m.organization.permalink for m in bo.memberships] == ["acme"]
    assert "bo@example.com" in browser.app.get("/users").text
    page = browser.post(f"/users/{admin.uuid}/edit", {"first_name": "A", "last_name": "B",
                        "email_address": admin.email_address}, status=200)  # fmt: skip
    assert "cannot remove your own admin rights" in page.text
    browser.post(f"/users/{bo.uuid}/delete")
    dbsession.rollback()
    assert dbsession.scalar(select(User).where(User.email_address == "bo@example.com")) is None


def test_users_page_is_for_admins(owner):
    owner.app.get("/users", status=403)


def test_api_tokens(owner, dbsession):
    page = owner.post("/settings/tokens", {"name": "deploy"}, status=200)
    token = re.search(r'id="new-token">([^<]+)<', page.text).group(1)
    record = dbsession.scalar(select(ApiToken))
    assert record.token_hash == ApiToken.hash(token)
    assert (
        owner.app.get("/api/v2/me", headers={"Authorization": f"Bearer {token}"}).status_int == 200
    )
    assert token not in owner.app.get("/settings/tokens").text  # shown once
    owner.post(f"/settings/tokens/{record.uuid}/delete")
    owner.app.get("/api/v2/me", headers={"Authorization": f"Bearer {token}"}, status=401)


def test_delete_server_and_organisation(owner, dbsession):
    owner.post("/org/acme/servers/main/delete", {"confirm": "wrong"})
    assert dbsession.scalar(select(Server)) is not None
    owner.post("/org/acme/servers/main/delete", {"confirm": "main"})
    dbsession.rollback()
    assert dbsession.scalar(select(Server)) is None
    owner.post("/org/acme/delete", {"confirm": "acme"})
    dbsession.rollback()
    assert dbsession.scalar(select(Organization)) is None
