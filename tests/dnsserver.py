"""A small authoritative DNS server on loopback, so tests exercise real DNS traffic.

It answers UDP and TCP on the same ephemeral port of 127.0.0.1 from a dict of records that
tests change while it runs.  UDP answers that do not fit (512 bytes, or the client's EDNS
size) go out truncated, so clients retry over TCP as they would against a real server.
"""

from __future__ import annotations

import contextlib
import socket
import struct
import threading
import time

import dns.exception
import dns.flags
import dns.message
import dns.name
import dns.rcode
import dns.rdata
import dns.rdataclass
import dns.rdatatype
import dns.rrset
from dns.rdtypes.ANY.TXT import TXT


TTL = 300
POLL = 0.2  # seconds a blocked socket call waits before checking whether to stop
IDLE_POLLS = 10  # a TCP client silent for this many polls is dropped, freeing the server
MAX_CNAME_HOPS = 8


def _name(name: str) -> dns.name.Name:
    return dns.name.from_text(name.rstrip(".") + ".").canonicalize()


def _rdata(rdtype: dns.rdatatype.RdataType, value: str) -> dns.rdata.Rdata:
    if rdtype == dns.rdatatype.TXT:
        # One character string holds at most 255 bytes; longer values (DKIM keys) are split.
        raw = value.encode("utf-8")
        chunks = [raw[i : i + 255] for i in range(0, len(raw), 255)] or [b""]
        return TXT(dns.rdataclass.IN, rdtype, chunks)
    return dns.rdata.from_text(dns.rdataclass.IN, rdtype, value)


