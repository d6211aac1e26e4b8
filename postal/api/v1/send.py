"""``/api/v1/send/message`` and ``/api/v1/send/raw``."""

from __future__ import annotations

import email.parser
import email.policy
import email.utils
import functools
import re
import socket
from typing import Any

from pyramid.view import view_config

from ...models import transaction_for, utcnow
from ...tokens import random_uuid
from .authorisation import cached_domain_id, domain_for_headers, strip_name
from .composer import Attachment, Composition, compose, decode_base64
from .envelope import METHODS, ParameterError, V1Error, api_v1, blank, truthy
from .storing import store_outgoing


ERROR_MESSAGES = {
    "NoRecipients": "There are no recipients defined to receive this message",
    "NoContent": "There is no content defined for this e-mail",
    "TooManyToAddresses": "The maximum number of To addresses has been reached (maximum 50)",
    "TooManyCCAddresses": "The maximum number of CC addresses has been reached (maximum 50)",
    "TooManyBCCAddresses": "The maximum number of BCC addresses has been reached (maximum 50)",
    "FromAddressMissing": "The From address is missing and is required",
    "UnauthenticatedFromAddress": (
        "The From address is not authorised to send mail from this server"
    ),
    "AttachmentMissingName": "An attachment is missing a name",
    "AttachmentMissingData": "An attachment is missing data",
}
MAX_ADDRESSES = 50

_header_parser = email.parser.BytesHeaderParser(policy=email.policy.compat32)


def fail(code: str) -> V1Error:
    return V1Error(code, message=ERROR_MESSAGES[code])


def address_list(value: Any) -> list[str]:
    """An array, or a comma-separated string, of addresses; blanks dropped."""
    if isinstance(value, str):
        items = re.split(r",\s*", value)
    elif isinstance(value, list):
        items = [item for item in value if isinstance(item, str | int | float)]
    else:
        items = []
    return [str(item).strip() for item in items if str(item).strip()]


def text(value: Any) -> str | None:
    return None if value is None else str(value)


def attachments_of(value: Any) -> list[dict]:
    # Non-object entries are skipped silently, as Postal does.
    return [item for item in value if isinstance(item, dict)] if isinstance(value, list) else []


def validate(request, server, params: dict, to, cc, bcc, attachments) -> int:
    """Postal's checks in Postal's order; the first failure is the one reported."""
    if not (to or cc or bcc):
        raise fail("NoRecipients")
    for code, addresses in (("To", to), ("CC", cc), ("BCC", bcc)):
        if len(addresses) > MAX_ADDRESSES:
            raise fail(f"TooMany{code}Addresses")
    if blank(params.get("plain_body")) and blank(params.get("html_body")):
        raise fail("NoContent")
    if blank(params.get("from")):
        raise fail("FromAddressMissing")
    domain = cached_domain_id(request, server, text(params["from"]))
    if domain is None and server.allow_sender and not blank(params.get("sender")):
        domain = cached_domain_id(request, server, text(params["sender"]))
    if domain is None:
        raise fail("UnauthenticatedFromAddress")
    if any(blank(a.get("name")) for a in attachments):
        raise fail("AttachmentMissingName")
    if any(blank(a.get("data")) for a in attachments):
        raise fail("AttachmentMissingData")
    return domain


@functools.lru_cache(maxsize=1024)
def reverse_name(ip: str) -> str:
    """The client's reverse DNS name for the Received header; remembered per address."""
    try:
        return socket.gethostbyaddr(ip)[0]
    except (OSError, UnicodeError):
        return ip


_date_cache: tuple[int, str] = (0, "")


def rfc2822_now() -> str:
    """``Wed, 02 Dec 2026 06:15:20 +0000``: formatting a date costs more than the rest of
    the headers, and it only changes once a second."""
    global _date_cache
    now = utcnow()
    second = int(now.timestamp())
    cached = _date_cache
    if cached[0] != second:
        cached = _date_cache = (second, email.utils.format_datetime(now.replace(microsecond=0)))
    return cached[1]


