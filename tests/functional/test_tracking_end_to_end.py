"""A tracked HTML message through the real path: API v1 -> worker -> SMTP sink -> a click
and an open through the web app."""

from __future__ import annotations

import email
import email.policy
import re

from sqlalchemy import func, select

from postal.models import Click, Load

from .test_sending import send


TRACK_HOST = {"X-Postal-Track-Host": "1"}


def html_of(data: bytes) -> str:
    parsed = email.message_from_bytes(data, policy=email.policy.default)
    return parsed.get_body(preferencelist=("html",)).get_content()


def test_a_tracked_message_is_delivered_rewritten_and_records_clicks_and_opens(
    sending_app, tracked_server, mail_worker, smtp_sink, dbsession
):
    server = tracked_server.server
    send(
        sending_app,
        server,
        html_body='<p>Hi <a href="https://example.org/offer?a=1">the offer</a></p>',
    )
    assert mail_worker.run_until_idle() >= 1
    (received,) = smtp_sink.messages
    html = html_of(received.data)

    link = re.search(rf'href="https?://click\.example\.com(/{server.token}/\w+)"', html)
    pixel = re.search(rf"src=['\"]https?://click\.example\.com(/img/{server.token}/\w+)", html)
    assert link and pixel, html
    assert "https://example.org/offer" not in html

    clicked = sending_app.get(link.group(1), headers=TRACK_HOST)
    assert clicked.status_int == 307
    assert clicked.headers["Location"] == "https://example.org/offer?a=1"
    opened = sending_app.get(pixel.group(1), headers=TRACK_HOST)
    assert opened.content_type == "image/png"

    dbsession.commit()
    assert dbsession.scalar(select(func.count()).select_from(Click)) == 1
    assert dbsession.scalar(select(func.count()).select_from(Load)) == 1
