"""The outgoing pipeline for real: API send -> worker -> MX found through the loopback DNS
server -> the aiosmtpd sink; retries, hard failures, suppressions, holds and limits."""

from __future__ import annotations

import datetime as dt

import dkim
from sqlalchemy import select, update

from postal.dkim_keys import dkim_record, load_or_create_signing_key
from postal.models import (
    Credential,
    Delivery,
    Domain,
    Message,
    QueuedMessage,
    Server,
    Suppression,
    utcnow,
)  # fmt: skip


def send(app, server, to="bob@example.net", **extra):
    params = {"to": [to], "from": "alice@example.com", "subject": "Hi", "plain_body": "Hello"}
    params.update(extra)
    body = app.post_json(
        "/api/v1/send/message", params, headers={"X-Server-API-Key": server.api_key}
    ).json
    assert body["status"] == "success", body
    return body["data"]["messages"][to]["id"]


def message(dbsession, message_id) -> Message:
    dbsession.commit()  # a fresh snapshot (MariaDB is REPEATABLE READ)
    dbsession.expire_all()
    return dbsession.get(Message, message_id)


def deliveries(dbsession, message_id):
    dbsession.commit()  # a fresh snapshot (MariaDB is REPEATABLE READ)
    dbsession.expire_all()
    return dbsession.scalars(
        select(Delivery).where(Delivery.message_id == message_id).order_by(Delivery.id)
    ).all()


def queued(dbsession, message_id) -> QueuedMessage | None:
    dbsession.commit()  # a fresh snapshot (MariaDB is REPEATABLE READ)
    dbsession.expire_all()
    return dbsession.scalar(select(QueuedMessage).where(QueuedMessage.message_id == message_id))


def test_a_message_is_delivered_signed_from_the_return_path(
    sending_app, mail_server, mail_worker, smtp_sink, dbsession, sending_settings, dns_server
):
    message_id = send(sending_app, mail_server)
    assert mail_worker.run_until_idle() >= 1
    (received,) = smtp_sink.messages
    assert received.rcpt_tos == ["bob@example.net"]
    assert received.mail_from == f"{mail_server.token}@rp.postal.test"
    assert received.data.startswith(b"Resent-Sender: " + received.mail_from.encode() + b"\r\n")
    stored = message(dbsession, message_id)
    assert f"X-Postal-MsgID: {stored.token}".encode() in received.data
    # Signed with the installation key (the domain's DKIM record is not checked yet).
    assert b"DKIM-Signature:" in received.data and b"d=rp.postal.test" in received.data
    key = load_or_create_signing_key(sending_settings["postal.signing_key_path"], 1024)
    dns_server.add("postal._domainkey.rp.postal.test", "TXT", dkim_record(key))
    signed = received.data.split(b"\r\n", 1)[1]  # Resent-Sender is added after signing

    def dnsfunc(name, timeout=5):
        return dkim_record(key).encode()

    assert dkim.verify(signed, dnsfunc=dnsfunc)
    assert stored.status == "Sent" and stored.last_delivery_attempt is not None
    (delivery,) = deliveries(dbsession, message_id)
    assert delivery.status == "Sent"
    assert delivery.details.startswith("Message for bob@example.net accepted by 127.0.0.1:")
    assert delivery.output == "250 2.0.0 OK: queued"
    assert len(delivery.log_id) == 8 and delivery.time is not None
    assert queued(dbsession, message_id) is None
    (event,) = mail_worker.events.named("MessageSent")
    assert event.payload["message"]["id"] == message_id
    assert event.payload["message"]["spam_status"] == "NotChecked"
    assert event.payload["status"] == "Sent"
    assert event.payload["output"] == "250 2.0.0 OK: queued"
    assert set(event.payload) == {
        "message", "status", "details", "output", "sent_with_ssl", "timestamp", "time"
    }  # fmt: skip


def test_the_domain_key_and_return_path_are_used_once_dns_checks_out(
    sending_app, mail_server, mail_worker, smtp_sink, dbsession
):
    dbsession.execute(
        update(Domain)
        .where(Domain.id == mail_server.domain_id)
        .values(dkim_status="OK", return_path_status="OK")
    )
    dbsession.commit()
    send(sending_app, mail_server)
    mail_worker.run_until_idle()
    (received,) = smtp_sink.messages
    assert received.mail_from == f"{mail_server.token}@psrp.example.com"
    assert b"d=example.com" in received.data


