"""End-to-end sending benchmark: HTTP API v1 -> worker -> DKIM (RSA-2048) -> Postfix's C
``smtp-sink``, beside Postfix relaying the same number of messages to the same sink, and
the API's intake beside a no-op Pyramid JSON POST on the same waitress settings.

    .venv/bin/python -m bench.send_e2e [--messages 3000] [--connections 8]

Prints figures and ratios; it asserts nothing.  Installs Debian's ``postfix`` package when
``smtp-sink`` is missing (needs root and the package mirror).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from .processes import FROM, POSTAL, free_port, initialize, wait_port, write_ini


def ensure_postfix_tools() -> None:
    if shutil.which("smtp-sink") and shutil.which("postfix"):
        return
    print("installing Debian's postfix for smtp-sink / smtp-source ...", flush=True)
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    subprocess.run(["apt-get", "update", "-qq"], check=True, env=env)
    subprocess.run(
        ["apt-get", "install", "-y", "-qq", "--no-install-recommends", "postfix"],
        check=True, env=env,
    )  # fmt: skip


class Sink:
    """Postfix's ``smtp-sink``, counting messages from its ``-c`` output."""

    def __init__(self):
        self.port = free_port()
        self.count = 0
        self._changed = threading.Condition()
        self.process = subprocess.Popen(
            ["smtp-sink", "-u", "postfix", "-c", f"127.0.0.1:{self.port}", "256"],
            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        threading.Thread(target=self._read, daemon=True).start()
        wait_port(self.port)

    def _read(self) -> None:
        buffer = b""
        while chunk := self.process.stdout.read1(4096):
            buffer += chunk
            *lines, buffer = buffer.split(b"\r")
            for line in lines[-1:]:
                if b"mesg=" in line:
                    with self._changed:
                        self.count = int(line.rsplit(b"mesg=", 1)[1].split()[0])
                        self._changed.notify_all()

    def wait_for(self, count: int, timeout: float) -> float | None:
        """The monotonic time the sink reached ``count`` messages, or None."""
        deadline = time.monotonic() + timeout
        with self._changed:
            while self.count < count:
                if not self._changed.wait(max(0, deadline - time.monotonic())):
                    if time.monotonic() >= deadline:
                        return None
            return time.monotonic()

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=10)


# --- HTTP load -----------------------------------------------------------------------------


def _client(port, request: bytes, count: int, results: list) -> None:
    sock = socket.create_connection(("127.0.0.1", port))
    ok = 0
    buffer = b""
    for _ in range(count):
        sock.sendall(request)
        while b"\r\n\r\n" not in buffer:
            buffer += sock.recv(65536)
        head, _, buffer = buffer.partition(b"\r\n\r\n")
        length = int(head.lower().split(b"content-length:")[1].split(b"\r\n")[0])
        while len(buffer) < length:
            buffer += sock.recv(65536)
        body, buffer = buffer[:length], buffer[length:]
        ok += b'"status":"success"' in body or b'"ok"' in body
    sock.close()
    results.append(ok)


