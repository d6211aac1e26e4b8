"""HTTP endpoints: routed incoming mail is POSTed to the user's URL, as Postal does it.

The body is built by :mod:`.payloads`; the request goes through the webhooks'
:class:`~plugins.webhooks.delivery.Sender` (the SSRF guard, the checked address pinned for the
connection, certificate verification, no redirects followed), signed with the installation
key like every webhook.  User info in the URL becomes HTTP basic auth and is never sent, shown
or logged as part of the URL.

Outcomes follow Postal's code (which differs from its docs): 2xx ``Sent``; 5xx ``SoftFail``;
no answer at all ``SoftFail`` flagged as a connection error, with Postal's negative codes
(-1 timed out, -2 connection failed, -3 TLS failed); 429 ``HardFail`` without a bounce; any
other status ``HardFail``.  A URL the SSRF guard refuses is a ``HardFail`` too: retrying
cannot change the answer until an administrator allows the address.
"""

from __future__ import annotations

import base64
import http.client
import logging
import ssl
import time
from collections.abc import Mapping
from typing import Any
from urllib.parse import unquote, urlsplit, urlunsplit

from pyramid.interfaces import IRequestExtensions
from pyramid.request import Request, apply_request_extensions
from pyramid.threadlocal import get_current_registry

from plugins.webhooks.delivery import Sender
from postal import hookimpl
from postal.signing import signing_key
from postal.ssrf import UnsafeURLError, check_url, request_resolver
from postal.types import DeliveryResult, IncomingMessage
from postal.unit_of_work import current_request

from .payloads import build


log = logging.getLogger(__name__)

DEFAULT_TIMEOUT = 5
MAX_TIMEOUT = 60
OUTPUT_CHARS = 500


@hookimpl(trylast=True)
def postal_deliver_to_endpoint(message, endpoint):
    if endpoint.type != "HTTPEndpoint":
        return None
    registry = get_current_registry()
    settings = registry.settings
    if not settings or "postal.signing_key_path" not in settings:
        log.error("http endpoint: no application registry active; message %s", message.id)
        return DeliveryResult("SoftFail", "The HTTP endpoint sender is not configured yet.")
    return deliver(message, endpoint.options, settings, resolver=_resolver(registry))


def _resolver(registry):
    """The resolver the webhooks use (:func:`postal.ssrf.request_resolver`)."""
    if not registry.settings.get("dns.nameservers"):
        return None
    request = current_request()
    if request is None:
        request = Request.blank("/")
        request.registry = registry
        if registry.queryUtility(IRequestExtensions) is not None:
            apply_request_extensions(request)
    return request_resolver(request)


def split_credentials(url: str) -> tuple[str, str | None]:
    """``(url without user info, Authorization header or None)``."""
    url = url.strip()
    try:
        parts = urlsplit(url)
    except ValueError:
        return url, None
    if "@" not in parts.netloc:
        return url, None
    userinfo, _, host_port = parts.netloc.rpartition("@")
    user, _, password = userinfo.partition(":")
    credentials = f"{unquote(user)}:{unquote(password)}".encode()
    authorization = "Basic " + base64.b64encode(credentials).decode("ascii")
    return urlunsplit(parts._replace(netloc=host_port)), authorization


def endpoint_timeout(options: Mapping[str, Any]) -> float:
    """The endpoint's timeout in seconds (Postal: 5 unless set; at most 60)."""
    try:
        seconds = float(options.get("timeout") or DEFAULT_TIMEOUT)
    except (TypeError, ValueError):
        return DEFAULT_TIMEOUT
    return min(seconds, MAX_TIMEOUT) if seconds > 0 else DEFAULT_TIMEOUT


def deliver(
    message: IncomingMessage, options: Mapping[str, Any], settings: Mapping[str, Any], *,
    resolver=None,
) -> DeliveryResult:  # fmt: skip
    """POST ``message`` to the endpoint described by ``options`` and classify the answer."""
    started = time.monotonic()
    url, authorization = split_credentials(options.get("url") or "")
    timeout = endpoint_timeout(options)
    try:
        destination = check_url(url, settings, resolver)
    except UnsafeURLError as exc:
        return DeliveryResult(
            "HardFail", f"Refused to send to {url}: {exc}", time=_elapsed(started)
        )
    body, content_type = build(message, options)
    with Sender(settings, signing_key(settings), timeout=timeout, resolver=resolver) as sender:
        headers = sender.headers(body, content_type)
        if authorization:
            headers["Authorization"] = authorization
        try:
            code, text = sender.request(destination, body, headers)
        except ssl.SSLError:
            code, text = -3, "Invalid SSL certificate"
        except TimeoutError:
            code, text = -1, f"Timed out after {timeout:g}s"
        except (OSError, http.client.HTTPException) as exc:
            code, text = -2, str(exc) or type(exc).__name__
    return outcome(code, text, url, secure=destination.scheme == "https", time=_elapsed(started))


def _elapsed(started: float) -> float:
    return round(time.monotonic() - started, 2)


def outcome(code: int, text: str, url: str, *, secure: bool, time: float) -> DeliveryResult:
    """Postal's classification of an HTTP status (or negative error code)."""
    details = f"Received a {code} from {url}"
    output = (text or "")[:OUTPUT_CHARS].strip()
    result = {"details": details, "output": output, "sent_with_ssl": secure, "time": time}
    if 200 <= code < 300:
        return DeliveryResult("Sent", **result)
    if 500 <= code < 600:
        return DeliveryResult("SoftFail", **result)
    if code < 0:
        return DeliveryResult("SoftFail", connection_error=True, **result)
    if code == 429:
        return DeliveryResult("HardFail", suppress_bounce=True, **result)
    return DeliveryResult("HardFail", **result)