def received_header(request, server, now: str) -> str:
    hostname = request.registry.settings["postal.web_hostname"]
    if server.privacy_mode:
        return f"by {hostname} with HTTP; {now}"
    ip = request.client_addr or "127.0.0.1"
    return f"from api ({reverse_name(ip)} [{ip}]) by {hostname} with HTTP; {now}"


def unique(addresses) -> list[str]:
    return list(dict.fromkeys(addresses))


def created(messages) -> dict[str, dict[str, Any]]:
    return {m.rcpt_to: {"id": m.id, "token": m.token} for m in messages}


@view_config(route_name="api.v1.send.message", request_method=METHODS)
@api_v1
def send_message(request, credential, params):
    server = credential.server
    to, cc, bcc = (address_list(params.get(key)) for key in ("to", "cc", "bcc"))
    attachments = attachments_of(params.get("attachments"))
    domain_id = validate(request, server, params, to, cc, bcc, attachments)
    headers = params.get("headers")
    composition = Composition(
        to=to,
        cc=cc,
        from_=text(params["from"]),
        sender=None if blank(params.get("sender")) else text(params["sender"]),
        subject=text(params.get("subject")),
        reply_to=None if blank(params.get("reply_to")) else text(params["reply_to"]),
        plain_body=None if blank(params.get("plain_body")) else text(params["plain_body"]),
        html_body=None if blank(params.get("html_body")) else text(params["html_body"]),
        headers=headers if isinstance(headers, dict) else {},
        attachments=[
            Attachment(
                name=str(a["name"]),
                content_type=str(a.get("content_type") or "application/octet-stream"),
                data=decode_base64(str(a["data"])),
            )
            for a in attachments
        ],
    )
    message_id = f"{random_uuid()}@{request.registry.settings['dns.return_path_domain']}"
    now = rfc2822_now()
    raw = compose(
        composition,
        received=received_header(request, server, now),
        message_id=message_id,
        date=now,
    )
    tag = text(params.get("tag"))
    messages = store_outgoing(
        request,
        server.id,
        mail_from=strip_name(composition.from_),
        rcpt_to=unique(strip_name(a) for a in to + cc + bcc),
        raw=raw,
        domain_id=domain_id,
        credential_id=credential.id,
        tag=tag[:255] if tag else None,
        bounce=truthy(params.get("bounce")),
        received_with_ssl=True,
    )
    return {"message_id": message_id, "messages": created(messages)}


def header_block(raw: bytes):
    match = re.search(rb"\r?\n\r?\n", raw)
    return _header_parser.parsebytes(raw[: match.start()] if match else raw)


@view_config(route_name="api.v1.send.raw", request_method=METHODS)
@api_v1
def send_raw(request, credential, params):
    server = credential.server
    rcpt_to = params.get("rcpt_to")
    if not isinstance(rcpt_to, list):
        raise ParameterError("`rcpt_to` parameter is required but is missing")
    if blank(params.get("mail_from")):
        raise ParameterError("`mail_from` parameter is required but is missing")
    if blank(params.get("data")):
        raise ParameterError("`data` parameter is required but is missing")
    raw = decode_base64(str(params["data"]))
    with transaction_for(request) as dbsession:
        domain = domain_for_headers(dbsession, server, header_block(raw))
        domain_id = None if domain is None else domain.id
    if domain_id is None:
        raise V1Error("UnauthenticatedFromAddress")
    recipients = unique(str(r).strip() for r in rcpt_to if isinstance(r, str | int | float))
    recipients = [r for r in recipients if r]
    if not recipients:
        return {"message_id": None, "messages": {}}
    messages = store_outgoing(
        request,
        server.id,
        mail_from=str(params["mail_from"]).strip(),
        rcpt_to=recipients,
        raw=raw,
        domain_id=domain_id,
        credential_id=credential.id,
        bounce=truthy(params.get("bounce")),
        received_with_ssl=True,
    )
    return {"message_id": messages[0].message_id, "messages": created(messages)}
