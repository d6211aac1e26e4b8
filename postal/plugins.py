"""Building the plugin manager every process uses."""

from __future__ import annotations

import importlib
import logging
import os
from collections.abc import Mapping
from typing import Any

import pluggy

from . import hookspecs


log = logging.getLogger(__name__)

ENTRY_POINT_GROUP = "postal.plugins"


def get_plugin_manager(
    settings: Mapping[str, Any], role: str, *, load_entrypoints: bool = True
) -> pluggy.PluginManager:
    """Load hookspecs, every plugin (entry points, then ``postal.plugins.extra``) and call
    ``postal_configure``.  Plugins named in ``postal.plugins.disabled`` are blocked."""
    pm = pluggy.PluginManager("postal")
    pm.add_hookspecs(hookspecs)
    for name in settings.get("postal.plugins.disabled", []):
        pm.set_blocked(name)
    if load_entrypoints:
        pm.load_setuptools_entrypoints(ENTRY_POINT_GROUP)
    for dotted in settings.get("postal.plugins.extra", []):
        if pm.is_blocked(dotted) or pm.get_plugin(dotted) is not None:
            continue
        pm.register(importlib.import_module(dotted), name=dotted)
    # Refuses any hookimpl whose name matches no spec: a typo would otherwise be ignored.
    pm.check_pending()
    if os.environ.get("POSTAL_TRACE_PLUGINS"):
        pm.trace.root.setwriter(log.debug)
        pm.enable_tracing()
    pm.hook.postal_configure.call_historic(kwargs={"settings": settings, "role": role})
    return pm


def describe_plugins(pm: pluggy.PluginManager) -> list[dict[str, Any]]:
    """Name, module, distribution and hooks of every loaded plugin (``postal plugins``)."""
    dists = {id(plugin): dist for plugin, dist in pm.list_plugin_distinfo()}
    rows = []
    for name, plugin in sorted(pm.list_name_plugin(), key=lambda item: item[0]):
        if plugin is None:
            continue
        dist = dists.get(id(plugin))
        rows.append(
            {
                "name": name,
                "module": getattr(plugin, "__name__", repr(plugin)),
                "distribution": f"{dist.project_name} {dist.version}" if dist else "",
                "hooks": sorted(impl.name for impl in pm.get_hookcallers(plugin) or []),
            }
        )
    return rows


def includeme(config) -> None:
    """The plugin manager on the registry and ``request.hooks``."""
    settings = config.get_settings()
    pm = config.registry.get("postal.plugin_manager")
    if pm is None:
        pm = get_plugin_manager(settings, settings.get("postal.role", "web"))
        config.registry["postal.plugin_manager"] = pm
    config.add_request_method(lambda request: pm.hook, "hooks", reify=True)
