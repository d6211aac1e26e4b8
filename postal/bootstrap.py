"""Reading the ini file and building a process's registry, for the CLI and the servers."""

from __future__ import annotations

import logging.config
import os
import sys
from typing import Any

from pyramid.config import Configurator
from pyramid.paster import get_appsettings, setup_logging
from pyramid.registry import Registry

from .config import configure
from .logs import configure_logging
from .settings import ConfigError, load_settings


DEFAULT_CONFIG = "development.ini"


def config_path(path: str | None) -> str:
    return os.path.abspath(path or os.environ.get("POSTAL_CONFIG") or DEFAULT_CONFIG)


def read_settings(path: str) -> dict[str, Any]:
    """Parse ``path``'s ``[app:main]`` plus the environment; exits with one line on error."""
    if not os.path.exists(path):
        fail(f"configuration file not found: {path}")
    try:
        raw = dict(get_appsettings(path, name="main"))
    except Exception as exc:  # a malformed ini: say which file and why, no traceback
        fail(f"cannot read {path}: {exc}")
    raw.setdefault("here", os.path.dirname(path))
    try:
        settings = load_settings(raw)
    except ConfigError as exc:
        fail(f"configuration error: {exc}")
    settings["postal.settings_loaded"] = True
    settings["postal.config_file"] = path
    return settings


def build_registry(path: str, role: str) -> Registry:
    """Logging from the ini, then the application's registry for ``role``."""
    return build_configurator(path, role).registry


def build_configurator(path: str, role: str) -> Configurator:
    """Logging from the ini, then the application for ``role``."""
    if os.path.exists(path):
        try:
            setup_logging(path)
        except (KeyError, ValueError):
            logging.basicConfig(level=logging.INFO, stream=sys.stdout)
    settings = read_settings(path)
    configure_logging(settings)
    return configure(settings, role=role)


def fail(message: str) -> None:
    print(f"postal: {message}", file=sys.stderr)
    raise SystemExit(2)
