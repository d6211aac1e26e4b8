"""Every configuration key, its type and default, in one place.

Keys are Postal's ``section.key`` names (``postal.web_hostname``, ``smtp_server.default_port``)
plus our own (``database.url``, ``dns.nameservers``).  The ini file's ``[app:main]`` section
sets them; any key can be overridden by an environment variable named after it in upper case
with dots and dashes turned into underscores (``SMTP_SERVER_DEFAULT_PORT``).  A value that does
not parse stops start-up with a :class:`ConfigError` naming the key.
"""

from __future__ import annotations

import ipaddress
import os
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any


class ConfigError(Exception):
    """A configuration value is missing or malformed; the message names the key."""


def _as_str(value: str) -> str:
    return value.strip()


def _as_int(value: str) -> int:
    try:
        return int(value.strip())
    except ValueError:
        raise ValueError("expected a whole number") from None


def _as_port(value: str) -> int:
    port = _as_int(value)
    if not 0 <= port <= 65535:
        raise ValueError("expected a port number from 0 to 65535")
    return port


def _as_float(value: str) -> float:
    try:
        return float(value.strip())
    except ValueError:
        raise ValueError("expected a number") from None


def _as_seconds(value: str) -> float:
    seconds = _as_float(value)
    if not 0 < seconds < float("inf"):
        raise ValueError("expected a number of seconds greater than 0")
    return seconds


def _as_byte_count(value: str) -> int:
    count = _as_int(value)
    if count < 0:
        raise ValueError("expected a number of bytes, 0 or more")
    return count


_TRUE = {"true", "1", "1.0", "yes", "on"}
_FALSE = {"false", "0", "0.0", "no", "off", ""}


def _as_bool(value: str) -> bool:
    lowered = value.strip().lower()
    if lowered in _TRUE:
        return True
    if lowered in _FALSE:
        return False
    raise ValueError("expected true or false")


def _as_list(value: str) -> list[str]:
    return [item for item in re.split(r"[,\s]+", value.strip()) if item]


def _as_networks(value: str) -> list[str]:
    items = _as_list(value)
    for item in items:
        try:
            ipaddress.ip_network(item, strict=False)
        except ValueError:
            raise ValueError(f"expected IP addresses or networks, got {item!r}") from None
    return items


def _as_hostports(value: str) -> list[tuple[str, int]]:
    result = []
    for item in _as_list(value):
        host, _, port = item.rpartition(":") if item.count(":") == 1 else (item, "", "")
        if not host:
            host, port = item, ""
        try:
            result.append((host, int(port) if port else 53))
        except ValueError:
            raise ValueError(f"expected host[:port] entries, got {item!r}") from None
    return result


def _as_dkim_key_size(value: str) -> int:
    size = _as_int(value)
    if size not in (1024, 2048, 3072, 4096):
        raise ValueError("expected 1024, 2048, 3072 or 4096")
    return size


@dataclass(frozen=True)
class Setting:
    key: str
    parse: Callable[[str], Any]
    default: str
    doc: str

    @property
    def env_name(self) -> str:
        return env_name(self.key)


def env_name(key: str) -> str:
    """The environment variable that overrides ``key``."""
    return re.sub(r"[.\-]", "_", key).upper()


