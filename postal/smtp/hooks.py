"""Calling plugin hooks from the event loop without blocking it.

pluggy is synchronous, so hooks normally run in a worker thread (``asyncio.to_thread``).
A thread hop costs about as much as parsing a small message, so two shortcuts keep the
common path fast: a hook nobody implements is not called at all, and a hook whose every
implementation is marked :func:`inline_safe` is called on the loop with lookups restricted
to the cache (:func:`postal.smtp.directory.cache_only`); on a cache miss it is retried in a
thread.  Third-party implementations are never inline unless their author marks them.
"""

from __future__ import annotations

import asyncio
import functools

from .directory import CacheMiss, cache_only


def inline_safe(function):
    """Mark a hook implementation that never blocks except through the directory's lookups."""
    function.postal_inline_safe = True
    return function


class HookRunner:
    def __init__(self, hook_relay):
        self._relay = hook_relay

    def implemented(self, name: str) -> bool:
        return bool(getattr(self._relay, name).get_hookimpls())

    @functools.cache  # noqa: B019 (one runner per process; hooks are fixed after start-up)
    def _inline(self, name: str) -> bool:
        impls = getattr(self._relay, name).get_hookimpls()
        return bool(impls) and all(
            getattr(impl.function, "postal_inline_safe", False) for impl in impls
        )

    async def call(self, name: str, **kwargs):
        """The hook's result (``None`` when nobody implements it)."""
        hook = getattr(self._relay, name)
        if not hook.get_hookimpls():
            return None
        if self._inline(name):
            try:
                with cache_only():
                    return hook(**kwargs)
            except CacheMiss:
                pass
        return await asyncio.to_thread(hook, **kwargs)
