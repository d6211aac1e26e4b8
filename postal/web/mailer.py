"""Postal's own notification mail (password resets, invitations) through ``smtp.*``."""

from __future__ import annotations

import logging
import smtplib
import ssl
from collections.abc import Mapping
from email.message import EmailMessage
from email.utils import formataddr, make_msgid
from typing import Any


log = logging.getLogger(__name__)


def build_message(settings: Mapping[str, Any], to: str, subject: str, body: str) -> EmailMessage:
    message = EmailMessage()
    message["From"] = formataddr((settings["smtp.from_name"], settings["smtp.from_address"]))
    message["To"] = to
    message["Subject"] = subject
    message["Message-ID"] = make_msgid(domain=settings["smtp.from_address"].rpartition("@")[2])
    message.set_content(body)
    return message


def _tls_context(settings: Mapping[str, Any]) -> ssl.SSLContext:
    context = ssl.create_default_context()
    if settings["smtp.openssl_verify_mode"].lower() == "none":
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    return context


def send_mail(settings: Mapping[str, Any], to: str, subject: str, body: str) -> bool:
    """Send one plain-text message; returns False (and logs) when the SMTP server fails."""
    message = build_message(settings, to, subject, body)
    try:
        with smtplib.SMTP(settings["smtp.host"], settings["smtp.port"], timeout=30) as client:
            client.ehlo()
            wants_tls = settings["smtp.enable_starttls"] or (
                settings["smtp.enable_starttls_auto"] and client.has_extn("starttls")
            )
            if wants_tls:
                client.starttls(context=_tls_context(settings))
                client.ehlo()
            if settings["smtp.username"]:
                client.login(settings["smtp.username"], settings["smtp.password"])
            client.send_message(message)
    except (OSError, smtplib.SMTPException) as exc:
        log.warning("could not send %r to %s: %s", subject, to, exc)
        return False
    return True


def send_after_commit(request, to: str, subject: str, body: str) -> None:
    """Send once the request's transaction has committed (the token in the mail exists)."""
    settings = request.registry.settings

    def hook(committed: bool) -> None:
        if committed:
            send_mail(settings, to, subject, body)

    request.tm.get().addAfterCommitHook(hook)
