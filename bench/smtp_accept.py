"""SMTP accept rate: our server (durable accept) beside Postfix and a bare aiosmtpd.

``smtp-source`` (Postfix's load generator) sends 5 KiB messages over 20 reused sessions to:

* **postal** — ``postal smtp-server`` on a fresh database (SQLite by default, or
  ``--database-url``), one process; and **postal (N processes)** — the same with
  ``smtp_server.processes = N`` (``--processes``, default 2; SO_REUSEPORT), its own
  database (or the same ``--database-url``).  The client is authorised by an SMTP-IP
  credential for 127.0.0.1 (smtp-source cannot AUTH), so every message takes the
  authenticated submission path: relay classification, From authorisation, ``Received``
  header, group commit, ``250``.
* **postfix** — a private Postfix instance in a temporary directory (``smtpd`` → cleanup →
  queue file, fsync'd), relaying for 127.0.0.1 with delivery deferred: accept only.
* **aiosmtpd** — aiosmtpd with a handler that only answers ``250 OK``: the ceiling for an
  asyncio SMTP server in this Python.

Rounds are interleaved; the median rate of each is printed with the ratios the project
targets (≥ 1.5 × Postfix, ≥ 0.75 × bare aiosmtpd), then the memory of our SMTP process
holding 1,000 idle connections.  Figures only, no asserts.  Run with ``make bench-smtp``.
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path


ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
SENDER, RECIPIENT = "bench@bench.test", "rcpt@dest.test"

BARE_AIOSMTPD = """
import asyncio, sys
from aiosmtpd.smtp import SMTP

class Handler:
    async def handle_DATA(self, server, session, envelope):
        return "250 OK"

async def main():
    loop = asyncio.get_running_loop()
    server = await loop.create_server(lambda: SMTP(Handler(), hostname="bare"),
                                      "127.0.0.1", int(sys.argv[1]))
    print("ready", flush=True)
    await server.serve_forever()

asyncio.run(main())
"""


def ensure_tools() -> None:
    """smtp-source and postfix come from Debian's ``postfix`` package."""
    if shutil.which("smtp-source") and Path("/usr/sbin/postfix").exists():
        return
    print("installing postfix (for smtp-source and the Postfix comparison)…", flush=True)
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    install = ["apt-get", "install", "-y", "-qq", "--no-install-recommends", "postfix"]
    if subprocess.run(install, env=env, capture_output=True).returncode != 0:
        subprocess.run(["apt-get", "update", "-qq"], env=env, capture_output=True)
        subprocess.run(install, env=env, check=True, capture_output=True)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for_port(port: int, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1) as sock:
                sock.recv(512)
                return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"nothing answered on port {port}")


def smtp_source(port: int, messages: int, sessions: int, size: int) -> float:
    """Messages per second for one smtp-source run."""
    command = ["smtp-source", "-d", "-s", str(sessions), "-l", str(size), "-m", str(messages),
               "-f", SENDER, "-t", RECIPIENT, f"127.0.0.1:{port}"]  # fmt: skip
    started = time.perf_counter()
    result = subprocess.run(command, capture_output=True, text=True, timeout=300)
    elapsed = time.perf_counter() - started
    if result.returncode != 0:
        raise RuntimeError(f"smtp-source failed on port {port}: {result.stderr.strip()[:300]}")
    return messages / elapsed


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


