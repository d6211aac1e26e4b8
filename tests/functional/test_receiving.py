"""The incoming pipeline for real: mail into the SMTP server, the worker, and what arrives at
the endpoints — route modes, SMTP and address endpoints, bounces to senders, development
mode, held mail and its expiry."""

from __future__ import annotations

import datetime as dt
import email
import email.policy

import pytest
from sqlalchemy import select, update

from postal import hookimpl
from postal.models import Message, QueuedMessage, SpamCheck, utcnow
from postal.types import SpamCheck as Check
from postal.types import SpamScanResult, ThreatScanResult
from tests.fixtures.receiving import SENDER, mail


pytestmark = pytest.mark.functional


def only(receiving, **where) -> Message:
    (message,) = receiving.messages(**where)
    return message


def statuses(receiving, message) -> list[tuple[str, str]]:
    return [(d.status, d.details) for d in receiving.deliveries(message.id)]


def test_accept_mode_processes_without_an_endpoint(receiving, mail_worker):
    receiving.route(mode="Accept")
    receiving.send("support@in.test", mail())
    assert mail_worker.run_until_idle() >= 1
    message = only(receiving, scope="incoming")
    assert message.status == "Processed"
    assert statuses(receiving, message) == [
        ("Processed", "Message has been accepted but not sent to any endpoints.")
    ]
    assert message.inspected and not message.spam and message.spam_score == 0


def test_smtp_endpoint_relays_with_the_original_envelope(receiving, mail_worker, smtp_sink):
    endpoint = receiving.smtp_endpoint()
    receiving.route(endpoint=endpoint)
    receiving.send("support+tag@in.test", mail())
    mail_worker.run_until_idle()
    (received,) = smtp_sink.messages
    assert received.mail_from == SENDER
    assert received.rcpt_tos == ["support+tag@in.test"]
    head = received.data.split(b"\r\n\r\n")[0]
    assert head.startswith(
        f"Resent-Sender: {SENDER}\r\n".encode()
        + b"X-Postal-Spam: no\r\nX-Postal-Spam-Threshold: 5.0\r\n"
        b"X-Postal-Spam-Score: 0.0\r\nX-Postal-Threat: no\r\nReceived: from "
    )
    message = only(receiving, scope="incoming")
    assert message.status == "Sent"
    (delivery,) = receiving.deliveries(message.id)
    assert "accepted by 127.0.0.1" in delivery.details and delivery.output.startswith("250")
    receiving.db.expire_all()
    assert receiving.db.get(type(endpoint), endpoint.id).last_used_at is not None


def test_address_endpoint_forwards_from_the_return_path(
    receiving, mail_worker, smtp_sink, sending_settings
):
    receiving.route(endpoint=receiving.address_endpoint("forward@example.net"))
    receiving.send("support@in.test", mail())
    mail_worker.run_until_idle()
    (received,) = smtp_sink.messages
    assert received.rcpt_tos == ["forward@example.net"]
    return_path = sending_settings["dns.return_path_domain"]
    assert received.mail_from == f"{receiving.server.token}@{return_path}"
    assert b"Subject: Hello" in received.data
    assert only(receiving, scope="incoming").status == "Sent"


def test_a_permanent_endpoint_failure_bounces_to_the_sender(receiving, mail_worker, smtp_sink):
    smtp_sink.rcpt_replies["support@in.test"] = "550 5.1.1 No such mailbox here"
    receiving.route(endpoint=receiving.smtp_endpoint())
    receiving.send("support@in.test", mail(subject="Report"))
    mail_worker.run_until_idle()
    incoming = only(receiving, scope="incoming")
    bounce = only(receiving, scope="outgoing")
    assert incoming.status == "HardFail"
    (delivery,) = receiving.deliveries(incoming.id)
    assert delivery.details.endswith(
        f"Sent bounce message to sender (see message <msg:{bounce.id}>)"
    )
    assert (bounce.bounce, bounce.bounce_for_id, bounce.rcpt_to) == (True, incoming.id, SENDER)
    assert bounce.status == "Sent"
    (received,) = smtp_sink.messages
    assert received.mail_from == "<>" and received.rcpt_tos == [SENDER]
    dsn = email.message_from_bytes(received.data, policy=email.policy.default)
    assert dsn["Subject"] == "Mail Delivery Failed (Report)"
    assert dsn["From"] == "Mail Delivery Service <support@in.test>"
    assert dsn.get_content_type() == "multipart/report"
    kinds = [part.get_content_type() for part in dsn.iter_parts()]
    assert kinds == ["text/plain", "message/delivery-status", "message/rfc822"]
    status = dsn.get_payload()[1].get_payload()[1]
    assert status["Status"] == "5.1.1" and status["Final-Recipient"] == "rfc822; support@in.test"
    assert (
        f"Message Token: {incoming.token}@{receiving.server.token}"
        in dsn.get_payload()[0].get_content()
    )


