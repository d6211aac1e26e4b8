"""Reading and checking a JSON request body field by field, with one clear error each."""

from __future__ import annotations

import json
import math
from typing import Any

from ...models import utcnow
from .errors import APIError, ValidationFailed


_MISSING = object()
MAX_PAGE = 1_000_000


def json_body(request, allowed: set[str]) -> dict[str, Any]:
    """The body as an object; unknown fields are refused so typos do not pass silently."""
    if not request.body:
        return {}
    try:
        body = json.loads(request.body, parse_constant=_refuse_constant)
    except (ValueError, UnicodeDecodeError):
        raise APIError("The request body is not valid JSON.", code="invalid_json") from None
    if not isinstance(body, dict):
        raise APIError("The request body must be a JSON object.", code="invalid_json")
    unknown = sorted(set(body) - allowed)
    if unknown:
        raise ValidationFailed(f"Unknown field {unknown[0]!r}.", field=unknown[0])
    for name, value in body.items():
        # PostgreSQL cannot store NUL in text, and no name, address or URL has one.
        if _contains_nul(value):
            raise ValidationFailed(f"{name} must not contain NUL characters.", field=name)
    return body


def _contains_nul(value) -> bool:
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, list):
        return any(_contains_nul(item) for item in value)
    if isinstance(value, dict):
        return any(_contains_nul(k) or _contains_nul(v) for k, v in value.items())
    return False


def _refuse_constant(name: str):
    # NaN and Infinity are not JSON; Python's parser accepts them unless told not to.
    raise ValueError(f"{name} is not valid JSON")


def _field(body, name, required):
    value = body.get(name, _MISSING)
    if value is _MISSING or value is None:
        if required:
            raise ValidationFailed(f"{name} is required.", field=name)
        return _MISSING
    return value


def string(body, name, *, required=False, max_length=255, default=None) -> str | None:
    value = _field(body, name, required)
    if value is _MISSING:
        return default
    if not isinstance(value, str):
        raise ValidationFailed(f"{name} must be a string.", field=name)
    value = value.strip()
    if required and not value:
        raise ValidationFailed(f"{name} must not be blank.", field=name)
    if len(value) > max_length:
        raise ValidationFailed(f"{name} must be at most {max_length} characters.", field=name)
    return value


def boolean(body, name, *, default=None) -> bool | None:
    value = _field(body, name, False)
    if value is _MISSING:
        return default
    if not isinstance(value, bool):
        raise ValidationFailed(f"{name} must be true or false.", field=name)
    return value


def integer(body, name, *, minimum=None, maximum=None, default=None, nullable=False):
    if nullable and name in body and body[name] is None:
        return None
    value = _field(body, name, False)
    if value is _MISSING:
        return default
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValidationFailed(f"{name} must be a whole number.", field=name)
    _check_range(name, value, minimum, maximum)
    return value


def number(body, name, *, minimum=None, maximum=None, default=None, nullable=False):
    if nullable and name in body and body[name] is None:
        return None
    value = _field(body, name, False)
    if value is _MISSING:
        return default
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise ValidationFailed(f"{name} must be a number.", field=name)
    _check_range(name, value, minimum, maximum)
    return float(value)


def choice(body, name, options, *, required=False, default=None) -> str | None:
    value = _field(body, name, required)
    if value is _MISSING:
        return default
    if value not in options:
        raise ValidationFailed(f"{name} must be one of {', '.join(options)}.", field=name)
    return value


def _check_range(name, value, minimum, maximum):
    if minimum is not None and value < minimum:
        raise ValidationFailed(f"{name} must be at least {minimum}.", field=name)
    if maximum is not None and value > maximum:
        raise ValidationFailed(f"{name} must be at most {maximum}.", field=name)


def page_params(request) -> tuple[int, int]:
    """``?page=`` (1 to 1,000,000) and ``?per_page=`` (1 to 100, default 30)."""
    page = _query_integer(request, "page", 1)
    per_page = _query_integer(request, "per_page", 30)
    # Bounded so the offset stays within every engine's integer range.
    if not 1 <= page <= MAX_PAGE:
        raise ValidationFailed(f"page must be from 1 to {MAX_PAGE}.", field="page")
    if not 1 <= per_page <= 100:
        raise ValidationFailed("per_page must be from 1 to 100.", field="per_page")
    return page, per_page


def _query_integer(request, name: str, default: int) -> int:
    try:
        return int(request.params.get(name, default))
    except ValueError:
        raise ValidationFailed(f"{name} must be a whole number.", field=name) from None


def apply_suspension(body, target) -> None:
    """``suspended: true`` (with an optional ``suspension_reason``) suspends ``target`` (an
    organisation or a server); ``false`` lifts it; absent leaves it as it is."""
    suspended = boolean(body, "suspended")
    if suspended is True:
        target.suspended_at = target.suspended_at or utcnow()
        target.suspension_reason = string(body, "suspension_reason")
    elif suspended is False:
        target.suspended_at = target.suspension_reason = None
