"""Run ``opendkim-testmsg`` against a loopback DNS server, inside private namespaces.

opendkim-testmsg takes no resolver options: libopendkim asks the nameservers of
``/etc/resolv.conf``, on port 53.  So this script is started with ``unshare --net --mount``:
it brings up the namespace's own loopback, serves the test's records from
:class:`tests.dnsserver.DNSServer` on 127.0.0.1:53 there (nothing else can be listening in a
new network namespace), bind-mounts a resolv.conf naming it over ``/etc/resolv.conf`` (only
inside the private mount namespace), and verifies the message read from stdin.  Nothing
leaves the machine and the host's resolver configuration is untouched.

Usage: ``unshare --net --mount python -m tests.opendkim_netns NAME TXT < message``.
Exit status and output are opendkim-testmsg's.
"""

from __future__ import annotations

import socket
import subprocess
import sys
import tempfile

from tests.dnsserver import DNSServer


class Port53Server(DNSServer):
    def _bind_pair(self):
        udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        udp.bind((self.host, 53))
        tcp = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        tcp.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        tcp.bind((self.host, 53))
        tcp.listen(16)
        udp.settimeout(0.2)
        tcp.settimeout(0.2)
        return udp, tcp


def main(name: str, txt: str) -> int:
    subprocess.run(["ip", "link", "set", "lo", "up"], check=True, timeout=10)
    with tempfile.NamedTemporaryFile("w", suffix=".resolv.conf") as resolv:
        resolv.write("nameserver 127.0.0.1\noptions timeout:2 attempts:1\n")
        resolv.flush()
        subprocess.run(["mount", "--bind", resolv.name, "/etc/resolv.conf"], check=True, timeout=10)
        with Port53Server() as dns_server:
            dns_server.add(name, "TXT", txt)
            result = subprocess.run(
                ["opendkim-testmsg"], stdin=sys.stdin.buffer, capture_output=True, timeout=30
            )
    sys.stdout.buffer.write(result.stdout + result.stderr)
    return result.returncode


if __name__ == "__main__":
    sys.exit(main(sys.argv[1], sys.argv[2]))
