"""The one place the application is assembled, for every process role."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pyramid.config import Configurator

from .settings import load_settings


ROLES = ("web", "smtp", "worker", "cli")


def configure(settings: Mapping[str, Any] | None = None, role: str = "web") -> Configurator:
    """Build the Pyramid configurator for ``role`` (``web``, ``smtp``, ``worker``, ``cli``).

    ``settings`` are raw ini values; defaults and environment overrides are applied here.
    """
    if role not in ROLES:
        raise ValueError(f"unknown role {role!r}")
    raw = dict(settings or {})
    parsed = raw if raw.get("postal.settings_loaded") else load_settings(raw)
    parsed["postal.settings_loaded"] = True
    parsed["postal.role"] = role
    config = Configurator(settings=parsed)

    # Services (find_service) must exist before anything registers one.
    config.include("pyramid_services")
    # Engine, pyramid_tm and request.dbsession: every unit of work has its own transaction.
    config.include(".models")
    # Infrastructure behind interfaces (DNS resolver, …), chosen by dotted settings.
    config.include(".services")
    # Plugins come after services so postal_configure may look them up.
    config.include(".plugins")
    # request.notify(event): events fire after commit, through the plugins.
    config.include(".events")

    if role == "web":
        # Templates, then security, then routes; plugins add theirs after core's so core
        # names cannot be taken over by accident.
        config.include("pyramid_jinja2")
        config.add_jinja2_renderer(".jinja2")
        config.include(".security")
        config.include(".routes")
        # Request counts and latency by route for /metrics on the health port.
        config.include(".web_metrics")
        config.registry["postal.plugin_manager"].hook.postal_web_configure(config=config)
        config.scan(".views")
        config.scan(".api")
    config.commit()
    return config
