"""The IP pool pages: admins manage pools, addresses and organisation assignments; owners
choose their server's pool and write IP rules; members only look."""

from __future__ import annotations

import pytest
import webtest
from sqlalchemy import select

from postal.config import configure
from postal.models import (
    IPAddress,
    IPPool,
    IPPoolRule,
    MembershipRole,
    Organization,
    OrganizationUser,
    Server,
)
from tests.fixtures.web import WebBrowser


@pytest.fixture
def pool_browser(web_settings, clean_tables):
    def start(user):
        settings = {**web_settings, "postal.use_ip_pools": True}
        app = configure(settings, role="web").make_wsgi_app()
        browser = WebBrowser(webtest.TestApp(app, extra_environ={"REMOTE_ADDR": "127.0.0.1"}))
        browser.sign_in(user.email_address)
        return browser

    return start


def fresh(dbsession) -> None:
    """A new snapshot: MariaDB's REPEATABLE READ would keep showing the old one."""
    dbsession.commit()
    dbsession.expire_all()


def _pool(dbsession, name) -> IPPool:
    fresh(dbsession)
    return dbsession.scalar(select(IPPool).where(IPPool.name == name))


def test_admins_manage_pools_and_addresses(pool_browser, data, dbsession):
    admin = pool_browser(data.user(admin=True))
    assert "IP pools" in admin.app.get("/").text  # the header link
    page = admin.post("/ip_pools", {"name": "Main", "default": "1"}, token_from="/ip_pools")
    pool = _pool(dbsession, "Main")
    assert page.location.endswith(f"/ip_pools/{pool.uuid}") and pool.default
    path = f"/ip_pools/{pool.uuid}"
    fields = {"ipv4": "127.0.0.2", "ipv6": "", "hostname": "mx2.postal.test", "priority": "50"}
    admin.post(f"{path}/addresses", fields, token_from=path)
    bad = admin.post(f"{path}/addresses", {**fields, "ipv4": "nope"}, status=200, token_from=path)
    assert "is not an IPv4 address" in bad.text
    clash = admin.post(f"{path}/addresses", fields, status=200, token_from=path)
    assert "already in an IP pool" in clash.text
    shown = admin.app.get(path).text
    assert "127.0.0.2" in shown and "mx2.postal.test" in shown
    fresh(dbsession)
    ip = dbsession.scalar(select(IPAddress).where(IPAddress.ipv4 == "127.0.0.2"))
    admin.post(f"{path}/addresses/{ip.id}", {**fields, "priority": "7"}, token_from=path)
    fresh(dbsession)
    assert dbsession.get(IPAddress, ip.id).priority == 7
    admin.post(f"{path}/addresses/{ip.id}/delete", token_from=path)
    admin.post(path, {"name": "Renamed"}, token_from=path)
    assert _pool(dbsession, "Renamed").default is False
    admin.post(f"{path}/delete", token_from=path)
    assert _pool(dbsession, "Renamed") is None


def test_non_admins_cannot_reach_the_pool_pages(pool_browser, data, dbsession):
    dbsession.add(IPPool(name="Main"))
    dbsession.commit()
    user = pool_browser(data.user())
    user.app.get("/ip_pools", status=403)
    assert "IP pools" not in user.app.get("/settings").text


def test_assignments_server_pool_and_rules(pool_browser, data, dbsession):
    admin = pool_browser(data.user(admin=True))
    admin.post("/ip_pools", {"name": "Shared", "default": "1"}, token_from="/ip_pools")
    admin.post("/ip_pools", {"name": "Extra"}, token_from="/ip_pools")
    owner_user = data.user()
    owner = pool_browser(owner_user)
    owner.post("/org/new", {"name": "Acme"})
    owner.post("/org/acme/servers/new", {"name": "Main", "mode": "Live"})
    shared, extra = _pool(dbsession, "Shared"), _pool(dbsession, "Extra")
    page = owner.app.get("/org/acme/ips")
    assert "Shared" in page.text and "Extra" not in page.text  # the default pool, no form
    owner.post("/org/acme/ips", {"ip_pools": [extra.uuid]}, status=403, token_from="/org/acme/ips")
    admin.post("/org/acme/ips", {"ip_pools": [shared.uuid, extra.uuid]}, token_from="/org/acme/ips")
    fresh(dbsession)
    organization = dbsession.scalar(select(Organization).where(Organization.permalink == "acme"))
    assert {p.name for p in organization.ip_pools} == {"Shared", "Extra"}

    server_page = "/org/acme/servers/main/ips"
    assert "IPs" in owner.app.get("/org/acme/servers/main").text  # the tab
    owner.post(server_page, {"ip_pool": extra.uuid}, token_from=server_page)
    fresh(dbsession)
    assert dbsession.scalar(select(Server).where(Server.permalink == "main")).ip_pool_id == extra.id
    rule = {"ip_pool": shared.uuid, "from_text": "", "to_text": "VIP@example.net"}
    owner.post("/org/acme/servers/main/ip_rules", rule, token_from=server_page)
    empty = {**rule, "to_text": " "}
    refused = owner.post(
        "/org/acme/servers/main/ip_rules", empty, status=200, token_from=server_page
    )
    assert "at least one From or To condition" in refused.text
    owner.post("/org/acme/ip_rules", {**rule, "to_text": "example.org"}, token_from="/org/acme/ips")
    assert "vip@example.net" in owner.app.get(server_page).text
    assert "example.org" in owner.app.get("/org/acme/ips").text
    fresh(dbsession)
    rules = dbsession.scalars(select(IPPoolRule).order_by(IPPoolRule.id)).all()
    assert [(r.server_id is not None, r.to_text) for r in rules] == [
        (True, "vip@example.net"),
        (False, "example.org"),
    ]
    server_rule = rules[0]
    rule_id = server_rule.id
    # A member sees the rules but cannot change them.
    member = data.user()
    dbsession.add(
        OrganizationUser(
            organization_id=organization.id, user_id=member.id, role=MembershipRole.MEMBER
        )
    )
    dbsession.commit()
    as_member = pool_browser(member)
    assert "vip@example.net" in as_member.app.get(server_page).text
    as_member.post(
        f"/org/acme/servers/main/ip_rules/{server_rule.uuid}/delete",
        status=403,
        token_from=server_page,
    )
    owner.post(
        f"/org/acme/ip_rules/{server_rule.uuid}/delete", status=404, token_from="/org/acme/ips"
    )
    owner.post(f"/org/acme/servers/main/ip_rules/{server_rule.uuid}/delete", token_from=server_page)
    fresh(dbsession)
    assert dbsession.get(IPPoolRule, rule_id) is None
