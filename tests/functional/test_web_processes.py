"""``web_server.processes``: ``postal web-server`` starting copies of itself on one port
(SO_REUSEPORT), each answering API requests, all stopping with the first."""

from __future__ import annotations

import http.client
import json
import socket
import subprocess

import pytest
from sqlalchemy import func, select

from postal.models import Message
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


@pytest.fixture
def api_key(smtp_data):
    server = smtp_data.server()
    smtp_data.domain("example.com", server=server)
    return smtp_data.credential(server, type="API").key


def start_web_server(app_settings, tmp_path, processes: int) -> tuple[subprocess.Popen, int]:
    return start_server(app_settings, tmp_path, "web-server", "web_server", processes)


def answering(port: int) -> bool:
    try:
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
        connection.request("GET", "/.well-known/jwks.json")
        return connection.getresponse().status == 200
    except OSError:
        return False


def send(port: int, key: str) -> dict:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    body = json.dumps({"to": ["r@dest.test"], "from": "a@example.com", "plain_body": "hi"})
    headers = {"X-Server-API-Key": key, "Content-Type": "application/json"}
    connection.request("POST", "/api/v1/send/message", body, headers)
    return json.loads(connection.getresponse().read())


def test_web_server_command_runs_processes_copies(app_settings, clean_tables, api_key, dbsession,
                                                  tmp_path):  # fmt: skip
    parent, port = start_web_server(app_settings, tmp_path, 2)
    try:
        copy = first_copy(parent, lambda: answering(port))
        assert len(copy) == 1
        wait_until(lambda: socket_count(copy[0]) >= 1)
        before = {pid: socket_count(pid) for pid in (parent.pid, copy[0])}
        clients = [socket.create_connection(("127.0.0.1", port), timeout=10) for _ in range(24)]
        # Each process accepts its share of the 24 connections (all on one: 2 in 2**24).
        wait_until(lambda: all(socket_count(pid) > before[pid] for pid in before))
        for client in clients:
            client.close()
        for _ in range(6):
            assert send(port, api_key)["status"] == "success"
        dbsession.expire_all()
        assert dbsession.scalar(select(func.count()).select_from(Message)) == 6
    finally:
        stop_group(parent, copy)


def test_a_web_copy_stops_when_its_first_process_is_killed(app_settings, clean_tables, tmp_path):
    parent, port = start_web_server(app_settings, tmp_path, 2)
    kill_first_and_wait_for_copy(parent, lambda: answering(port))
    assert not answering(port)
