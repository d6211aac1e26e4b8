"""Parsing ``MAIL FROM`` and ``RCPT TO`` arguments the way Postal does, made safe.

Postal takes whatever is between ``<`` and ``>``.  For recipients we also drop an RFC 5321
source route (``<@hop:user@domain>``, which servers must ignore) and split at the *last*
``@`` so a quoted local part (``"a@b"@domain``) cannot smuggle in another domain; a domain
that is not a plain host name is refused, so ``%`` and ``!`` tricks never reach routing.
"""

from __future__ import annotations

import re


_LABEL = r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?"
_DOMAIN = re.compile(rf"^(?=.{{1,253}}$){_LABEL}(?:\.{_LABEL})*$")


def _between_brackets(text: str) -> tuple[str, str]:
    """``(address, rest)``: inside ``<…>`` if present, else the first word."""
    text = text.strip()
    start = text.find("<")
    if start >= 0:
        end = text.find(">", start)
        if end < 0:
            return text[start + 1 :].strip(), ""
        return text[start + 1 : end].strip(), text[end + 1 :]
    address, _, rest = text.partition(" ")
    return address.strip(), rest


def _after_keyword(line: str, keyword: str) -> str:
    """The text after ``MAIL FROM`` / ``RCPT TO`` and an optional colon."""
    text = line[len(keyword) :].lstrip()
    return text[1:] if text.startswith(":") else text


def parse_mail_from(line: str) -> tuple[str, dict[str, str]]:
    """``(address, parameters)``; ``AUTH=`` and everything after it is discarded."""
    text = _after_keyword(line, "MAIL FROM")
    auth = re.search(r"\sAUTH=", text, re.IGNORECASE)
    if auth:
        text = text[: auth.start()]
    address, rest = _between_brackets(text)
    params = {}
    for word in rest.split():
        key, _, value = word.partition("=")
        params[key.upper()] = value
    return address, params


def parse_rcpt_to(line: str) -> tuple[str, bool]:
    """``(address, valid)``.  ``address`` is ``""`` when empty; ``valid`` is false when it
    has no usable ``@domain``."""
    address, _rest = _between_brackets(_after_keyword(line, "RCPT TO"))
    if address.startswith("@") and ":" in address:
        address = address.split(":", 1)[1].strip()
    if not address:
        return "", False
    local, at, domain = address.rpartition("@")
    if not at or not local or not _DOMAIN.match(domain.lower()):
        return address, False
    return f"{local}@{domain.lower()}", True