def test_a_4xx_is_retried_later_then_delivered(
    sending_app, mail_server, mail_worker, smtp_sink, dbsession
):
    smtp_sink.rcpt_replies["bob@example.net"] = "451 4.7.1 Greylisted, try again in 90 seconds"
    message_id = send(sending_app, mail_server)
    before = utcnow()
    mail_worker.run_until_idle()
    stored = message(dbsession, message_id)
    assert stored.status == "SoftFail"
    row = queued(dbsession, message_id)
    assert row.attempts == 1 and row.locked_by is None
    # The remote asked for 90 seconds: Postal waits that plus ten.
    assert dt.timedelta(seconds=95) <= row.retry_after - before <= dt.timedelta(seconds=105)
    (delayed,) = mail_worker.events.named("MessageDelayed")
    assert delayed.payload["output"].startswith("451 4.7.1 Greylisted")
    assert delayed.payload["details"].startswith("Temporary SMTP delivery error when sending to")
    assert mail_worker.process_batch() == 0  # not due yet

    del smtp_sink.rcpt_replies["bob@example.net"]
    dbsession.execute(update(QueuedMessage).values(retry_after=utcnow()))
    dbsession.commit()
    mail_worker.run_until_idle()
    assert message(dbsession, message_id).status == "Sent"
    assert [d.status for d in deliveries(dbsession, message_id)] == ["SoftFail", "Sent"]
    assert smtp_sink.recipients() == ["bob@example.net"]


def test_the_retry_schedule_without_a_requested_delay(
    sending_app, mail_server, mail_worker, smtp_sink, dbsession
):
    smtp_sink.data_replies["bob@example.net"] = "452 4.3.1 Insufficient system storage"
    message_id = send(sending_app, mail_server)
    dbsession.execute(update(QueuedMessage).values(attempts=2))
    dbsession.commit()
    before = utcnow()
    mail_worker.run_until_idle()
    row = queued(dbsession, message_id)
    wait = (row.retry_after - before).total_seconds()
    assert row.attempts == 3
    assert 5 * 60 * 1.3**2 - 2 <= wait <= 5 * 60 * 1.3**2 + 2


def test_a_5xx_fails_and_suppresses_the_recipient(
    sending_app, mail_server, mail_worker, smtp_sink, dbsession
):
    smtp_sink.rcpt_replies["bob@example.net"] = "550 5.1.1 No such user"
    message_id = send(sending_app, mail_server)
    mail_worker.run_until_idle()
    stored = message(dbsession, message_id)
    assert stored.status == "HardFail"
    assert queued(dbsession, message_id) is None
    (delivery,) = deliveries(dbsession, message_id)
    assert delivery.details.startswith("Permanent SMTP delivery error when sending to")
    assert delivery.details.endswith("Recipient added to suppression list (too many hard fails)")
    (failed,) = mail_worker.events.named("MessageDeliveryFailed")
    assert failed.payload["output"] == "550 5.1.1 No such user"
    suppression = dbsession.scalar(select(Suppression))
    assert (suppression.address, suppression.reason) == ("bob@example.net", "too many hard fails")
    assert suppression.keep_until > utcnow() + dt.timedelta(days=29)

    # The next message to that address is held, and its release sends it anyway.
    del smtp_sink.rcpt_replies["bob@example.net"]
    second = send(sending_app, mail_server)
    mail_worker.run_until_idle()
    held = message(dbsession, second)
    assert held.status == "Held" and held.held
    assert deliveries(dbsession, second)[0].details == (
        "Recipient (bob@example.net) is on the suppression list (reason: too many hard fails)"
    )
    assert mail_worker.events.named("MessageHeld")
    assert smtp_sink.messages == []


def test_a_content_rejection_suppresses_only_when_it_repeats(
    sending_app, mail_server, mail_worker, smtp_sink, dbsession
):
    smtp_sink.data_replies["bob@example.net"] = "554 5.7.1 Message rejected as spam"
    send(sending_app, mail_server)
    mail_worker.run_until_idle()
    assert dbsession.scalar(select(Suppression)) is None
    send(sending_app, mail_server)
    mail_worker.run_until_idle()
    dbsession.commit()  # a fresh snapshot (MariaDB is REPEATABLE READ)
    dbsession.expire_all()
    assert dbsession.scalar(select(Suppression)).reason == "too many hard fails"


def test_maximum_attempts_hard_fail_and_suppress(
    sending_app, mail_server, mail_worker, smtp_sink, dbsession
):
    message_id = send(sending_app, mail_server)
    dbsession.execute(update(QueuedMessage).values(attempts=18))
    dbsession.commit()
    mail_worker.run_until_idle()
    assert message(dbsession, message_id).status == "HardFail"
    (delivery,) = deliveries(dbsession, message_id)
    assert delivery.details == (
        "Maximum number of delivery attempts (18) has been reached. Added bob@example.net to "
        "suppression list because delivery has failed 18 times."
    )
    assert dbsession.scalar(select(Suppression)).reason == "too many soft fails"
    assert smtp_sink.messages == []


def test_holds_credential_and_development_mode(
    sending_app, mail_server, mail_worker, smtp_sink, dbsession
):
    dbsession.execute(update(Credential).values(hold=True))
    dbsession.commit()
    first = send(sending_app, mail_server)
    mail_worker.run_until_idle()
    dbsession.execute(update(Credential).values(hold=False))
    dbsession.execute(update(Server).values(mode="Development"))
    dbsession.commit()
    second = send(sending_app, mail_server)
    mail_worker.run_until_idle()
    assert deliveries(dbsession, first)[0].details == (
        "Credential is configured to hold all messages authenticated by it."
    )
    assert deliveries(dbsession, second)[0].details == "Server is in development mode."
    assert message(dbsession, second).hold_expiry > utcnow() + dt.timedelta(days=6)
    assert queued(dbsession, first) is None and smtp_sink.messages == []