def test_a_temporary_failure_is_retried(receiving, mail_worker, smtp_sink):
    smtp_sink.rcpt_replies["support@in.test"] = "451 4.3.0 Try again in 30 seconds"
    receiving.route(endpoint=receiving.smtp_endpoint())
    receiving.send("support@in.test", mail())
    mail_worker.run_until_idle()
    message = only(receiving, scope="incoming")
    assert message.status == "SoftFail"
    queued = receiving.db.scalar(
        select(QueuedMessage).where(QueuedMessage.message_id == message.id)
    )
    assert queued.attempts == 1 and queued.retry_after > utcnow() + dt.timedelta(seconds=30)
    del smtp_sink.rcpt_replies["support@in.test"]
    receiving.db.execute(update(QueuedMessage).values(retry_after=None))
    receiving.db.commit()
    mail_worker.run_until_idle()
    assert receiving.message(message.id).status == "Sent"
    assert receiving.messages(scope="outgoing") == []  # no bounce for a retry


def test_bounce_and_reject_modes_bounce(receiving, mail_worker, smtp_sink):
    receiving.route(mode="Bounce")
    receiving.send("support@in.test", mail())
    mail_worker.run_until_idle()
    incoming = only(receiving, scope="incoming")
    bounce = only(receiving, scope="outgoing")
    assert statuses(receiving, incoming) == [
        (
            "HardFail",
            "Message has been bounced because the route asks for this. "
            f"See message <msg:{bounce.id}>",
        )
    ]
    assert smtp_sink.recipients() == [SENDER]


def test_no_bounce_for_a_bounce_or_a_null_sender(receiving, mail_worker, smtp_sink):
    receiving.route(mode="Bounce")
    receiving.send("support@in.test", mail(), mail_from="")
    mail_worker.run_until_idle()
    assert only(receiving, scope="incoming").status == "HardFail"
    assert receiving.messages(scope="outgoing") == [] and smtp_sink.messages == []


def test_hold_mode_holds_until_released(receiving, mail_worker, sending_app, data):
    receiving.route(mode="Hold")
    receiving.send("support@in.test", mail())
    mail_worker.run_until_idle()
    message = only(receiving, scope="incoming")
    assert message.held and message.status == "Held" and message.hold_expiry is not None
    _user, headers = data.auth(admin=True)
    sending_app.post(f"/api/v2/messages/{message.id}/release", headers=headers, status=200)
    mail_worker.run_until_idle()
    assert statuses(receiving, message)[-1] == ("Processed", "Message has been processed.")


def test_development_mode_holds_incoming_mail(receiving, mail_worker):
    receiving.server.mode = "Development"
    receiving.db.commit()
    receiving.route(mode="Accept")
    receiving.send("support@in.test", mail())
    mail_worker.run_until_idle()
    message = only(receiving, scope="incoming")
    assert statuses(receiving, message) == [("Held", "Server is in development mode.")]


def test_a_deleted_endpoint_fails_the_message(receiving, mail_worker):
    endpoint = receiving.smtp_endpoint()
    receiving.route(endpoint=endpoint)
    receiving.db.delete(endpoint)
    receiving.db.commit()
    receiving.send("support@in.test", mail())
    mail_worker.run_until_idle()
    message = only(receiving, scope="incoming")
    assert statuses(receiving, message)[0] == ("HardFail", "Invalid endpoint for route.")


