"""Management API v2: messages (search, details, raw, deliveries, retry / release / cancel)
and the suppression list, every response checked against the OpenAPI document."""

from __future__ import annotations

from sqlalchemy import select

from postal.messages import store_message
from postal.models import Delivery, Message, QueuedMessage, Server, Suppression


def make_messages(dbsession, mail_server):
    server = dbsession.get(Server, mail_server.id)
    raw = b"From: alice@example.com\r\nSubject: Invoice 7\r\n\r\nHi\r\n"
    sent, held = store_message(
        dbsession, server, scope="outgoing", mail_from="alice@example.com",
        rcpt_to=["bob@example.net", "carol@example.net"], raw=raw, tag="billing",
        domain_id=mail_server.domain_id,
    )  # fmt: skip
    sent.status = "Sent"
    held.status, held.held = "Held", True
    dbsession.add(Delivery(message_id=sent.id, status="Sent", details="ok", output="250 OK"))
    for message in (sent, held):
        dbsession.delete(dbsession.scalar(select(QueuedMessage).where(
            QueuedMessage.message_id == message.id)))  # fmt: skip
    dbsession.commit()
    return sent, held


def test_list_and_search_messages(api, data, dbsession, mail_server):
    _user, headers = data.auth(admin=True)
    sent, held = make_messages(dbsession, mail_server)
    base = f"/api/v2/servers/{mail_server.uuid}/messages"
    everything = api.get(base, headers=headers).json
    assert [m["id"] for m in everything["data"]] == [held.id, sent.id]
    assert everything["meta"]["total"] == 2
    assert [m["id"] for m in api.get(f"{base}?status=Held", headers=headers).json["data"]] == [
        held.id
    ]
    by_to = api.get(f"{base}?to=bob@example.net&direction=outgoing", headers=headers).json
    assert [m["rcpt_to"] for m in by_to["data"]] == ["bob@example.net"]
    assert api.get(f"{base}?query=Invoice&tag=billing", headers=headers).json["meta"]["total"] == 2
    assert api.get(f"{base}?direction=incoming", headers=headers).json["data"] == []
    api.get(f"{base}?direction=sideways", headers=headers, status=422)


def test_message_details_raw_and_deliveries(api, testapp, data, dbsession, mail_server):
    _user, headers = data.auth(admin=True)
    sent, _held = make_messages(dbsession, mail_server)
    detail = api.get(f"/api/v2/messages/{sent.id}", headers=headers).json
    assert detail["status"] == "Sent" and detail["subject"] == "Invoice 7"
    raw = testapp.get(f"/api/v2/messages/{sent.id}/raw", headers=headers)
    assert raw.content_type == "message/rfc822"
    assert raw.body.startswith(b"From: alice@example.com")
    log = api.get(f"/api/v2/messages/{sent.id}/deliveries", headers=headers).json
    assert [(d["status"], d["output"]) for d in log["data"]] == [("Sent", "250 OK")]
    api.get("/api/v2/messages/999999", headers=headers, status=404)


def test_other_organisations_cannot_see_messages(api, data, dbsession, mail_server):
    _outsider, headers = data.auth(admin=False)
    sent, _held = make_messages(dbsession, mail_server)
    api.get(f"/api/v2/messages/{sent.id}", headers=headers, status=404)
    api.get(f"/api/v2/servers/{mail_server.uuid}/messages", headers=headers, status=404)


def test_release_and_cancel_holds(api, data, dbsession, mail_server):
    _user, headers = data.auth(admin=True)
    sent, held = make_messages(dbsession, mail_server)
    api.post(f"/api/v2/messages/{sent.id}/release", headers=headers, status=409)
    released = api.post(f"/api/v2/messages/{held.id}/release", headers=headers).json
    assert released["held"] is False
    dbsession.commit()
    row = dbsession.scalar(select(QueuedMessage).where(QueuedMessage.message_id == held.id))
    assert row.manual and row.batch_key == "outgoing-example.net"

    other = dbsession.get(Message, sent.id)
    other.held, other.status = True, "Held"
    dbsession.commit()
    cancelled = api.post(f"/api/v2/messages/{sent.id}/cancel", headers=headers).json
    assert cancelled["status"] == "HoldCancelled" and cancelled["held"] is False
    log = api.get(f"/api/v2/messages/{sent.id}/deliveries", headers=headers).json["data"]
    assert log[-1]["status"] == "HoldCancelled"


def test_retry_queues_again_or_makes_due_now(api, data, dbsession, mail_server):
    _user, headers = data.auth(admin=True)
    sent, _held = make_messages(dbsession, mail_server)
    api.post(f"/api/v2/messages/{sent.id}/retry", headers=headers)
    dbsession.commit()
    row = dbsession.scalar(select(QueuedMessage).where(QueuedMessage.message_id == sent.id))
    assert row is not None and row.manual
    from postal.models import utcnow

    row.retry_after = utcnow()
    dbsession.commit()
    api.post(f"/api/v2/messages/{sent.id}/retry", headers=headers)
    dbsession.commit()
    dbsession.expire_all()
    assert dbsession.get(QueuedMessage, row.id).retry_after is None


def test_suppression_list(api, data, dbsession, mail_server):
    _user, headers = data.auth(admin=True)
    base = f"/api/v2/servers/{mail_server.uuid}/suppressions"
    created = api.post(base, {"address": "Bob@Example.net", "days": 2}, headers=headers).json
    assert created["address"] == "bob@example.net" and created["active"] is True
    assert created["reason"] == "added manually"
    again = api.post(base, {"address": "bob@example.net", "reason": "asked"}, headers=headers)
    assert again.json["uuid"] == created["uuid"] and again.json["reason"] == "asked"
    listing = api.get(f"{base}?address=bob@example.net", headers=headers).json
    assert [s["uuid"] for s in listing["data"]] == [created["uuid"]]
    api.post(base, {"address": "not an address"}, headers=headers, status=422)
    api.delete(f"{base}/{created['uuid']}", headers=headers, status=204)
    dbsession.commit()
    assert dbsession.scalar(select(Suppression)) is None
    api.delete(f"{base}/{created['uuid']}", headers=headers, status=404)
