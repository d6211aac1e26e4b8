"""The web server's waitress tuning: answers leave whole, small or large, keep-alive or not."""

from __future__ import annotations

import http.client
import threading

import pytest
from waitress import create_server

from postal.servers import SEND_BYTES, stop_waitress, tune_waitress


def _app(environ, start_response):
    size = int(environ["PATH_INFO"].strip("/"))
    body = bytes(i % 251 for i in range(size))
    start_response("200 OK", [("Content-Type", "application/octet-stream"),
                              ("Content-Length", str(size))])  # fmt: skip
    # In several writes, as a streaming application would hand them over.
    return [body[i : i + 5000] for i in range(0, size, 5000)] or [b""]


@pytest.fixture
def server():
    server = create_server(_app, host="127.0.0.1", port=0, threads=2)
    tune_waitress(server)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    yield server
    stop_waitress(server, thread)
    assert not thread.is_alive()


def test_the_server_buffers_small_answers(server):
    assert server.adj.send_bytes == SEND_BYTES


@pytest.mark.parametrize("size", [0, 10, SEND_BYTES - 1, SEND_BYTES, 3 * SEND_BYTES + 7, 2**18])
def test_answers_arrive_whole_on_one_connection(server, size):
    connection = http.client.HTTPConnection("127.0.0.1", server.effective_port, timeout=10)
    for _ in range(3):  # keep-alive: each answer complete before the next request
        connection.request("GET", f"/{size}")
        response = connection.getresponse()
        assert response.status == 200
        assert response.read() == bytes(i % 251 for i in range(size))
    connection.close()
