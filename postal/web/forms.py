"""Reading HTML form fields, and the errors shown beside them."""

from __future__ import annotations

from ..permalinks import PermalinkInvalid, PermalinkTaken, choose_permalink


class FormError(ValueError):
    """Bad form input; the message is safe to show."""


def text(request, name: str, *, required: str | None = None, max_length: int = 255) -> str:
    """A trimmed text field; ``required`` is the message shown when it is empty."""
    value = (request.POST.get(name) or "").strip()
    if required and not value:
        raise FormError(required)
    if len(value) > max_length:
        raise FormError(f"{name.replace('_', ' ').capitalize()} is too long.")
    return value


def checkbox(request, name: str) -> bool:
    return request.POST.get(name) in ("1", "on", "true", "yes")


def number(
    request,
    name: str,
    label: str,
    *,
    minimum: float | None = None,
    maximum: float | None = None,
    integer: bool = False,
    blank_is_none: bool = False,
):
    raw = (request.POST.get(name) or "").strip()
    if not raw and blank_is_none:
        return None
    try:
        value = int(raw) if integer else float(raw)
    except ValueError:
        kind = "a whole number" if integer else "a number"
        raise FormError(f"{label} must be {kind}.") from None
    if minimum is not None and value < minimum:
        raise FormError(f"{label} must be at least {minimum:g}.")
    if maximum is not None and value > maximum:
        raise FormError(f"{label} must be at most {maximum:g}.")
    return value


def choice(request, name: str, options, label: str) -> str:
    value = request.POST.get(name, "")
    if value not in options:
        raise FormError(f"Choose a {label}.")
    return value


def permalink(request, name: str, reserved: frozenset[str], taken) -> str:
    """The form's ``permalink`` ("short name") if given and free, else one made from ``name``."""
    requested = text(request, "permalink", max_length=64).lower() or None
    try:
        return choose_permalink(requested, name, reserved, taken)
    except PermalinkInvalid as exc:
        raise FormError(f"The short name {exc}.") from None
    except PermalinkTaken:
        raise FormError(f"The short name {requested!r} is taken.") from None
