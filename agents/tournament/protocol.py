"""The wire format between the tournament runner and an agent's process: length-prefixed JSON messages.

Each message is a 4-byte big-endian length followed by that many bytes of UTF-8 JSON. JSON rather
than pickle: the runner reads what an agent's process sends, and unpickling it would let a student's
code run inside the runner. This module uses the standard library only, so that the agent's process
can import it before it limits its memory and loads anything heavy.
"""

from __future__ import annotations

import json
import os
import struct

HEADER = struct.Struct(">I")
# A reply is a few hundred bytes; anything much longer is a broken or hostile process.
MAX_REPLY_BYTES = 1 << 20


class ProtocolError(RuntimeError):
    """The other side sent something that is not a message of this protocol."""


def encode(obj: dict) -> bytes:
    """A message as bytes (header and JSON body)."""
    body = json.dumps(obj, separators=(",", ":")).encode("utf-8")
    return HEADER.pack(len(body)) + body


def decode_body(body: bytes) -> dict:
    try:
        obj = json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as exc:
        raise ProtocolError(f"undecodable message ({exc})") from None
    if not isinstance(obj, dict):
        raise ProtocolError(f"a message must be a JSON object, not {type(obj).__name__}")
    return obj


def write_all(fd: int, data: bytes) -> None:
    """Write every byte to a blocking file descriptor."""
    view = memoryview(data)
    while view:
        n = os.write(fd, view)
        view = view[n:]


def read_exact(fd: int, n: int) -> bytes | None:
    """Read exactly n bytes from a blocking descriptor; None at end of file."""
    chunks, left = [], n
    while left:
        chunk = os.read(fd, left)
        if not chunk:
            return None
        chunks.append(chunk)
        left -= len(chunk)
    return b"".join(chunks)


def read_message(fd: int, max_bytes: int = 1 << 26) -> dict | None:
    """One message from a blocking descriptor (the agent's side); None at end of file."""
    head = read_exact(fd, HEADER.size)
    if head is None:
        return None
    (size,) = HEADER.unpack(head)
    if size > max_bytes:
        raise ProtocolError(f"message of {size} bytes is too long")
    body = read_exact(fd, size)
    if body is None:
        return None
    return decode_body(body)


class MessageBuffer:
    """Accumulates bytes read without blocking and cuts them into messages (the runner's side)."""

    def __init__(self, max_bytes: int = MAX_REPLY_BYTES) -> None:
        self._buf = bytearray()
        self.max_bytes = max_bytes

    def feed(self, data: bytes) -> None:
        self._buf += data

    def pop(self) -> dict | None:
        """The next complete message, or None while it is incomplete."""
        if len(self._buf) < HEADER.size:
            return None
        (size,) = HEADER.unpack_from(self._buf)
        if size > self.max_bytes:
            raise ProtocolError(f"reply of {size} bytes is longer than the limit of {self.max_bytes}")
        if len(self._buf) < HEADER.size + size:
            return None
        body = bytes(self._buf[HEADER.size:HEADER.size + size])
        del self._buf[:HEADER.size + size]
        return decode_body(body)
