"""Forwarded incoming mail leaves from the server's IP pool (Postal sends it from any
address): copies for SMTP and address endpoints get a pool address when queued, and the
sink sees that address and its host name in EHLO."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from postal.models import QueuedMessage, Server
from tests.fixtures.ip_pools import make_pool
from tests.fixtures.receiving import mail


pytestmark = pytest.mark.functional


@pytest.fixture
def app_settings(app_settings):
    return {**app_settings, "postal.use_ip_pools": True}


@pytest.fixture
def pooled(receiving):
    server = receiving.db.get(Server, receiving.server.id)
    pool = make_pool(
        receiving.db, "forward", ("127.0.0.2", "mx2.postal.test", 100),
        organization_id=server.organization_id,
    )  # fmt: skip
    server.ip_pool_id = pool.id
    receiving.db.commit()
    return pool


@pytest.mark.parametrize("kind", ["smtp", "address"])
def test_forwarded_copies_leave_from_the_pool(receiving, pooled, mail_worker, smtp_sink, kind):
    if kind == "smtp":
        endpoint = receiving.smtp_endpoint()
    else:
        endpoint = receiving.address_endpoint("forward@example.net")
    receiving.route(endpoint=endpoint)
    receiving.send("support@in.test", mail())
    (queued,) = receiving.db.scalars(select(QueuedMessage)).all()
    assert queued.ip_address_id == pooled.ip_addresses[0].id
    mail_worker.run_until_idle()
    (received,) = smtp_sink.messages
    assert received.peer == "127.0.0.2" and received.helo == "mx2.postal.test"
    (message,) = receiving.messages(scope="incoming")
    assert message.status == "Sent"


def test_http_endpoint_copies_need_no_address(receiving, pooled):
    receiving.route(endpoint=receiving.http_endpoint("http://127.0.0.1:9/"))
    receiving.send("support@in.test", mail())
    (queued,) = receiving.db.scalars(select(QueuedMessage)).all()
    assert queued.ip_address_id is None