def test_send_limit_warns_then_holds(sending_app, mail_server, mail_worker, smtp_sink, dbsession):
    dbsession.execute(update(Server).values(send_limit=2))
    dbsession.commit()
    ids = [send(sending_app, mail_server, to=f"r{i}@example.net") for i in range(3)]
    mail_worker.run_until_idle()
    statuses = [message(dbsession, i).status for i in ids]
    assert statuses == ["Sent", "Sent", "Held"]
    assert deliveries(dbsession, ids[2])[0].details == (
        "Message held because send limit (2) has been reached."
    )
    (approaching,) = mail_worker.events.named("SendLimitApproaching")
    assert approaching.payload["limit"] == 2 and approaching.payload["server"]["uuid"]
    assert mail_worker.events.named("SendLimitExceeded")
    dbsession.commit()  # a fresh snapshot (MariaDB is REPEATABLE READ)
    dbsession.expire_all()
    assert dbsession.get(Server, mail_server.id).send_limit_exceeded_at is not None


def test_no_mail_server_is_a_soft_failure(
    sending_app, mail_server, mail_worker, smtp_sink, dbsession, dns_server
):
    dns_server.add("nowhere.test", "MX", "10 mx.nowhere.test.")
    message_id = send(sending_app, mail_server, to="x@nowhere.test")
    mail_worker.run_until_idle()
    assert message(dbsession, message_id).status == "SoftFail"
    assert deliveries(dbsession, message_id)[0].details == (
        "No SMTP servers were available for nowhere.test. No hosts to try."
    )


def test_opportunistic_starttls(
    sending_app, mail_server, mail_worker, tls_smtp_sink, dbsession, sending_settings
):
    # The relay setting points at the TLS sink; Auto mode uses STARTTLS without verifying.
    from plugins import mx_delivery

    settings = dict(sending_settings)
    settings["postal.smtp_relays"] = [f"smtp://127.0.0.1:{tls_smtp_sink.port}?ssl_mode=Auto"]
    mx_delivery.postal_configure(settings=settings, role="worker")
    message_id = send(sending_app, mail_server)
    mail_worker.run_until_idle()
    (received,) = tls_smtp_sink.messages
    assert received.tls
    assert deliveries(dbsession, message_id)[0].sent_with_ssl


def test_connections_are_reused(sending_app, mail_server, mail_worker, smtp_sink, dbsession):
    for i in range(5):
        send(sending_app, mail_server, to=f"r{i}@example.net")
    mail_worker.run_until_idle()
    assert len(smtp_sink.messages) == 5
    assert smtp_sink.sessions == 1


def test_the_same_worker_takes_incoming_messages(mail_server, mail_worker, dbsession):
    from postal.messages import store_message

    server = dbsession.get(Server, mail_server.id)
    (incoming,) = store_message(
        dbsession, server, scope="incoming", mail_from="a@b.test", rcpt_to=["x@example.com"],
        raw=b"Subject: in\r\n\r\nhi\r\n",
    )  # fmt: skip
    dbsession.commit()
    assert mail_worker.process_batch() == 1
    assert queued(dbsession, incoming.id) is None
    (delivery,) = deliveries(dbsession, incoming.id)
    assert (delivery.status, delivery.details) == (
        "HardFail", "Message does not have a route and/or endpoint available for delivery."
    )  # fmt: skip


def test_hook_postal_before_send(sending_app, mail_server, mail_worker, smtp_sink):
    from postal import hookimpl

    class Stamp:
        @hookimpl(tryfirst=True)
        def postal_before_send(self, message):
            assert message.dkim_selector == "postal"
            message.raw = b"X-Stamped: yes\r\n" + message.raw

    mail_worker.registry["postal.plugin_manager"].register(Stamp())
    send(sending_app, mail_server)
    mail_worker.run_until_idle()
    assert b"X-Stamped: yes\r\n" in smtp_sink.messages[0].data


def test_hook_postal_deliver_outgoing(sending_app, mail_server, mail_worker, smtp_sink, dbsession):
    from postal import hookimpl
    from postal.types import DeliveryResult

    class Smarthost:
        @hookimpl(tryfirst=True)
        def postal_deliver_outgoing(self, message, domain):
            return DeliveryResult("Sent", f"Taken by the smarthost for {domain}", "ok")

    mail_worker.registry["postal.plugin_manager"].register(Smarthost())
    message_id = send(sending_app, mail_server)
    mail_worker.run_until_idle()
    assert smtp_sink.messages == []
    assert deliveries(dbsession, message_id)[0].details == "Taken by the smarthost for example.net"


def test_hook_postal_after_delivery(sending_app, mail_server, mail_worker, smtp_sink):
    from postal import hookimpl

    seen = []

    class Listener:
        @hookimpl
        def postal_after_delivery(self, message, result):
            seen.append((message.rcpt_to, result.status))

    mail_worker.registry["postal.plugin_manager"].register(Listener())
    send(sending_app, mail_server)
    mail_worker.run_until_idle()
    assert seen == [("bob@example.net", "Sent")]