def test_maximum_attempts_fail_and_bounce(receiving, mail_worker, smtp_sink):
    receiving.route(endpoint=receiving.smtp_endpoint())
    receiving.send("support@in.test", mail())
    receiving.db.execute(update(QueuedMessage).values(attempts=18))
    receiving.db.commit()
    mail_worker.run_until_idle()
    incoming = only(receiving, scope="incoming")
    bounce = only(receiving, scope="outgoing")
    (status, details), *_ = statuses(receiving, incoming)
    assert status == "HardFail"
    assert details == (
        "Maximum number of delivery attempts (18) has been reached. "
        f"Bounce sent to sender (see message <msg:{bounce.id}>)"
    )
    assert smtp_sink.recipients() == [SENDER]


def test_expired_holds_are_cancelled(receiving, mail_worker):
    from plugins.held_messages import expire_holds

    receiving.route(mode="Hold")
    receiving.send("support@in.test", mail())
    mail_worker.run_until_idle()
    message = only(receiving, scope="incoming")
    assert expire_holds(mail_worker.registry) == 0
    receiving.db.execute(update(Message).values(hold_expiry=utcnow() - dt.timedelta(minutes=1)))
    receiving.db.commit()
    assert expire_holds(mail_worker.registry) == 1
    message = receiving.message(message.id)
    assert (message.status, message.held) == ("HoldCancelled", False)
    assert statuses(receiving, message)[-1] == (
        "HoldCancelled",
        "The hold on this message has been removed without action.",
    )


class Scanner:
    """A scanner plugin with fixed answers, to drive the pipeline's spam rules."""

    def __init__(self, score: float, threat: bool = False):
        self.score, self.threat = score, threat
        self.seen = []

    @hookimpl
    def postal_scan_spam(self, message):
        self.seen.append(message.scope)
        return SpamScanResult("test", (Check("TEST_RULE", self.score, "a rule"),))

    @hookimpl
    def postal_scan_virus(self, message):
        return ThreatScanResult(
            "test", self.threat, "Test.Virus" if self.threat else "No threats found"
        )


def scanner(mail_worker, score, threat=False) -> Scanner:
    plugin = Scanner(score, threat)
    mail_worker.registry["postal.plugin_manager"].register(plugin, name=f"scanner-{id(plugin)}")
    return plugin


@pytest.mark.parametrize(
    "spam_mode, status, details",
    [
        ("Mark", "Sent", None),
        ("Quarantine", "Held", "Message placed into quarantine."),
        ("Fail", "HardFail", "Message is spam and the route specifies it should be failed."),
    ],
)
def test_spam_modes(receiving, mail_worker, smtp_sink, spam_mode, status, details):
    scanner(mail_worker, 7.5, threat=True)
    receiving.route(endpoint=receiving.smtp_endpoint(), spam_mode=spam_mode)
    receiving.send("support@in.test", mail())
    mail_worker.run_until_idle()
    message = only(receiving, scope="incoming")
    assert (message.status, message.spam, message.spam_score) == (status, True, 7.5)
    assert (message.threat, message.threat_details) == (True, "Test.Virus")
    checks = receiving.db.scalars(select(SpamCheck).where(SpamCheck.message_id == message.id))
    assert [(c.code, c.score) for c in checks] == [("TEST_RULE", 7.5)]
    if details:
        assert statuses(receiving, message)[0] == (status, details)
    else:
        head = smtp_sink.messages[0].data.split(b"\r\n\r\n")[0]
        assert b"X-Postal-Spam: yes\r\nX-Postal-Spam-Threshold: 5.0\r\n" in head
        assert b"X-Postal-Spam-Score: 7.5\r\nX-Postal-Threat: yes\r\n" in head


def test_the_spam_failure_threshold(receiving, mail_worker):
    scanner(mail_worker, 25.0)
    receiving.route(mode="Accept")
    receiving.send("support@in.test", mail())
    mail_worker.run_until_idle()
    message = only(receiving, scope="incoming")
    assert statuses(receiving, message) == [
        (
            "HardFail",
            "Message's spam score is higher than the failure threshold for this server. "
            "Threshold is currently 20.0.",
        )
    ]


