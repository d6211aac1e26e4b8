"""The SMTP process: listeners on an asyncio loop in a background thread, the group-commit
writer, and the health server (``/health``, ``/metrics``).

``postal smtp-server`` runs one; ``postal run`` runs it beside the web server and worker.
"""

from __future__ import annotations

import asyncio
import logging
import ssl
import threading

from ..health import HealthServer
from ..process_group import (
    ProcessGroup,
    is_copy,
    listening_socket,
    process_count,
    stop_with_parent,
)
from ..settings import ConfigError, health_address, process_address
from .accept import GroupCommitWriter
from .auth import FailureLimiter
from .handler import PostalHandler
from .protocol import PostalSMTP, ProtocolOptions


log = logging.getLogger(__name__)


def tls_context(settings) -> ssl.SSLContext | None:
    """The server context from ``smtp_server.tls_*``, or ``None`` when TLS is off."""
    if not settings["smtp_server.tls_enabled"]:
        return None
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    try:
        context.load_cert_chain(
            settings["smtp_server.tls_certificate_path"],
            settings["smtp_server.tls_private_key_path"],
        )
    except (OSError, ssl.SSLError) as exc:
        raise ConfigError(
            f"smtp_server.tls_certificate_path / tls_private_key_path: cannot load ({exc})"
        ) from None
    return context


def protocol_options(settings) -> ProtocolOptions:
    return ProtocolOptions(
        hostname=settings["postal.smtp_hostname"],
        max_size=settings["smtp_server.max_message_size"] * 1024 * 1024,
        tls_context=tls_context(settings),
        proxy_protocol=settings["smtp_server.proxy_protocol"],
        require_tls_for_auth=settings["smtp_server.require_tls_for_auth"],
        timeout=float(settings["smtp_server.timeout"]),
        max_connections=settings["smtp_server.max_connections"],
        limiter=FailureLimiter(
            settings["smtp_server.auth_failure_limit"],
            settings["smtp_server.auth_failure_window"],
        ),
    )


class SmtpProcess:
    name = "smtp"

    def __init__(self, registry, *, host=None, port=None, health=True, reuse_port=None):
        settings = registry.settings
        self.registry = registry
        default_host, default_port = process_address(settings, "smtp_server")
        self.host = default_host if host is None else host
        self.port = default_port if port is None else port
        self.tls_port = settings["smtp_server.tls_port"] or None
        self.reuse_port = settings["smtp_server.reuse_port"] if reuse_port is None else reuse_port
        self.options = protocol_options(settings)
        self.writer = GroupCommitWriter(registry)
        self.handler = PostalHandler(registry, self.writer)
        self.health = (
            HealthServer("smtp", *health_address(settings, "smtp_server")) if health else None
        )
        self.loop: asyncio.AbstractEventLoop | None = None
        self._servers: list[asyncio.AbstractServer] = []
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        sockets = [(listening_socket(self.host, self.port, self.reuse_port), False)]
        if self.tls_port is not None:
            if self.options.tls_context is None:
                raise ConfigError("smtp_server.tls_port needs smtp_server.tls_enabled = true")
            sockets.append((listening_socket(self.host, self.tls_port, self.reuse_port), True))
        self.port = sockets[0][0].getsockname()[1]
        if self.tls_port is not None:
            self.tls_port = sockets[1][0].getsockname()[1]
        self.writer.start()
        self.loop = asyncio.new_event_loop()
        ready = threading.Event()
        self._thread = threading.Thread(
            target=self._run, args=(sockets, ready), name="smtp", daemon=True
        )
        self._thread.start()
        if not ready.wait(30):
            raise RuntimeError("the SMTP server did not start within 30 seconds")
        if self.health is not None:
            self.health.start()
        where = f"smtp://{self.host}:{self.port}"
        if self.tls_port is not None:
            where += f" and smtps://{self.host}:{self.tls_port}"
        log.info("SMTP server listening on %s", where)
        print(f"postal SMTP server listening on {where}", flush=True)

    def _run(self, sockets, ready: threading.Event) -> None:
        asyncio.set_event_loop(self.loop)

        async def serve():
            for sock, implicit in sockets:
                server = await self.loop.create_server(
                    lambda implicit=implicit: PostalSMTP(self.handler, self.options, implicit),
                    sock=sock,
                    ssl=self.options.tls_context if implicit else None,
                )
                self._servers.append(server)
            ready.set()

        self.loop.run_until_complete(serve())
        self.loop.run_forever()
        self.loop.run_until_complete(self.loop.shutdown_asyncgens())
        self.loop.close()

    def stop(self) -> None:
        """Stop listening, drop open sessions, store what was already accepted."""
        if self.loop is not None and self._thread is not None:

            async def shutdown():
                for server in self._servers:
                    server.close()
                for task in asyncio.all_tasks():
                    if task is not asyncio.current_task():
                        task.cancel()
                await asyncio.sleep(0)

            future = asyncio.run_coroutine_threadsafe(shutdown(), self.loop)
            try:
                future.result(10)
            except Exception:  # already stopping
                log.debug("SMTP shutdown", exc_info=True)
            self.loop.call_soon_threadsafe(self.loop.stop)
            self._thread.join(10)
            self._thread = None
        self.writer.stop()
        if self.health is not None:
            self.health.stop()


def smtp_process(config_file: str) -> SmtpProcess | ProcessGroup:
    """One SMTP process, or ``smtp_server.processes`` of them sharing the port."""
    from ..bootstrap import build_configurator, fail

    registry = build_configurator(config_file, "smtp").registry
    try:
        if is_copy():
            stop_with_parent()
            return SmtpProcess(registry, health=False, reuse_port=True)
        count = process_count(registry.settings, "smtp_server")
        if count == 1:
            return SmtpProcess(registry)
        first = SmtpProcess(registry, reuse_port=True)
        return ProcessGroup(first, config_file, count, "smtp-server")
    except ConfigError as exc:
        fail(f"configuration error: {exc}")