SETTINGS: tuple[Setting, ...] = (
    # Where everything is stored.
    Setting("database.url", _as_str, "sqlite:///var/postal.db", "SQLAlchemy database URL"),
    Setting("database.pool_size", _as_int, "10", "connections kept per process"),
    Setting("database.echo", _as_bool, "false", "log every SQL statement"),
    # Postal's own keys.
    Setting("postal.web_hostname", _as_str, "postal.example.com", "host name of the web UI"),
    Setting("postal.web_protocol", _as_str, "https", "http or https for links we generate"),
    Setting("postal.smtp_hostname", _as_str, "postal.example.com", "host name of SMTP"),
    Setting(
        "postal.use_ip_pools",
        _as_bool,
        "false",
        "send from IP pools: source address and EHLO name chosen per message",
    ),
    Setting("postal.default_maximum_delivery_attempts", _as_int, "18", "attempts per message"),
    Setting("postal.default_maximum_hold_expiry_days", _as_int, "7", "held mail kept days"),
    Setting(
        "postal.default_suppression_list_automatic_removal_days",
        _as_int,
        "30",
        "days an address stays suppressed",
    ),
    Setting("postal.default_spam_threshold", _as_float, "5", "spam score threshold"),
    Setting("postal.default_spam_failure_threshold", _as_float, "20", "spam failure threshold"),
    Setting(
        "postal.use_local_ns_for_domain_verification",
        _as_bool,
        "false",
        "accepted for Postal configs; verification always asks dns.nameservers",
    ),
    Setting("postal.signing_key_path", _as_str, "var/signing.key", "installation RSA key"),
    Setting("postal.smtp_relays", _as_list, "", "smtp://host:port?ssl_mode=… relays"),
    Setting("postal.trusted_proxies", _as_list, "", "proxies whose X-Forwarded-For we trust"),
    Setting("postal.dkim_key_size", _as_dkim_key_size, "2048", "RSA size of new DKIM keys"),
    Setting("postal.use_resent_sender_header", _as_bool, "true", "add Resent-Sender when sending"),
    Setting("postal.smtp_delivery_port", _as_port, "25", "port of recipients' MX hosts"),
    Setting("postal.plugins.disabled", _as_list, "", "plugin names not to load"),
    Setting("postal.plugins.extra", _as_list, "", "dotted modules to load as plugins"),
    Setting(
        "postal.allowed_request_destinations",
        _as_list,
        "",
        "private addresses/networks webhooks and endpoints may reach",
    ),
    Setting("webhooks.log_retention_days", _as_int, "10", "days webhook request logs are kept"),
    Setting("webhooks.batch_size", _as_int, "20", "webhook requests claimed per query"),
    # Processes.
    Setting("web_server.default_port", _as_port, "5000", "web server port"),
    Setting("web_server.default_bind_address", _as_str, "127.0.0.1", "web server address"),
    Setting("web_server.max_threads", _as_int, "5", "waitress threads"),
    Setting("web_server.processes", _as_int, "1", "web processes web-server starts"),
    Setting("web_server.default_health_server_port", _as_port, "9092", "web health port"),
    Setting("web_server.default_health_server_bind_address", _as_str, "127.0.0.1", "health"),
    Setting("worker.default_health_server_port", _as_port, "9090", "worker health port"),
    Setting("worker.default_health_server_bind_address", _as_str, "127.0.0.1", "worker health"),
    Setting("worker.threads", _as_int, "2", "worker threads"),
    Setting("worker.batch_size", _as_int, "50", "queued messages claimed per query"),
    Setting("worker.poll_interval", _as_float, "1", "seconds an idle worker waits"),
    Setting("worker.claim_stale_seconds", _as_int, "300", "claims older than this expire"),
    Setting("worker.delivery_threads", _as_int, "8", "parallel deliveries per batch"),
    Setting(
        "worker.ip_addresses",
        _as_networks,
        "",
        "IP pool addresses this worker sends from; empty = this host's interface addresses",
    ),
    Setting("smtp_client.open_timeout", _as_float, "30", "seconds to connect to a remote"),
    Setting("smtp_client.read_timeout", _as_float, "30", "seconds to wait for a reply"),
    Setting("smtp_client.idle_seconds", _as_float, "10", "open connections kept this long"),
    Setting("smtp_server.default_port", _as_port, "25", "SMTP port"),
    Setting("smtp_server.default_bind_address", _as_str, "::", "SMTP bind address"),
    Setting("smtp_server.default_health_server_port", _as_port, "9091", "SMTP health port"),
    Setting("smtp_server.default_health_server_bind_address", _as_str, "127.0.0.1", "health"),
    Setting("smtp_server.tls_enabled", _as_bool, "false", "offer STARTTLS"),
    Setting("smtp_server.tls_certificate_path", _as_str, "var/smtp.cert", "PEM certificate"),
    Setting("smtp_server.tls_private_key_path", _as_str, "var/smtp.key", "PEM private key"),
    Setting("smtp_server.proxy_protocol", _as_bool, "false", "expect PROXY v1 headers"),
    Setting("smtp_server.log_connections", _as_bool, "false", "log every SMTP connection (INFO)"),
    Setting("smtp_server.max_message_size", _as_int, "14", "largest message in MB"),
    Setting("smtp_server.tls_port", _as_port, "0", "implicit-TLS port (465 style); 0 = off"),
    Setting("smtp_server.require_tls_for_auth", _as_bool, "false", "refuse AUTH before TLS"),
    Setting("smtp_server.auth_failure_limit", _as_int, "10", "failed AUTHs per client IP"),
    Setting("smtp_server.auth_failure_window", _as_int, "300", "seconds failures are counted"),
    Setting("smtp_server.max_connections", _as_int, "2000", "concurrent connections"),
    Setting("smtp_server.timeout", _as_int, "300", "idle seconds before a client is dropped"),
    Setting("smtp_server.lookup_cache_seconds", _as_float, "10", "credential/route cache"),
    Setting("smtp_server.reverse_dns", _as_bool, "true", "look up client names for Received"),
    Setting("smtp_server.reuse_port", _as_bool, "false", "SO_REUSEPORT: N servers, one port"),
    Setting("smtp_server.processes", _as_int, "1", "SMTP processes smtp-server starts"),
    # DNS.
    Setting(
        "dns.mx_records",
        _as_list,
        "mx1.postal.example.com, mx2.postal.example.com",
        "MX hosts users point their domains at",
    ),
    Setting("dns.spf_include", _as_str, "spf.postal.example.com", "SPF include users add"),
    Setting("dns.return_path_domain", _as_str, "rp.postal.example.com", "return path host"),
    Setting("dns.route_domain", _as_str, "routes.postal.example.com", "route domain"),
    Setting("dns.track_domain", _as_str, "track.postal.example.com", "tracking CNAME target"),
    Setting("dns.helo_hostname", _as_str, "", "EHLO name for outgoing SMTP"),
    Setting("dns.dkim_identifier", _as_str, "postal", "DKIM selector prefix"),
    Setting("dns.domain_verify_prefix", _as_str, "postal-verification", "TXT prefix"),
    Setting("dns.custom_return_path_prefix", _as_str, "psrp", "return path CNAME label"),
    Setting("dns.timeout", _as_float, "5", "seconds per DNS query"),
    Setting("dns.nameservers", _as_hostports, "", "host[:port] list; empty = system resolver"),
    Setting(
        "services.dns_resolver",
        _as_str,
        "postal.services.dns.DnsPythonResolver",
        "dotted class implementing IDNSResolver",
    ),
    # Click and open tracking (plugins/tracking).
    Setting("tracking.track_plain_text_links", _as_bool, "false", "track links in text parts"),
    Setting(
        "tracking.cache_seconds",
        _as_float,
        "10",
        "seconds a server's track domain is remembered by the worker (new ones apply after it)",
    ),
    # Scheduled tasks (run by one worker at a time).
    Setting("scheduler.lease_seconds", _as_float, "300", "leader lease; another takes over after"),
    Setting("scheduler.check_interval", _as_float, "60", "seconds between schedule checks"),
    # Scanners.
    Setting("spamd.enabled", _as_bool, "false", "score mail with SpamAssassin's spamd"),
    Setting("spamd.host", _as_str, "127.0.0.1", "spamd host"),
    Setting("spamd.port", _as_port, "783", "spamd port"),
    Setting("spamd.timeout", _as_seconds, "15", "seconds a spamd scan may take"),
    Setting(
        "spamd.max_size",
        _as_byte_count,
        "512000",
        "bytes sent to spamd; a bigger message is scanned truncated (0 = no limit)",
    ),
    Setting("clamav.enabled", _as_bool, "false", "scan incoming mail with ClamAV's clamd"),
    Setting("clamav.host", _as_str, "127.0.0.1", "clamd host"),
    Setting("clamav.port", _as_port, "2000", "clamd port"),
    Setting("clamav.timeout", _as_seconds, "10", "seconds a clamd scan may take"),
    # Logging.
    Setting("logging.enabled", _as_bool, "true", "write log lines"),
    Setting("gelf.host", _as_str, "", "GELF UDP host; empty = off"),
    Setting("gelf.port", _as_port, "12201", "GELF UDP port"),
    Setting("gelf.facility", _as_str, "postal", "GELF facility"),
    # Web sessions.
    Setting("web.session_secret", _as_str, "", "secret for signed cookies; empty = generated"),
    Setting("web.session_timeout", _as_int, "28800", "idle seconds before a web session ends"),
    Setting("web.login_attempts", _as_int, "10", "failed sign-ins per address in the window"),
    Setting("web.login_window", _as_int, "900", "seconds failed sign-ins are counted"),
    # Postal's own notification mail (password resets, invitations).
    Setting("smtp.host", _as_str, "127.0.0.1", "SMTP server for Postal's own mail"),
    Setting("smtp.port", _as_port, "25", "its port"),
    Setting("smtp.username", _as_str, "", "user name; empty = no AUTH"),
    Setting("smtp.password", _as_str, "", "password"),
    Setting(
        "smtp.authentication_type",
        _as_str,
        "login",
        "accepted; smtplib picks the mechanism the server offers",
    ),
    Setting("smtp.enable_starttls", _as_bool, "false", "require STARTTLS"),
    Setting("smtp.enable_starttls_auto", _as_bool, "true", "use STARTTLS when offered"),
    Setting("smtp.openssl_verify_mode", _as_str, "peer", "peer or none"),
    Setting("smtp.from_name", _as_str, "Postal", "sender name"),
    Setting("smtp.from_address", _as_str, "postal@example.com", "sender address"),
    # OpenID Connect sign-in (plugins/oidc).
    Setting("oidc.enabled", _as_bool, "false", "offer sign-in through an OpenID provider"),
    Setting("oidc.local_authentication_enabled", _as_bool, "true", "allow passwords too"),
    Setting("oidc.name", _as_str, "OIDC Provider", "provider name on the sign-in button"),
    Setting("oidc.issuer", _as_str, "", "issuer URL"),
    Setting("oidc.identifier", _as_str, "", "client id"),
    Setting("oidc.secret", _as_str, "", "client secret"),
    Setting("oidc.scopes", _as_list, "openid, email", "scopes requested"),
    Setting("oidc.uid_field", _as_str, "sub", "claim holding the user's id"),
    Setting("oidc.email_address_field", _as_str, "email", "claim holding the e-mail"),
    Setting(
        "oidc.name_field",
        _as_str,
        "name",
        "accepted; OIDC never creates users, so names are not read",
    ),
    Setting("oidc.discovery", _as_bool, "true", "read endpoints from the issuer"),
    Setting("oidc.authorization_endpoint", _as_str, "", "manual endpoint"),
    Setting("oidc.token_endpoint", _as_str, "", "manual endpoint"),
    Setting("oidc.userinfo_endpoint", _as_str, "", "manual endpoint"),
    Setting("oidc.jwks_uri", _as_str, "", "manual endpoint"),
)

