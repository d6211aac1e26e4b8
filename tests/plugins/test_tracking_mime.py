"""The MIME side of the tracking rewrite (no database): encodings, charsets, structure."""

from __future__ import annotations

import base64
import email
from email.message import EmailMessage
from email.mime.multipart import MIMEMultipart
from email.mime.text import MIMEText
from email.policy import SMTP, default

from plugins.tracking.rewrite import Tracker, amp_skip, rewrite_message


def tracker(**options) -> Tracker:
    tokens = iter(f"{n:016d}" for n in range(1, 100))
    urls = []

    def link_token(url):
        urls.append(url)
        return next(tokens)

    result = Tracker(
        base_url="https://t.example.com",
        server_token="abcdef",
        message_token="M" * 16,
        link_token=link_token,
        **options,
    )
    result.urls = urls
    return result


def test_tracking_rewrite_base64_latin1_part_keeps_encoding_and_charset():
    outer = MIMEMultipart("alternative")
    outer["Subject"] = "Hi"
    outer.attach(MIMEText("Bonjour", "plain", "iso-8859-1"))
    html = MIMEText("", "html", "iso-8859-1")
    del html["Content-Transfer-Encoding"]
    html["Content-Transfer-Encoding"] = "base64"
    body = "<p>Caf\xe9 <a href='https://shop.example.org/'>x</a></p>".encode("iso-8859-1")
    html.set_payload(base64.encodebytes(body).decode("ascii"))
    outer.attach(html)
    raw = outer.as_bytes(policy=SMTP)
    assert b"Content-Transfer-Encoding: base64" in raw

    t = tracker()
    new = rewrite_message(raw, t)
    part = email.message_from_bytes(new, policy=default).get_body(("html",))
    assert part["Content-Transfer-Encoding"] == "base64"
    assert part.get_content_charset() == "iso-8859-1"
    content = part.get_content()
    assert "Caf\xe9 <a href='https://t.example.com/abcdef/0000000000000001'>x</a>" in content
    assert content.endswith("</p><p class='ampimg' style='display:none;visibility:none;margin:0;"
                            "padding:0;line-height:0;'><img src='https://t.example.com/img/abcdef/"
                            "MMMMMMMMMMMMMMMM' alt=''></p>")  # fmt: skip
    assert t.urls == ["https://shop.example.org/"] and (t.links, t.images) == (1, 1)


def test_tracking_rewrite_single_part_7bit_html_with_long_lines_becomes_quoted_printable():
    body = "<html><body>" + "x" * 990 + "</body></html>"
    raw = (
        "Subject: Hi\r\nMIME-Version: 1.0\r\nContent-Type: text/html; charset=us-ascii\r\n"
        "Content-Transfer-Encoding: 7bit\r\n\r\n" + body + "\r\n"
    ).encode()
    new = rewrite_message(raw, tracker())
    assert all(len(line) <= 998 for line in new.split(b"\r\n"))
    parsed = email.message_from_bytes(new, policy=default)
    assert parsed["Content-Transfer-Encoding"] == "quoted-printable"
    assert "MMMMMMMMMMMMMMMM' alt=''></p></body></html>" in parsed.get_content()


def test_tracking_rewrite_leaves_signed_parts_attachments_and_attached_mail_alone():
    signed = MIMEMultipart("signed", protocol="application/pgp-signature")
    signed.attach(MIMEText("<a href='https://signed.example.org/'>s</a>", "html"))
    attachment = MIMEText("<a href='https://attached.example.org/'>a</a>", "html")
    attachment.add_header("Content-Disposition", "attachment", filename="page.html")
    forwarded = EmailMessage()
    forwarded["Subject"] = "old"
    forwarded.set_content("<a href='https://forwarded.example.org/'>f</a>", subtype="html")
    outer = MIMEMultipart("mixed")
    for part in (signed, attachment):
        outer.attach(part)
    outer.attach(email.message_from_bytes(b"Content-Type: message/rfc822\r\n\r\n"))
    outer.get_payload()[-1].set_payload([forwarded])
    raw = outer.as_bytes(policy=SMTP)
    assert rewrite_message(raw, tracker()) is None


def test_tracking_rewrite_nested_alternative_inside_mixed():
    alternative = MIMEMultipart("alternative")
    alternative.attach(MIMEText("text", "plain"))
    alternative.attach(MIMEText('<body><a href="https://x.example.org/a">x</a></body>', "html"))
    outer = MIMEMultipart("mixed")
    outer.attach(alternative)
    raw = outer.as_bytes(policy=SMTP)
    t = tracker()
    new = rewrite_message(raw, t)
    html = email.message_from_bytes(new, policy=default).get_body(("html",)).get_content()
    assert 'href="https://t.example.com/abcdef/0000000000000001"' in html
    assert t.urls == ["https://x.example.org/a"]


def test_tracking_rewrite_refuses_unsafe_or_odd_urls():
    html = (
        '<a href="https://evil.example.org/&#10;Set-Cookie:x">a</a>'
        '<a href="javascript:alert(1)">b</a><a href="https://ok.example.org/p?q=1">c</a>'
    )
    t = tracker(track_loads=False)
    raw = ("Content-Type: text/html\r\n\r\n" + html).encode()
    new = rewrite_message(raw, t)
    assert t.urls == ["https://ok.example.org/p?q=1"]
    assert b"https://evil.example.org/&#10;Set-Cookie:x" in new


def test_tracking_rewrite_amp_skip_header():
    assert amp_skip(b"Subject: x\r\nX-AMP: skip\r\n\r\nbody")
    assert amp_skip(b"Subject: x\r\nx-amp:  SKIP \r\n\r\nbody")
    assert not amp_skip(b"Subject: x\r\n\r\nX-AMP: skip\r\n")
    assert not amp_skip(b"X-AMP: no\r\n\r\n")
