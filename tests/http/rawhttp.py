"""A client that behaves as badly as asked: raw sockets from a chosen loopback address.

httpx and browsers are well-behaved; an attacker sends chunked bodies without end, opens
connections and says nothing, or trickles a request head. These helpers do that, and measure
the node process from /proc (file descriptors, resident memory).
"""

from __future__ import annotations

import os
import select
import socket
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

READ_TIMEOUT = 30.0


@dataclass(frozen=True)
class Answer:
    """A response as read off the socket."""

    status: int
    headers: dict[str, str]
    body: bytes


class Gauge:
    """Reads a process's open file descriptors and resident memory."""

    def __init__(self, pid: int) -> None:
        self.pid = pid

    def fds(self) -> int:
        return len(os.listdir(f"/proc/{self.pid}/fd"))

    def rss(self) -> int:
        for line in Path(f"/proc/{self.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
        raise AssertionError("no VmRSS")


def folder_bytes(*folders: Path) -> int:
    """Return the bytes of every file under ``folders`` (files vanishing meanwhile count 0)."""
    total = 0
    for folder in folders:
        for root, _, files in os.walk(folder):
            for name in files:
                try:
                    total += os.stat(os.path.join(root, name)).st_size
                except FileNotFoundError:
                    continue
    return total


def connect(host: str, port: int, source: str) -> socket.socket:
    """Open a TCP connection to the node from the loopback address ``source``."""
    return socket.create_connection((host, port), timeout=READ_TIMEOUT, source_address=(source, 0))


def send_request(
    host: str,
    port: int,
    source: str,
    head: str,
    body: Iterable[bytes] = (),
    *,
    chunked: bool = False,
) -> tuple[Answer, int]:
    """Send a request head and as much of ``body`` as the node reads; return its answer.

    Also return how many body bytes went out before the node stopped the upload (a write
    error) or the body ended.
    """
    sock = connect(host, port, source)
    sent = 0
    try:
        sock.sendall(head.encode("latin-1"))
        for chunk in body:
            if _readable(sock):
                break  # the node answered already: stop sending
            frame = f"{len(chunk):x}\r\n".encode() + chunk + b"\r\n" if chunked else chunk
            sock.sendall(frame)
            sent += len(chunk)
        else:
            if chunked:
                sock.sendall(b"0\r\n\r\n")
    except OSError:
        pass  # reset or broken pipe: the node stopped reading; its answer may still be there
    try:
        return read_answer(sock), sent
    finally:
        sock.close()


def _readable(sock: socket.socket) -> bool:
    ready, _, _ = select.select([sock], [], [], 0)
    return bool(ready)


def read_answer(sock: socket.socket) -> Answer:
    """Read one response (head and a Content-Length body) from ``sock``."""
    sock.settimeout(READ_TIMEOUT)
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        if not chunk:
            raise ConnectionError(f"closed before a response head: {data[:200]!r}")
        data += chunk
    head, _, rest = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1])
    headers: dict[str, str] = {}
    for line in lines[1:]:
        key, _, value = line.partition(":")
        headers.setdefault(key.strip().lower(), value.strip())
    length = int(headers.get("content-length", "0"))
    while len(rest) < length:
        try:
            chunk = sock.recv(65536)
        except OSError:
            break
        if not chunk:
            break
        rest += chunk
    return Answer(status, headers, rest[:length])


def closed_by_peer(sock: socket.socket, timeout: float) -> bool:
    """Return True once the other side closes ``sock`` (within ``timeout`` seconds)."""
    sock.settimeout(timeout)
    try:
        while True:
            chunk = sock.recv(65536)
            if not chunk:
                return True
    except TimeoutError:
        return False
    except OSError:
        return True


def multipart(boundary: str, parts: list[tuple[str, str | None, bytes]]) -> bytes:
    """Encode ``(name, filename, data)`` parts as a multipart/form-data body."""
    out = b""
    for name, filename, data in parts:
        disposition = f'form-data; name="{name}"'
        if filename is not None:
            disposition += f'; filename="{filename}"'
        out += f"--{boundary}\r\nContent-Disposition: {disposition}\r\n\r\n".encode() + data
        out += b"\r\n"
    return out + f"--{boundary}--\r\n".encode()