BY_KEY: dict[str, Setting] = {setting.key: setting for setting in SETTINGS}

# Paths that are resolved against the ini file's directory when relative.
PATH_KEYS = (
    "postal.signing_key_path",
    "smtp_server.tls_certificate_path",
    "smtp_server.tls_private_key_path",
)


def load_settings(
    raw: Mapping[str, Any], environ: Mapping[str, str] | None = None, here: str | None = None
) -> dict[str, Any]:
    """Merge defaults, ``raw`` (ini values) and ``environ``; parse every known key.

    Unknown keys pass through untouched so Pyramid's own (``pyramid.*``, ``jinja2.*``) and
    plugins' settings keep working.  Raises :class:`ConfigError` on the first bad value.
    """
    environ = os.environ if environ is None else environ
    settings: dict[str, Any] = dict(raw)
    for setting in SETTINGS:
        value = raw.get(setting.key, setting.default)
        source = "the configuration file"
        if setting.env_name in environ and environ[setting.env_name] != "":
            value = environ[setting.env_name]
            source = f"the environment variable {setting.env_name}"
        if not isinstance(value, str):
            settings[setting.key] = value
            continue
        try:
            settings[setting.key] = setting.parse(value)
        except ValueError as exc:
            raise ConfigError(f"{setting.key}: {exc} (got {value!r} from {source})") from None
    here = here or raw.get("here") or os.getcwd()
    for key in PATH_KEYS:
        settings[key] = os.path.normpath(os.path.join(here, settings[key]))
    settings["database.url"] = _resolve_sqlite_path(settings["database.url"], here)
    return settings


