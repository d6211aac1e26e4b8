"""Reading the DATA section: up to ``CRLF . CRLF``, unstuffed, with a size limit.

The end marker counts only when both the dot line and the line before it end in CRLF, so a
bare LF can never end the message early (the SMTP-smuggling defence Postal also has).
Data is read in chunks rather than line by line, which is several times cheaper in Python;
bytes that arrive after the end marker (a pipelining client's next command) are given back
to the stream reader.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable


END = b"\r\n.\r\n"
CHUNK = 65536


async def read_message(
    reader: asyncio.StreamReader, max_size: int, progress: Callable[[], None] | None = None
) -> bytes | None:
    """The message, dot-unstuffed, or ``None`` if it was bigger than ``max_size`` bytes (it
    is then read to its end and thrown away, so the session can go on)."""
    # The CRLF that ended the DATA command belongs to the search, so that a first line of
    # "." ends an empty message.
    buffer = bytearray(b"\r\n")
    scanned = 0
    discarded = 0
    too_large = False
    while True:
        end = buffer.find(END, scanned)
        if end >= 0:
            break
        scanned = max(0, len(buffer) - len(END) + 1)
        if len(buffer) - 2 + discarded > max_size:
            too_large = True
            keep = len(END) - 1  # a marker may straddle two chunks
            discarded += len(buffer) - keep
            del buffer[:-keep]
            scanned = 0
        chunk = await reader.read(CHUNK)
        if not chunk:
            raise ConnectionResetError("connection closed during DATA")
        if progress is not None:
            progress()
        buffer += chunk
    leftover = buffer[end + len(END) :]
    if leftover:
        reader._buffer[:0] = leftover  # noqa: SLF001 (asyncio has no unread(); aiosmtpd does the same)
    if too_large or end > max_size:
        return None
    del buffer[end + 2 :]  # keep the CRLF that ends the last line
    # RFC 5321 4.5.2: drop the first dot of every line that starts with one.
    return bytes(buffer).replace(b"\r\n.", b"\r\n")[2:]
