"""How each object looks in API v2 responses."""

from __future__ import annotations

import datetime as dt
from typing import Any

from ...domains import dkim_selector, dns_records
from ...models import (
    ApiToken,
    Credential,
    Domain,
    Organization,
    OrganizationUser,
    Server,
    User,
)


def timestamp(value: dt.datetime | None) -> str | None:
    return value.isoformat().replace("+00:00", "Z") if value else None


def user(u: User) -> dict[str, Any]:
    return {
        "uuid": u.uuid,
        "email_address": u.email_address,
        "first_name": u.first_name,
        "last_name": u.last_name,
        "name": u.name,
        "admin": u.admin,
        "time_zone": u.time_zone,
        "created_at": timestamp(u.created_at),
    }


def member(m: OrganizationUser) -> dict[str, Any]:
    return {"user": user(m.user), "role": m.role.value, "created_at": timestamp(m.created_at)}


def organization(o: Organization) -> dict[str, Any]:
    return {
        "uuid": o.uuid,
        "name": o.name,
        "permalink": o.permalink,
        "time_zone": o.time_zone,
        "suspended": o.suspended,
        "created_at": timestamp(o.created_at),
    }


def server(s: Server) -> dict[str, Any]:
    return {
        "uuid": s.uuid,
        "name": s.name,
        "permalink": s.permalink,
        "organization": {"uuid": s.organization.uuid, "permalink": s.organization.permalink},
        "token": s.token,
        "mode": s.mode.value,
        "send_limit": s.send_limit,
        "spam_threshold": s.spam_threshold,
        "spam_failure_threshold": s.spam_failure_threshold,
        "outbound_spam_threshold": s.outbound_spam_threshold,
        "message_retention_days": s.message_retention_days,
        "raw_message_retention_days": s.raw_message_retention_days,
        "raw_message_retention_size": s.raw_message_retention_size,
        "allow_sender": s.allow_sender,
        "privacy_mode": s.privacy_mode,
        "log_smtp_data": s.log_smtp_data,
        "postmaster_address": s.postmaster_address,
        "suspended": s.suspended,
        "suspension_reason": s.suspension_reason,
        "created_at": timestamp(s.created_at),
    }


def domain(d: Domain, settings) -> dict[str, Any]:
    checks = {
        check: {"status": getattr(d, f"{check}_status"), "error": getattr(d, f"{check}_error")}
        for check in ("spf", "dkim", "mx", "return_path")
    }
    return {
        "uuid": d.uuid,
        "name": d.name,
        "server": d.server.uuid if d.server else None,
        "verified": d.verified,
        "verified_at": timestamp(d.verified_at),
        "verification_method": d.verification_method,
        "dkim_selector": dkim_selector(settings, d),
        "dns_records": dns_records(settings, d),
        "dns_checked_at": timestamp(d.dns_checked_at),
        "dns_checks": checks,
        "dns_ok": d.dns_ok,
        "use_for_any": d.use_for_any,
        "created_at": timestamp(d.created_at),
    }


def credential(c: Credential) -> dict[str, Any]:
    return {
        "uuid": c.uuid,
        "server": c.server.uuid,
        "type": c.type,
        "name": c.name,
        "key": c.key,
        "hold": c.hold,
        "last_used_at": timestamp(c.last_used_at),
        "created_at": timestamp(c.created_at),
    }


def api_token(t: ApiToken) -> dict[str, Any]:
    return {
        "uuid": t.uuid,
        "name": t.name,
        "prefix": t.token_prefix,
        "user": t.user.uuid,
        "last_used_at": timestamp(t.last_used_at),
        "expires_at": timestamp(t.expires_at),
        "created_at": timestamp(t.created_at),
    }


def page(items: list[dict[str, Any]], page_number: int, per_page: int, total: int) -> dict:
    return {
        "data": items,
        "meta": {"page": page_number, "per_page": per_page, "total": total},
    }