def _resolve_sqlite_path(url: str, here: str) -> str:
    """Make a relative SQLite path relative to the ini file, as the other paths are."""
    prefix = "sqlite:///"
    if url.startswith(prefix) and not url.startswith(prefix + "/") and ":memory:" not in url:
        return prefix + os.path.normpath(os.path.join(here, url[len(prefix) :]))
    return url


def process_address(settings: Mapping[str, Any], section: str) -> tuple[str, int]:
    """The bind address and port for the process being started (``PORT``, ``BIND_ADDRESS``)."""
    host = settings[f"{section}.default_bind_address"]
    port = settings[f"{section}.default_port"]
    if os.environ.get("BIND_ADDRESS"):
        host = os.environ["BIND_ADDRESS"]
    if os.environ.get("PORT"):
        try:
            port = _as_port(os.environ["PORT"])
        except ValueError as exc:
            raise ConfigError(f"PORT: {exc} (got {os.environ['PORT']!r})") from None
    return host, port


def health_address(settings: Mapping[str, Any], section: str) -> tuple[str, int]:
    """The health server's address (``HEALTH_SERVER_PORT``, ``HEALTH_SERVER_BIND_ADDRESS``)."""
    host = settings[f"{section}.default_health_server_bind_address"]
    port = settings[f"{section}.default_health_server_port"]
    host = os.environ.get("HEALTH_SERVER_BIND_ADDRESS") or host
    if os.environ.get("HEALTH_SERVER_PORT"):
        try:
            port = _as_port(os.environ["HEALTH_SERVER_PORT"])
        except ValueError as exc:
            raise ConfigError(f"HEALTH_SERVER_PORT: {exc}") from None
    return host, port
