"""Several SMTP servers on one port: ``smtp_server.reuse_port`` (SO_REUSEPORT) and
``smtp_server.processes`` (``postal smtp-server`` starting copies of itself)."""

from __future__ import annotations

import smtplib
import socket
import subprocess

import pytest
from sqlalchemy import func, select

from postal.config import configure
from postal.models import Message
from postal.process_group import process_count
from postal.settings import ConfigError
from postal.smtp.server import SmtpProcess
from tests.fixtures.process_groups import (
    first_copy,
    kill_first_and_wait_for_copy,
    socket_count,
    start_server,
    stop_group,
    wait_until,
)


pytestmark = [
    pytest.mark.functional,
    pytest.mark.skipif(not hasattr(socket, "SO_REUSEPORT"), reason="needs SO_REUSEPORT"),
]

MESSAGE = "From: sender@example.com\r\nTo: rcpt@dest.test\r\nSubject: hi\r\n\r\nBody\r\n"


@pytest.fixture
def sender(smtp_data):
    server = smtp_data.server()
    credential = smtp_data.credential(server)
    smtp_data.domain("example.com", server=server)
    return credential.key


def send(port: int, key: str, count: int) -> None:
    for _ in range(count):  # a connection each, so the kernel picks a listener each time
        with smtplib.SMTP("127.0.0.1", port, timeout=10) as client:
            client.login("anything", key)
            assert client.sendmail("sender@example.com", ["rcpt@dest.test"], MESSAGE) == {}


def stored(dbsession) -> int:
    dbsession.expire_all()
    return dbsession.scalar(select(func.count()).select_from(Message))


def test_reuse_port_lets_two_servers_share_a_port(smtp_settings, clean_tables, sender, dbsession):
    settings = {**smtp_settings, "smtp_server.tls_enabled": False, "smtp_server.reuse_port": True}
    first = SmtpProcess(configure(settings, role="smtp").registry, host="127.0.0.1", port=0)
    first.start()
    second = SmtpProcess(
        configure(settings, role="smtp").registry, host="127.0.0.1", port=first.port
    )
    try:
        second.start()
        assert second.port == first.port
        send(first.port, sender, 6)
        second.stop()  # the first one still answers alone
        send(first.port, sender, 2)
    finally:
        second.stop()
        first.stop()
    assert stored(dbsession) == 8


def test_without_reuse_port_a_second_server_cannot_bind(smtp_settings, clean_tables):
    settings = {**smtp_settings, "smtp_server.tls_enabled": False}
    first = SmtpProcess(configure(settings, role="smtp").registry, host="127.0.0.1", port=0)
    first.start()
    try:
        second = SmtpProcess(
            configure(settings, role="smtp").registry, host="127.0.0.1", port=first.port
        )
        with pytest.raises(OSError):
            second.start()
    finally:
        first.stop()


def test_processes_must_be_positive(smtp_settings):
    assert process_count({**smtp_settings, "smtp_server.processes": 3}, "smtp_server") == 3
    with pytest.raises(ConfigError, match="smtp_server.processes"):
        process_count({**smtp_settings, "smtp_server.processes": 0}, "smtp_server")


def accepting(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1) as sock:
            return sock.recv(4).startswith(b"220")
    except OSError:
        return False


def start_smtp_server(app_settings, tmp_path, processes: int) -> tuple[subprocess.Popen, int]:
    """``postal smtp-server`` with ``smtp_server.processes``; (the process, its port)."""
    return start_server(app_settings, tmp_path, "smtp-server", "smtp_server", processes,
                        "smtp_server.reverse_dns = false",
                        "smtp_server.default_bind_address = 127.0.0.1")  # fmt: skip


def test_smtp_server_command_runs_processes_copies(app_settings, clean_tables, sender, dbsession,
                                                   tmp_path):  # fmt: skip
    parent, port = start_smtp_server(app_settings, tmp_path, 2)
    try:
        copy = first_copy(parent, lambda: accepting(port))
        assert len(copy) == 1
        wait_until(lambda: socket_count(copy[0]) >= 1)
        before = {pid: socket_count(pid) for pid in (parent.pid, copy[0])}
        clients = [socket.create_connection(("127.0.0.1", port), timeout=10) for _ in range(24)]
        for client in clients:
            assert client.recv(512).startswith(b"220 ")
        after = {pid: socket_count(pid) for pid in (parent.pid, copy[0])}
        for client in clients:
            client.close()
        # Both processes hold some of the 24 sessions (all on one: a chance of 2 in 2**24).
        assert all(after[pid] > before[pid] for pid in before), (before, after)
        send(port, sender, 4)
        assert stored(dbsession) == 4
    finally:
        stop_group(parent, copy)


def test_a_copy_stops_when_its_first_process_is_killed(app_settings, clean_tables, tmp_path):
    parent, port = start_smtp_server(app_settings, tmp_path, 2)
    kill_first_and_wait_for_copy(parent, lambda: accepting(port))
    assert not accepting(port)