def test_copies_of_one_message_are_scanned_once(receiving, mail_worker, smtp_sink):
    plugin = scanner(mail_worker, 1.0)
    from postal.models import AdditionalRouteEndpoint

    route = receiving.route(endpoint=receiving.smtp_endpoint())
    second = receiving.smtp_endpoint(name="second")
    receiving.db.add(
        AdditionalRouteEndpoint(
            route_id=route.id, endpoint_type="SMTPEndpoint", endpoint_id=second.id
        )
    )
    receiving.db.commit()
    receiving.send("support@in.test", mail())
    mail_worker.run_until_idle()
    assert [m.status for m in receiving.messages(scope="incoming")] == ["Sent", "Sent"]
    assert plugin.seen == ["incoming"]
    assert len(smtp_sink.messages) == 2


# --- bounces -------------------------------------------------------------------------------


def dsn(original_headers: str, recipient="bob@example.net", status="5.1.1", action="failed"):
    """A delivery status notification as Postfix writes them."""
    return (
        "From: MAILER-DAEMON@mx.example.net (Mail Delivery System)\r\n"
        "To: whoever@rp.postal.test\r\nSubject: Undelivered Mail Returned to Sender\r\n"
        "MIME-Version: 1.0\r\n"
        'Content-Type: multipart/report; report-type=delivery-status; boundary="BB"\r\n\r\n'
        "--BB\r\nContent-Type: text/plain\r\n\r\nI'm sorry to have to inform you...\r\n"
        "--BB\r\nContent-Type: message/delivery-status\r\n\r\n"
        "Reporting-MTA: dns; mx.example.net\r\n\r\n"
        f"Final-Recipient: rfc822; {recipient}\r\nOriginal-Recipient: rfc822;{recipient}\r\n"
        f"Action: {action}\r\nStatus: {status}\r\n"
        "Diagnostic-Code: smtp; 550 5.1.1 <bob@example.net>: Recipient address rejected:\r\n"
        "    User unknown in local recipient table\r\n\r\n"
        "--BB\r\nContent-Type: text/rfc822-headers\r\n\r\n"
        f"{original_headers}\r\n--BB--\r\n"
    )


@pytest.fixture
def sent(sending_app, mail_server, mail_worker, smtp_sink, receiving):
    """An outgoing message delivered to bob@example.net: (row, the bytes the sink got)."""
    from tests.functional.test_sending import send

    message_id = send(sending_app, mail_server)
    mail_worker.run_until_idle()
    (received,) = smtp_sink.messages
    return receiving.message(message_id), received.data


def return_path(server_token, settings):
    return f"{server_token}@{settings['dns.return_path_domain']}"


def test_a_dsn_quoting_our_msgid_bounces_the_original(
    receiving, sent, mail_server, mail_worker, sending_settings
):
    original, data = sent
    headers = data.split(b"\r\n\r\n")[0].decode()
    assert f"X-Postal-MsgID: {original.token}" in headers
    receiving.send(return_path(mail_server.token, sending_settings), dsn(headers), mail_from="")
    mail_worker.run_until_idle()
    bounce = only(receiving, scope="incoming")
    assert (bounce.bounce, bounce.bounce_for_id, bounce.status) == (True, original.id, "Processed")
    assert statuses(receiving, bounce) == [
        ("Processed", f"This has been detected as a bounce message for <msg:{original.id}>.")
    ]
    original = receiving.message(original.id)
    assert original.status == "Bounced"
    assert statuses(receiving, original)[-1] == (
        "Bounced",
        f"We've received a bounce message for this e-mail. See <msg:{bounce.id}> for details.",
    )
    (event,) = mail_worker.events.named("MessageBounced")
    assert event.payload["original_message"]["id"] == original.id
    assert event.payload["bounce"]["id"] == bounce.id
    assert event.payload["original_message"]["token"] == original.token
    from postal.models import Suppression

    (suppression,) = receiving.db.scalars(select(Suppression))
    assert (suppression.address, suppression.reason) == ("bob@example.net", "hard bounce")