class PostalTarget:
    def __init__(self, directory: Path, database_url: str | None, processes: int = 1):
        self.name = "postal" if processes == 1 else f"postal ({processes} processes)"
        self.directory = directory
        self.directory.mkdir(exist_ok=True)
        self.seed = True
        self.port = free_port()
        url = database_url or f"sqlite:///{directory / 'postal.db'}"
        self.ini = directory / "bench.ini"
        self.ini.write_text(
            "[app:main]\nuse = egg:postal\n"
            f"database.url = {url}\n"
            "postal.smtp_hostname = bench.localhost\n"
            f"postal.signing_key_path = {directory / 'signing.key'}\n"
            "postal.dkim_key_size = 1024\n"
            "smtp_server.reverse_dns = false\n"
            "smtp_server.default_bind_address = 127.0.0.1\n"
            "smtp_server.default_health_server_port = 0\n"
            f"smtp_server.processes = {processes}\n"
        )
        self.process: subprocess.Popen | None = None

    def start(self) -> None:
        postal = str(BIN / "postal")
        if self.seed:  # a second target on the same --database-url uses the first's rows
            subprocess.run([postal, "-c", str(self.ini), "initialize"], check=True,
                           capture_output=True)  # fmt: skip
            self._seed()
        env = {**os.environ, "PORT": str(self.port)}
        self.process = subprocess.Popen(
            [postal, "-c", str(self.ini), "smtp-server"],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=open(self.directory / "postal.log", "wb"),
        )
        wait_for_port(self.port)

    def _seed(self) -> None:
        """A server with a verified bench.test domain and an SMTP-IP credential for us."""
        sys.path.insert(0, str(ROOT))
        from postal.bootstrap import build_registry
        from postal.models import Credential, Domain, Organization, Server, utcnow
        from postal.unit_of_work import unit_of_work

        registry = build_registry(str(self.ini), "cli")
        with unit_of_work(registry) as request:
            org = Organization(name="Bench", permalink="bench")
            server = Server(organization=org, name="Bench", permalink="bench")
            request.dbsession.add_all([org, server])
            request.dbsession.flush()
            request.dbsession.add_all([
                Credential(server_id=server.id, type="SMTP-IP", name="bench", key="127.0.0.1/32"),
                Domain(server_id=server.id, name="bench.test", verified_at=utcnow(),
                       dkim_private_key="unused"),
            ])  # fmt: skip
        registry["dbengine"].dispose()

    def stored(self) -> int:
        from sqlalchemy import create_engine, text

        url = self.ini.read_text().split("database.url = ")[1].splitlines()[0]
        engine = create_engine(url)
        with engine.connect() as db:
            count = db.execute(text("SELECT COUNT(*) FROM queued_messages")).scalar()
        engine.dispose()
        return count

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            self.process.wait(30)


class BareTarget:
    name = "aiosmtpd"

    def __init__(self, directory: Path):
        self.port = free_port()
        self.process: subprocess.Popen | None = None

    def start(self) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-c", BARE_AIOSMTPD, str(self.port)], stdout=subprocess.PIPE
        )
        self.process.stdout.readline()
        wait_for_port(self.port)

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            self.process.wait(20)


class PostfixTarget:
    """A private Postfix (own config, queue and port); the system one is never touched."""

    name = "postfix"

    def __init__(self, directory: Path):
        self.port = free_port()
        self.config = directory / "postfix"
        self.spool = directory / "postfix-spool"

    def start(self) -> None:
        self.config.mkdir()
        self.spool.mkdir()
        (self.config / "main.cf").write_text(
            "compatibility_level = 3.6\n"
            f"queue_directory = {self.spool}\n"
            f"data_directory = {self.spool}/data\n"
            "mail_owner = postfix\n"
            "myhostname = postfix-bench.localhost\n"
            "inet_interfaces = 127.0.0.1\ninet_protocols = ipv4\n"
            "mydestination =\nmynetworks = 127.0.0.0/8\n"
            "smtpd_relay_restrictions = permit_mynetworks, reject\n"
            "alias_maps =\nalias_database =\nlocal_recipient_maps =\n"
            "defer_transports = smtp\n"  # accept and queue only, as our server does
            f"maillog_file = {self.spool}/maillog\nmaillog_file_prefixes = {self.spool}\n"
            "smtpd_client_connection_count_limit = 0\ndefault_process_limit = 200\n"
        )
        master = Path("/etc/postfix/master.cf").read_text().splitlines()
        lines = []
        for line in master:
            if line.startswith("smtp ") and " inet " in line:
                line = f"127.0.0.1:{self.port}" + line[len("smtp") :]
            elif " inet " in line and not line.startswith("#"):
                line = "#" + line
            lines.append(line)
        (self.config / "master.cf").write_text("\n".join(lines) + "\n")
        env = {**os.environ, "MAIL_CONFIG": str(self.config)}
        result = subprocess.run(["postfix", "-c", str(self.config), "start"], env=env,
                                capture_output=True, text=True)  # fmt: skip
        if result.returncode != 0:
            raise RuntimeError(f"private postfix did not start: {result.stderr.strip()}")
        wait_for_port(self.port)

    def stop(self) -> None:
        subprocess.run(["postfix", "-c", str(self.config), "stop"], capture_output=True)


