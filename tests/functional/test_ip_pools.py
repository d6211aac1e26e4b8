"""IP pools for real: allocation when API v1 queues a message, delivery to the SMTP sink
bound to the chosen loopback address and greeting with its host name, and workers that only
claim rows whose address is on their host."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from postal.ip_pools import allocate, load_choosers
from postal.models import Delivery, IPAddress, IPPoolRule, Message, QueuedMessage, Server
from postal.worker.claims import claim_batch
from tests.fixtures.ip_pools import make_pool


def send(app, server, to="bob@example.net", sender="alice@example.com"):
    params = {"to": [to], "from": sender, "subject": "Hi", "plain_body": "Hello"}
    body = app.post_json(
        "/api/v1/send/message", params, headers={"X-Server-API-Key": server.api_key}
    ).json
    assert body["status"] == "success", body
    return body["data"]["messages"][to]["id"]


def queued_ip(dbsession, message_id) -> str | None:
    dbsession.commit()
    dbsession.expire_all()
    row = dbsession.scalar(select(QueuedMessage).where(QueuedMessage.message_id == message_id))
    ip = dbsession.get(IPAddress, row.ip_address_id) if row.ip_address_id else None
    return ip.ipv4 if ip else None


def add_rule(dbsession, pool, *, server_id=None, organization_id=None, sender=None, to=None):
    rule = IPPoolRule(
        ip_pool_id=pool.id,
        server_id=server_id,
        organization_id=organization_id,
        from_text=sender,
        to_text=to,
    )
    dbsession.add(rule)
    dbsession.commit()
    return rule


def test_the_server_pool_and_rules_choose_the_address(
    ip_pool_app, mail_server, loopback_pools, dbsession
):
    vip = loopback_pools["vip"]
    assert queued_ip(dbsession, send(ip_pool_app, mail_server)) == "127.0.0.2"
    org_id = dbsession.get(Server, mail_server.id).organization_id
    add_rule(dbsession, vip, organization_id=org_id, to="vip@example.net")
    assert queued_ip(dbsession, send(ip_pool_app, mail_server, "vip+x@example.net")) == "127.0.0.3"
    assert queued_ip(dbsession, send(ip_pool_app, mail_server, "bob@example.net")) == "127.0.0.2"
    add_rule(dbsession, loopback_pools["main"], server_id=mail_server.id, sender="example.com")
    # The server's rules come before the organisation's.
    assert queued_ip(dbsession, send(ip_pool_app, mail_server, "vip@example.net")) == "127.0.0.2"


def test_a_rule_on_a_pool_the_organisation_lost_is_skipped(
    ip_pool_app, mail_server, loopback_pools, dbsession
):
    vip = loopback_pools["vip"]
    add_rule(dbsession, vip, server_id=mail_server.id, to="example.net")
    server = dbsession.get(Server, mail_server.id)
    organization = server.organization
    organization.ip_pools.remove(dbsession.merge(vip))
    dbsession.commit()
    assert queued_ip(dbsession, send(ip_pool_app, mail_server)) == "127.0.0.2"


def test_without_the_setting_no_address_is_allocated(
    sending_app, mail_server, loopback_pools, dbsession
):
    assert queued_ip(dbsession, send(sending_app, mail_server)) is None


def test_allocate_for_one_message(mail_server, loopback_pools, dbsession):
    add_rule(dbsession, loopback_pools["vip"], server_id=mail_server.id, sender="vip.test")
    chosen = allocate(dbsession, mail_server.id, ["Boss <ceo@vip.test>"], "x@example.net")
    assert (chosen.ipv4, chosen.hostname) == ("127.0.0.3", "mx3.postal.test")
    assert allocate(dbsession, mail_server.id, ["a@b.test"], "x@example.net").ipv4 == "127.0.0.2"
    assert load_choosers(dbsession, []) == {}


def test_delivery_binds_the_pool_address_and_says_its_name(
    ip_pool_app, ip_pool_worker, mail_server, loopback_pools, dbsession, smtp_sink
):
    org_id = dbsession.get(Server, mail_server.id).organization_id
    add_rule(dbsession, loopback_pools["vip"], organization_id=org_id, to="vip@example.net")
    first = send(ip_pool_app, mail_server, "bob@example.net")
    second = send(ip_pool_app, mail_server, "vip@example.net")
    assert ip_pool_worker.run_until_idle() >= 2
    assert smtp_sink.wait_for(2)
    seen = {m.rcpt_tos[0]: (m.peer, m.helo) for m in smtp_sink.messages}
    assert seen == {
        "bob@example.net": ("127.0.0.2", "mx2.postal.test"),
        "vip@example.net": ("127.0.0.3", "mx3.postal.test"),
    }
    # Two sources, two connections: the pool key includes the source address.
    assert smtp_sink.sessions == 2
    dbsession.commit()  # a fresh snapshot (MariaDB is REPEATABLE READ)
    dbsession.expire_all()
    for message_id, source in ((first, "127.0.0.2"), (second, "127.0.0.3")):
        assert dbsession.get(Message, message_id).status == "Sent"
        delivery = dbsession.scalar(select(Delivery).where(Delivery.message_id == message_id))
        assert delivery.details.endswith(f"(from {source})")


def test_workers_claim_only_rows_of_their_host_addresses(
    ip_pool_app, mail_server, loopback_pools, dbsession, dbengine
):
    org_id = dbsession.get(Server, mail_server.id).organization_id
    add_rule(dbsession, loopback_pools["vip"], organization_id=org_id, to="vip@example.net")
    on_main = send(ip_pool_app, mail_server, "bob@example.net")
    on_vip = send(ip_pool_app, mail_server, "vip@example.net")
    # A pool address on another host (TEST-NET-2): no worker here may take its rows.
    elsewhere = make_pool(
        dbsession, "remote", ("198.51.100.7", "far.postal.test", 100), organization_id=org_id
    )
    add_rule(dbsession, elsewhere, server_id=mail_server.id, to="far@example.net")
    on_elsewhere = send(ip_pool_app, mail_server, "far@example.net")
    assert queued_ip(dbsession, on_elsewhere) == "198.51.100.7"
    session = Session(bind=dbengine)
    try:
        ids = claim_batch(session, "host-a", 10, 300, ("127.0.0.3", "::1"))
        session.commit()
        claimed = set(
            session.scalars(select(QueuedMessage.message_id).where(QueuedMessage.id.in_(ids)))
        )
        assert claimed == {on_vip}
        # The host's own addresses (127.0.0.0/8 is local on Linux) cover both pools.
        ids = claim_batch(session, "host-b", 10, 300)
        session.commit()
        claimed = set(
            session.scalars(select(QueuedMessage.message_id).where(QueuedMessage.id.in_(ids)))
        )
        assert claimed == {on_main}
        assert claim_batch(session, "host-c", 10, 300) == []
        session.commit()
    finally:
        session.close()