def test_a_dsn_is_linked_by_message_id_and_recipient(
    receiving, sent, mail_server, mail_worker, sending_settings
):
    original, _data = sent
    headers = f"From: alice@example.com\r\nMessage-ID: <{original.message_id}>\r\nSubject: Hi"
    receiving.send(return_path(mail_server.token, sending_settings), dsn(headers), mail_from="")
    mail_worker.run_until_idle()
    assert receiving.message(original.id).status == "Bounced"


def test_a_delay_notice_is_linked_but_bounces_nothing(
    receiving, sent, mail_server, mail_worker, sending_settings
):
    original, data = sent
    headers = data.split(b"\r\n\r\n")[0].decode()
    report = dsn(headers, status="4.4.1", action="delayed")
    receiving.send(return_path(mail_server.token, sending_settings), report, mail_from="")
    mail_worker.run_until_idle()
    bounce = only(receiving, scope="incoming")
    assert bounce.bounce_for_id == original.id
    assert statuses(receiving, bounce) == [
        ("Processed", f"This has been detected as a delivery delay notice for <msg:{original.id}>.")
    ]
    assert receiving.message(original.id).status == "Sent"
    assert mail_worker.events.named("MessageBounced") == []


def test_other_mail_to_the_return_path(receiving, mail_worker, mail_server, sending_settings):
    address = return_path(mail_server.token, sending_settings)
    receiving.send(address, mail(subject="Out of office"))
    mail_worker.run_until_idle()
    (message,) = receiving.messages(scope="incoming")
    assert statuses(receiving, message) == [
        (
            "HardFail",
            "This message was a bounce but we couldn't link it with any outgoing message "
            "and there was no route for it.",
        )
    ]


def test_auto_replies_go_to_the_return_path_route(
    receiving, mail_worker, mail_server, sending_settings, smtp_data
):
    from postal.models import Server

    server = receiving.db.get(Server, mail_server.id)
    smtp_data.route(server, "__returnpath__", None, mode="Accept")
    receiving.send(return_path(mail_server.token, sending_settings), mail(subject="Away"))
    mail_worker.run_until_idle()
    (message,) = receiving.messages(scope="incoming")
    assert (message.bounce, message.status) == (True, "Processed")


def test_smtp_endpoint_tls_modes(receiving, mail_worker, tls_smtp_sink):
    """Auto: opportunistic STARTTLS, certificate unchecked; STARTTLS: required and verified,
    so a self-signed certificate is refused and the message retried."""
    auto = receiving.smtp_endpoint(port=tls_smtp_sink.port, ssl_mode="Auto")
    receiving.route(endpoint=auto)
    strict = receiving.smtp_endpoint(name="strict", port=tls_smtp_sink.port, ssl_mode="STARTTLS")
    receiving.route("strict", endpoint=strict)
    receiving.send("support@in.test", mail(subject="auto"))
    receiving.send("strict@in.test", mail(subject="strict"))
    mail_worker.run_until_idle()
    by_rcpt = {m.rcpt_to: m for m in receiving.messages(scope="incoming")}
    (sent,) = receiving.deliveries(by_rcpt["support@in.test"].id)
    assert (sent.status, sent.sent_with_ssl) == ("Sent", True)
    assert [m.rcpt_tos for m in tls_smtp_sink.messages] == [["support@in.test"]]
    assert tls_smtp_sink.messages[0].tls
    assert by_rcpt["strict@in.test"].status == "SoftFail"


def test_one_token_ties_the_log_lines_of_a_message_together(receiving, mail_worker, caplog):
    import logging

    from postal.logs import StructuredFormatter

    receiving.route(mode="Accept")
    with caplog.at_level(logging.INFO):
        receiving.send("support@in.test", mail())
        mail_worker.run_until_idle()
    message = only(receiving, scope="incoming")
    lines = [
        StructuredFormatter("%(name)s %(message)s").format(record)
        for record in caplog.records
        if getattr(record, "message_token", None) == message.token
    ]
    assert [line.split()[0] for line in lines] == ["postal.smtp.handler", "postal.worker.runner"]
    assert all(f"message_token={message.token}" in line for line in lines)
    assert "accepted incoming message for support@in.test" in lines[0]
    assert "incoming Processed" in lines[1] and "status=Processed" in lines[1]