def http_load(port: int, path: str, headers: dict, body: dict, total: int, connections: int):
    """``total`` keep-alive POSTs over ``connections`` sockets; (seconds, successes)."""
    data = json.dumps(body).encode()
    head = f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
    head += "".join(f"{k}: {v}\r\n" for k, v in headers.items())
    request = (head + f"Content-Length: {len(data)}\r\n\r\n").encode() + data
    results: list[int] = []
    per = [total // connections + (i < total % connections) for i in range(connections)]
    threads = [threading.Thread(target=_client, args=(port, request, n, results)) for n in per]
    started = time.monotonic()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return started, time.monotonic() - started, sum(results)


NOOP_APP = """
import sys, waitress
from pyramid.config import Configurator
from postal.servers import tune_waitress
def view(request):
    body = request.json_body
    return {"ok": True, "keys": len(body)}
with Configurator() as config:
    config.add_route("noop", "/noop")
    config.add_view(view, route_name="noop", renderer="json", request_method="POST")
    app = config.make_wsgi_app()
server = waitress.create_server(app, host="127.0.0.1", port=int(sys.argv[1]),
                                threads=int(sys.argv[2]))
tune_waitress(server)  # the same waitress settings as postal's web server
server.run()
"""


def noop_rate(total: int, connections: int, threads: int) -> float:
    port = free_port()
    process = subprocess.Popen([sys.executable, "-c", NOOP_APP, str(port), str(threads)])
    try:
        wait_port(port)
        http_load(port, "/noop", {}, {"warm": 1}, 200, connections)
        _start, seconds, ok = http_load(port, "/noop", {}, payload("x@example.net"), total,
                                        connections)  # fmt: skip
        assert ok == total, f"no-op app answered {ok} of {total}"
        return total / seconds
    finally:
        process.terminate()
        process.wait(timeout=10)


def payload(to: str) -> dict:
    return {
        "to": [to], "from": f"Alice <{FROM}>", "subject": "Benchmark message",
        "plain_body": "Hello, this is a benchmark message.\n" * 12, "tag": "bench",
    }  # fmt: skip


# --- Postal ------------------------------------------------------------------------------


def wait_for_copies(pid: int, count: int, timeout: float = 30) -> None:
    """Until ``count`` copies of process ``pid`` hold a socket (their listener) and have had
    a moment to start serving."""
    if count < 1:
        return
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
        if len(children) >= count and all(_has_socket(int(child)) for child in children):
            time.sleep(1)
            return
        time.sleep(0.1)
    raise RuntimeError(f"the web server's {count} copies did not start")


def _has_socket(pid: int) -> bool:
    try:
        return any(
            os.readlink(fd).startswith("socket:") for fd in Path(f"/proc/{pid}/fd").iterdir()
        )
    except OSError:
        return False


def run_postal(directory: Path, sink: Sink, total: int, connections: int, database_url: str,
               web_threads: int, web_processes: int = 1) -> dict:  # fmt: skip
    ini = write_ini(directory, database_url, sink.port,
                    **{"web_server.max_threads": web_threads,
                       "web_server.processes": web_processes})  # fmt: skip
    postal = POSTAL
    key = initialize(ini)
    port = free_port()
    env = {**os.environ, "PORT": str(port), "HEALTH_SERVER_PORT": str(free_port())}
    quiet = {"stdout": subprocess.DEVNULL, "stderr": subprocess.DEVNULL}
    web = subprocess.Popen([postal, "-c", str(ini), "web-server"], env=env, **quiet)
    processes = [web]
    path, headers = "/api/v1/send/message", {"X-Server-API-Key": key}
    try:
        wait_port(port)
        wait_for_copies(web.pid, web_processes - 1)
        http_load(port, path, headers, payload("warm@example.net"), 50, 2)  # warm up
        # 1. The API alone (no worker running): intake rate.
        _start, api_seconds, ok = http_load(
            port, path, headers, payload("bob@example.net"), total, connections
        )
        # 2. The worker alone drains that queue: delivery rate (DKIM-2048 included).
        baseline = sink.count
        worker_started = time.monotonic()
        processes.append(subprocess.Popen([postal, "-c", str(ini), "worker"], env=env, **quiet))
        drained = sink.wait_for(baseline + total + 50, 600)
        # 3. Both at once, as in production: API send -> sink.
        baseline = sink.count
        started, _seconds, _ok = http_load(
            port, path, headers, payload("carol@example.net"), total, connections
        )
        done = sink.wait_for(baseline + total, 600)
        return {
            "accepted": ok,
            "api_rate": total / api_seconds,
            "worker_rate": (total + 50) / (drained - worker_started) if drained else None,
            "e2e_rate": total / (done - started) if done else None,
        }
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            process.wait(timeout=30)


# --- Postfix -----------------------------------------------------------------------------


def postfix_config(directory: Path, smtpd_port: int, sink_port: int) -> Path:
    etc = directory / "etc"
    etc.mkdir()
    for sub in ("spool", "data"):
        (directory / sub).mkdir()
    # Postfix's daemons run as the postfix user and must reach the private queue.
    for path in (directory.parent, directory, directory / "spool"):
        path.chmod(0o755)
    shutil.chown(directory / "data", "postfix")
    (etc / "main.cf").write_text(
        "\n".join(
            [
                "compatibility_level = 3.6",
                f"queue_directory = {directory}/spool",
                f"data_directory = {directory}/data",
                "inet_interfaces = 127.0.0.1",
                "inet_protocols = ipv4",
                "myhostname = bench.localdomain",
                "mydestination =",
                "mynetworks = 127.0.0.0/8",
                "smtpd_relay_restrictions = permit_mynetworks, reject",
                f"relayhost = [127.0.0.1]:{sink_port}",
                "alias_maps =",
                "alias_database =",
                "smtp_tls_security_level = none",
                "smtpd_tls_security_level = none",
                f"maillog_file = {directory}/maillog",
                f"maillog_file_prefixes = {directory}",
                "",
            ]
        )
    )
    lines = []
    for line in Path("/etc/postfix/master.cf").read_text().splitlines():
        fields = line.split()
        if line[:1] in ("#", " ", "\t") or len(fields) < 8:
            lines.append(line)
            continue
        if fields[0] == "smtp" and fields[1] == "inet":
            fields[0] = f"127.0.0.1:{smtpd_port}"
        fields[4] = "n"  # no chroot: the private queue is not under /var/spool/postfix
        lines.append(" ".join(fields))
    (etc / "master.cf").write_text("\n".join(lines) + "\n")
    return etc


def run_postfix(directory: Path, sink: Sink, total: int, connections: int) -> dict:
    smtpd_port = free_port()
    etc = postfix_config(directory, smtpd_port, sink.port)
    postfix = ["postfix", "-c", str(etc)]
    subprocess.run([*postfix, "start"], check=True, capture_output=True)
    try:
        wait_port(smtpd_port)
        baseline = sink.count
        started = time.monotonic()
        subprocess.run(
            ["smtp-source", "-s", str(connections), "-m", str(total), "-l", "1400",
             "-f", FROM, "-t", "bob@example.net", f"127.0.0.1:{smtpd_port}"],
            check=True,
        )  # fmt: skip
        injected = time.monotonic() - started
        done = sink.wait_for(baseline + total, 600)
        return {
            "accept_rate": total / injected,
            "e2e_rate": total / (done - started) if done else None,
        }
    finally:
        subprocess.run([*postfix, "stop"], capture_output=True)


# --- Report ------------------------------------------------------------------------------


def ratio(a, b) -> str:
    return f"{a / b:.2f}" if a and b else "n/a"


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=3000)
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument("--web-threads", type=int, default=8)
    parser.add_argument(
        "--web-processes",
        type=int,
        default=1,
        help="web_server.processes (the no-op app always runs one process)",
    )
    parser.add_argument("--database-url", default=None, help="default: SQLite in a temp dir")
    args = parser.parse_args(argv)
    ensure_postfix_tools()
    sink = Sink()
    try:
        with tempfile.TemporaryDirectory(prefix="postal-bench-") as tmp:
            tmp = Path(tmp)
            (tmp / "postal").mkdir()
            (tmp / "postfix").mkdir()
            url = args.database_url or f"sqlite:///{tmp}/postal/postal.db"
            ours = run_postal(tmp / "postal", sink, args.messages, args.connections, url,
                              args.web_threads, args.web_processes)  # fmt: skip
            try:
                theirs = run_postfix(tmp / "postfix", sink, args.messages, args.connections)
            except (subprocess.CalledProcessError, OSError, RuntimeError) as exc:
                theirs = {"accept_rate": None, "e2e_rate": None, "error": str(exc)}
            noop = noop_rate(args.messages, args.connections, args.web_threads)
    finally:
        sink.stop()
    print(f"\nsend_e2e: {args.messages} messages, {args.connections} client connections, "
          f"DKIM RSA-2048, database {args.database_url or 'SQLite'}, "
          f"{args.web_processes} web process(es)")  # fmt: skip
    print(f"  postal API send (accepted)        {ours['api_rate']:8.0f} msg/s")
    print(f"  no-op Pyramid JSON POST           {noop:8.0f} req/s")
    print(f"  postal worker drain (queue -> sink, incl. start-up) "
          f"{ours['worker_rate'] or 0:8.0f} msg/s")  # fmt: skip
    print(f"  postal end to end (API -> sink)   {ours['e2e_rate'] or 0:8.0f} msg/s")
    if theirs.get("error"):
        print(f"  postfix: could not run ({theirs['error']})")
    else:
        print(f"  postfix accepted (smtp-source)    {theirs['accept_rate']:8.0f} msg/s")
        print(f"  postfix end to end (-> sink)      {theirs['e2e_rate'] or 0:8.0f} msg/s")
    api_ratio = ratio(ours["api_rate"], noop)
    print(f"  ratio API send / no-op POST       {api_ratio:>8}  (target >= 0.5)")
    print(f"  ratio end to end / postfix        "
          f"{ratio(ours['e2e_rate'], theirs.get('e2e_rate')):>8}  (target >= 1.0)")  # fmt: skip


if __name__ == "__main__":
    main()
