"""A self-hosted mail delivery platform for transactional e-mail, compatible with Postal."""

from __future__ import annotations

import warnings
from importlib.resources import files

import pluggy


# Pyramid still imports pkg_resources, which warns on every start; nothing for users to act on.
warnings.filterwarnings("ignore", message="pkg_resources is deprecated", category=UserWarning)

__version__ = files("postal").joinpath("VERSION").read_text().strip()

hookimpl = pluggy.HookimplMarker("postal")


def main(global_config, **settings):
    """The WSGI application (``paste.app_factory``)."""
    from .config import configure
    from .web.wsgi import make_wsgi_app

    settings.setdefault("here", global_config.get("here"))
    return make_wsgi_app(configure(settings, role="web"))