class DNSServer:
    """``server.add("example.com", "MX", "10 mx.example.com.")``; ``.port`` once started."""

    def __init__(self, host: str = "127.0.0.1"):
        self.host = host
        self.port = 0
        self.queries: list[tuple[str, str, str]] = []  # (name, type, "udp"|"tcp")
        self._records: dict[dns.name.Name, dict[dns.rdatatype.RdataType, list]] = {}
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._threads: list[threading.Thread] = []
        self._udp: socket.socket | None = None
        self._tcp: socket.socket | None = None

    # --- records -------------------------------------------------------------------------

    def add(self, name: str, rdtype: str, value: str) -> None:
        kind = dns.rdatatype.from_text(rdtype.upper())
        with self._lock:
            self._records.setdefault(_name(name), {}).setdefault(kind, []).append(
                _rdata(kind, value)
            )

    def clear(self) -> None:
        with self._lock:
            self._records.clear()
            self.queries.clear()

    # --- lifecycle -----------------------------------------------------------------------

    def start(self) -> DNSServer:
        self._udp, self._tcp = self._bind_pair()
        self.port = self._udp.getsockname()[1]
        self._stopping.clear()
        self._threads = [
            threading.Thread(target=self._serve_udp, name="test-dns-udp", daemon=True),
            threading.Thread(target=self._serve_tcp, name="test-dns-tcp", daemon=True),
        ]
        for thread in self._threads:
            thread.start()
        return self

    def stop(self) -> None:
        self._stopping.set()
        self._wake()
        deadline = time.monotonic() + 1
        for thread in self._threads:
            thread.join(timeout=max(0.0, deadline - time.monotonic()))
        for sock in (self._udp, self._tcp):
            if sock is not None:
                sock.close()
        self._threads = []
        self._udp = self._tcp = None

    def _wake(self) -> None:
        """Unblock the serving threads now rather than at their next poll timeout."""
        if not self._threads:
            return
        address = (self.host, self.port)
        with contextlib.suppress(OSError):
            with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as udp:
                udp.sendto(b"", address)
            with socket.create_connection(address, timeout=POLL):
                pass

    def __enter__(self) -> DNSServer:
        return self.start()

    def __exit__(self, *exc_info) -> None:
        self.stop()

    def _bind_pair(self) -> tuple[socket.socket, socket.socket]:
        """A UDP and a TCP socket on one free port (the port is free for UDP only at first)."""
        for _attempt in range(50):
            udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            udp.bind((self.host, 0))
            tcp = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            tcp.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                tcp.bind((self.host, udp.getsockname()[1]))
            except OSError:
                udp.close()
                tcp.close()
                continue
            tcp.listen(16)
            udp.settimeout(POLL)
            tcp.settimeout(POLL)
            return udp, tcp
        raise RuntimeError("no port free for both UDP and TCP on " + self.host)

    # --- serving -------------------------------------------------------------------------

    def _serve_udp(self) -> None:
        while not self._stopping.is_set():
            try:
                wire, peer = self._udp.recvfrom(65535)
            except TimeoutError:
                continue
            except OSError:
                return
            reply = self._reply(wire, "udp")
            if reply is not None:
                self._udp.sendto(reply, peer)

    def _serve_tcp(self) -> None:
        while not self._stopping.is_set():
            try:
                conn, _peer = self._tcp.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            with conn:
                self._serve_connection(conn)

    def _serve_connection(self, conn: socket.socket) -> None:
        conn.settimeout(POLL)
        while not self._stopping.is_set():
            try:
                (length,) = struct.unpack("!H", self._read(conn, 2))
                wire = self._read(conn, length)
            except (OSError, EOFError, struct.error):
                return
            reply = self._reply(wire, "tcp")
            if reply is None:
                return
            conn.sendall(struct.pack("!H", len(reply)) + reply)

    def _read(self, conn: socket.socket, count: int) -> bytes:
        data = b""
        idle = 0
        while len(data) < count:
            if self._stopping.is_set() or idle >= IDLE_POLLS:
                raise EOFError
            try:
                chunk = conn.recv(count - len(data))
            except TimeoutError:
                idle += 1
                continue
            if not chunk:
                raise EOFError
            data += chunk
        return data

    def _reply(self, wire: bytes, transport: str) -> bytes | None:
        try:
            query = dns.message.from_wire(wire)
        except dns.exception.DNSException:
            return None  # not DNS: drop it, as servers do
        response = self._answer(query, transport)
        if transport == "tcp":
            return response.to_wire()
        limit = max(512, query.payload) if query.edns >= 0 else 512
        try:
            return response.to_wire(max_size=limit)
        except dns.exception.TooBig:
            truncated = dns.message.make_response(query)
            truncated.flags |= dns.flags.TC | dns.flags.AA
            return truncated.to_wire()

    def _answer(self, query: dns.message.Message, transport: str) -> dns.message.Message:
        response = dns.message.make_response(query)
        response.flags |= dns.flags.AA
        if len(query.question) != 1:
            response.set_rcode(dns.rcode.FORMERR)
            return response
        question = query.question[0]
        self.queries.append(
            (question.name.to_text(), dns.rdatatype.to_text(question.rdtype), transport)
        )
        name = question.name.canonicalize()
        with self._lock:
            for _hop in range(MAX_CNAME_HOPS):
                records = self._records.get(name)
                if records is None:
                    if not response.answer:
                        response.set_rcode(dns.rcode.NXDOMAIN)
                    return response
                wanted = records.get(question.rdtype)
                if wanted:
                    response.answer.append(self._rrset(name, question.rdtype, wanted))
                    return response
                # Like a real server: answer with the alias and follow it inside our data.
                aliases = records.get(dns.rdatatype.CNAME)
                if not aliases:
                    return response
                response.answer.append(self._rrset(name, dns.rdatatype.CNAME, aliases))
                name = aliases[0].target.canonicalize()
        return response

    @staticmethod
    def _rrset(name: dns.name.Name, rdtype, rdatas: list) -> dns.rrset.RRset:
        rrset = dns.rrset.RRset(name, dns.rdataclass.IN, rdtype)
        for rdata in rdatas:
            rrset.add(rdata, TTL)
        return rrset