def idle_connections_rss(target: PostalTarget, count: int) -> tuple[float, float, int]:
    """RSS (MB) of our SMTP process before and while it holds ``count`` idle sessions."""
    before = rss_mb(target.process.pid)
    sockets = []
    try:
        for _ in range(count):
            sock = socket.create_connection(("127.0.0.1", target.port), timeout=10)
            sockets.append(sock)
        greeted = sum(1 for sock in sockets if sock.recv(512).startswith(b"220 "))
        time.sleep(0.5)
        return before, rss_mb(target.process.pid), greeted
    finally:
        for sock in sockets:
            sock.close()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=5000, help="per run (default 5000)")
    parser.add_argument("--sessions", type=int, default=20)
    parser.add_argument("--size", type=int, default=5120, help="body bytes (default 5 KiB)")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--idle", type=int, default=1000, help="idle connections to hold")
    parser.add_argument("--database-url", help="default: SQLite in a temporary directory")
    parser.add_argument("--processes", type=int, default=2,
                        help="also run postal with N SMTP processes (1 = skip)")  # fmt: skip
    args = parser.parse_args(argv)

    ensure_tools()
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, max(soft, args.idle * 2 + 256)), hard))
    with tempfile.TemporaryDirectory(prefix="postal-bench-") as tmp:
        directory = Path(tmp)
        os.chmod(directory, 0o755)  # Postfix's daemons must reach their queue
        postal = PostalTarget(directory / "postal", args.database_url)
        postals = [postal]
        if args.processes > 1:
            postals.append(PostalTarget(directory / "postal-n", args.database_url, args.processes))
            postals[1].seed = args.database_url is None
        targets = [*postals, PostfixTarget(directory), BareTarget(directory)]
        rates: dict[str, list[float]] = {t.name: [] for t in targets}
        try:
            for target in targets:
                target.start()
            for target in targets:  # warm-up: caches, JIT-free but page cache and pools
                smtp_source(target.port, 200, args.sessions, args.size)
            for round_number in range(1, args.rounds + 1):
                for target in targets:
                    rate = smtp_source(target.port, args.messages, args.sessions, args.size)
                    rates[target.name].append(rate)
                    print(f"round {round_number}: {target.name:<20} {rate:8.0f} msg/s", flush=True)
            # Each target has its own SQLite file; a --database-url is shared.
            stored = [p.stored() for p in (postals if args.database_url is None else postals[:1])]
            before, during, greeted = idle_connections_rss(postal, args.idle)
        finally:
            for target in targets:
                target.stop()

    median = {name: statistics.median(values) for name, values in rates.items()}
    expected = (200 + args.messages * args.rounds) * len(postals)
    print()
    database = args.database_url or "SQLite"
    print(f"smtp-source: {args.messages} messages x {args.rounds} rounds, {args.sessions} "
          f"sessions, {args.size}-byte bodies; database {database}")  # fmt: skip
    for name, value in median.items():
        runs = " / ".join(f"{v:.0f}" for v in rates[name])
        print(f"  {name:<20} {value:8.0f} msg/s (median; runs {runs})")
    for target in postals:
        ours = median[target.name]
        print(f"  {target.name} / postfix  = {ours / median['postfix']:.2f}  (target >= 1.5)")
        print(f"  {target.name} / aiosmtpd = {ours / median['aiosmtpd']:.2f}  (target >= 0.75;"
              " aiosmtpd is one process)")  # fmt: skip
    print(f"  stored and queued by postal: {' + '.join(map(str, stored))} of {expected} "
          "messages sent")  # fmt: skip
    print(f"  postal SMTP RSS: {before:.0f} MB idle, {during:.0f} MB with {greeted} idle "
          f"connections (target < 200 MB)")  # fmt: skip


if __name__ == "__main__":
    main()
