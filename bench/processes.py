"""Running postal's real processes for benchmarks and reliability runs: free ports, an ini
per run, a fresh database per engine, a server with API and SMTP credentials, and
``postal <role>`` subprocesses that can be killed (SIGKILL), restarted and measured (RSS).

``bench/send_e2e.py``, ``bench/chaos.py``, ``bench/scale_out.py``, ``bench/soak.py`` and
``tests/functional/test_scale_out.py`` all start postal through this module, so there is one
way to do it.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass
from pathlib import Path


ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
POSTAL = str(BIN / "postal")
FROM, DOMAIN = "alice@example.com", "example.com"
API_KEY, SMTP_KEY = "benchkey" * 3, "smtpkey1" * 3
DEFAULT_DATABASES = (
    "sqlite postgresql+psycopg://postgres@127.0.0.1:5432/postgres "
    "mysql+pymysql://root@127.0.0.1:3306/mysql?charset=utf8mb4"
)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_port(port: int, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"nothing listening on {port}")


def engine_name(url: str) -> str:
    """``sqlite``, ``postgresql`` or ``mariadb`` for a database URL (or the word sqlite)."""
    if url.startswith("sqlite"):
        return "sqlite"
    return "mariadb" if url.startswith(("mysql", "mariadb")) else "postgresql"


@contextlib.contextmanager
def fresh_database(server_url: str, directory: Path):
    """A new, empty database on the engine of ``server_url`` (``sqlite`` = a file in
    ``directory``), dropped afterwards; yields its URL."""
    from sqlalchemy import create_engine, make_url, text

    if engine_name(server_url) == "sqlite":
        yield f"sqlite:///{directory}/postal.db"
        return
    server = make_url(server_url)
    name = f"postal_bench_{uuid.uuid4().hex[:10]}"
    admin = create_engine(server, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f"CREATE DATABASE {name}"))
    try:
        yield server.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as connection:
            if admin.dialect.name == "postgresql":
                connection.execute(
                    text(
                        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                        "WHERE datname = :name AND pid <> pg_backend_pid()"
                    ),
                    {"name": name},
                )
            connection.execute(text(f"DROP DATABASE IF EXISTS {name}"))
        admin.dispose()


def write_ini(directory: Path, database_url: str, sink_port: int, **extra) -> Path:
    """``directory/postal.ini``: the database, delivery to the sink through a relay (no DNS),
    no webhooks, no log output; ``extra`` settings (``section.key``) override."""
    values = {
        "database.url": database_url,
        "postal.signing_key_path": str(directory / "signing.key"),
        "postal.dkim_key_size": "2048",
        "postal.smtp_relays": f"smtp://127.0.0.1:{sink_port}?ssl_mode=None",
        "postal.smtp_hostname": "postal.bench.test",
        "dns.return_path_domain": "rp.bench.test",
        "smtp_server.reverse_dns": "false",
        "worker.threads": "2",
        "worker.poll_interval": "0.05",
        "postal.plugins.disabled": "webhooks",
        "logging.enabled": "false",
        **extra,
    }
    if reuse_port_supported():
        values.setdefault("smtp_server.reuse_port", "true")
    ini = directory / "postal.ini"
    lines = ["[app:main]", "use = egg:postal"] + [f"{k} = {v}" for k, v in values.items()]
    ini.write_text("\n".join(lines) + "\n")
    return ini


def initialize(ini: Path) -> str:
    """``postal initialize`` (schema at head, signing key) and :func:`setup_server`; returns
    the API key."""
    subprocess.run([POSTAL, "-c", str(ini), "initialize"], check=True, stdout=subprocess.DEVNULL)
    return setup_server(ini)


def setup_server(ini: Path) -> str:
    """An organisation, a server, a verified domain, an API key (returned) and an SMTP key
    (:data:`SMTP_KEY`)."""
    from postal.bootstrap import build_registry
    from postal.domains import new_domain
    from postal.models import Credential, Organization, Server
    from postal.unit_of_work import unit_of_work

    registry = build_registry(str(ini), "cli")
    with unit_of_work(registry) as request:
        organization = Organization(name="Bench", permalink="bench")
        server = Server(organization=organization, name="Bench", permalink="bench")
        domain = new_domain(registry.settings, DOMAIN, verified=True)
        domain.server = server
        request.dbsession.add_all([organization, server, domain])
        for kind, key in (("API", API_KEY), ("SMTP", SMTP_KEY)):
            request.dbsession.add(Credential(server=server, type=kind, name=kind, key=key))
    registry["dbengine"].dispose()
    return API_KEY


class QueueProbe:
    """Counts rows still in the queue (what a drain waits for), on its own engine."""

    def __init__(self, database_url: str):
        from sqlalchemy import create_engine

        self.engine = create_engine(database_url, pool_pre_ping=True)

    def depth(self) -> int:
        from sqlalchemy import func, select

        from postal.models import QueuedMessage

        with self.engine.connect() as connection:
            return connection.scalar(select(func.count()).select_from(QueuedMessage))

    def wait_empty(self, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.depth() == 0:
                return True
            time.sleep(0.25)
        return False

    def close(self) -> None:
        self.engine.dispose()


def rss_kib(pid: int) -> int | None:
    """Resident set size of ``pid`` from /proc (KiB), or None once it has gone."""
    try:
        with open(f"/proc/{pid}/status") as status:
            for line in status:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except OSError:
        return None
    return None


@dataclass
class Process:
    """One ``postal <role>`` subprocess, its output appended to ``<name>.log``."""

    name: str
    role: str  # web-server, smtp-server, worker
    ini: Path
    port: int = 0  # PORT for web/smtp; 0 = none
    health_port: int = 0
    popen: subprocess.Popen | None = None
    starts: int = 0
    log_offset: int = 0  # where this start's output begins in the log

    def start(self, wait: bool = True) -> Process:
        env = {**os.environ, "HEALTH_SERVER_PORT": str(self.health_port or free_port())}
        if self.port:
            env["PORT"] = str(self.port)
        log = open(self.ini.parent / f"{self.name}.log", "ab")
        self.log_offset = log.tell()
        self.popen = subprocess.Popen(
            [POSTAL, "-c", str(self.ini), self.role], env=env, stdout=log, stderr=log
        )
        log.close()
        self.starts += 1
        if wait:
            self.wait_ready()
        return self

    def wait_ready(self, timeout: float = 60) -> None:
        """Until this start of the process is serving (see :meth:`ready`)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.popen.poll() is not None:
                raise RuntimeError(f"{self.name} exited with {self.popen.returncode}")
            if self.ready():
                return
            time.sleep(0.1)
        raise RuntimeError(f"{self.name} did not start within {timeout} s")

    def ready(self) -> bool:
        """Alive, and this start printed its start-up line (``listening on``, ``worker
        started``) in the log after :attr:`log_offset`: a port check alone cannot tell
        servers sharing a port apart."""
        marker = b"worker started" if self.role == "worker" else b"listening on"
        return self.alive and marker in self.output()[self.log_offset :]

    def output(self) -> bytes:
        path = self.ini.parent / f"{self.name}.log"
        return path.read_bytes() if path.exists() else b""

    @property
    def alive(self) -> bool:
        return self.popen is not None and self.popen.poll() is None

    def kill(self) -> None:
        """SIGKILL: no clean-up of any kind, as a crash or the OOM killer would do."""
        if self.alive:
            self.popen.send_signal(signal.SIGKILL)
            self.popen.wait(timeout=10)

    def stop(self) -> None:
        if self.alive:
            self.popen.terminate()
            try:
                self.popen.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.kill()

    def rss_kib(self) -> int | None:
        return rss_kib(self.popen.pid) if self.alive else None


def reuse_port_supported() -> bool:
    """Whether postal's SMTP server has the ``smtp_server.reuse_port`` setting and its
    listener sets ``SO_REUSEPORT`` (without it a second server could not bind the port)."""
    import inspect

    from postal import process_group
    from postal.settings import SETTINGS

    declared = any(setting.key == "smtp_server.reuse_port" for setting in SETTINGS)
    return declared and "SO_REUSEPORT" in inspect.getsource(process_group)


def smtp_processes(ini: Path, count: int) -> tuple[list[Process], list[int], bool]:
    """``count`` SMTP servers: on one port with ``smtp_server.reuse_port`` when postal has
    it, else one port each; ``(processes, distinct ports, shared)``."""
    shared = count > 1 and reuse_port_supported()
    ports = [free_port()] * count if shared else [free_port() for _ in range(count)]
    processes = [Process(f"smtp{i}", "smtp-server", ini, port) for i, port in enumerate(ports)]
    return processes, sorted(set(ports)), shared


def stop_all(processes: list[Process]) -> None:
    for process in processes:
        if process.alive:
            process.popen.terminate()
    for process in processes:
        process.stop()
