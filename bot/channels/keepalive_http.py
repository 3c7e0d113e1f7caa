"""POST a body to one URL over a pool of kept-alive HTTP/1.1 connections, with little Python.

The drain sends a broadcast as one small JSON POST per recipient to the same URL. aiohttp's
client spends about 200 µs of Python per request on what does not change between them (URL,
headers, cookies, tracing, a task per request): most of a broadcast's cost once aiogram was out of
the way. Here the request head is built once; a request is one `write` and its answer is parsed
as it arrives (Content-Length or chunked). No redirects, no cookies, no proxies, no automatic
retry: a failed request is the caller's to reschedule, so nothing is ever sent twice silently.
"""

from __future__ import annotations

import asyncio
import ssl
import time
from collections import deque
from urllib.parse import urlsplit

# Idle connections older than this are closed rather than reused: a server drops idle
# keep-alive connections after a while, and a request written into one it is closing fails.
IDLE_SECONDS = 10.0
MAX_HEAD = 64 * 1024


class HTTPError(Exception):
    """The exchange failed (connection refused or lost, unreadable answer, timeout)."""


class _Connection(asyncio.Protocol):
    """One connection, one exchange at a time; `exchange` returns (status, body)."""

    def __init__(self) -> None:
        self.transport: asyncio.Transport | None = None
        self.open = False
        self.idle_since = 0.0
        self._buffer = bytearray()
        self._answer: asyncio.Future[tuple[int, bytes]] | None = None
        self._keep = True

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        self.open = True

    def connection_lost(self, exc: Exception | None) -> None:
        self.open = False
        if self._answer is not None and not self._answer.done():
            self._answer.set_exception(HTTPError("connection lost before the answer"))

    def data_received(self, data: bytes) -> None:
        self._buffer += data
        if self._answer is None or self._answer.done():
            return
        try:
            parsed = _parse(self._buffer)
        except HTTPError as exc:
            self._answer.set_exception(exc)
            return
        if parsed is not None:
            status, body, keep = parsed
            self._keep = keep
            self._buffer.clear()
            self._answer.set_result((status, body))

    async def exchange(self, request: bytes) -> tuple[int, bytes]:
        assert self.transport is not None
        self._answer = asyncio.get_running_loop().create_future()
        self.transport.write(request)
        return await self._answer

    @property
    def reusable(self) -> bool:
        return self.open and self._keep and not self._buffer

    def close(self) -> None:
        if self.transport is not None:
            self.transport.close()
        self.open = False


def _parse(buffer: bytearray) -> tuple[int, bytes, bool] | None:
    """(status, body, keep-alive) once the whole answer is in `buffer`, else None."""
    end = buffer.find(b"\r\n\r\n")
    if end < 0:
        if len(buffer) > MAX_HEAD:
            raise HTTPError("answer head too long")
        return None
    lines = bytes(buffer[:end]).split(b"\r\n")
    parts = lines[0].split(b" ", 2)
    if len(parts) < 2 or not parts[0].startswith(b"HTTP/1.") or not parts[1].isdigit():
        raise HTTPError("not an HTTP/1.x answer")
    headers: dict[bytes, bytes] = {}
    for line in lines[1:]:
        name, _, value = line.partition(b":")
        headers[name.strip().lower()] = value.strip()
    keep = headers.get(b"connection", b"").lower() != b"close" and parts[0] != b"HTTP/1.0"
    start = end + 4
    if headers.get(b"transfer-encoding", b"").lower() == b"chunked":
        body = _chunks(buffer, start)
        return None if body is None else (int(parts[1]), body, keep)
    length = headers.get(b"content-length")
    if length is None and parts[1] in (b"204", b"304"):
        return int(parts[1]), b"", keep
    if length is None or not length.isdigit():
        raise HTTPError("answer without a length")
    if len(buffer) - start < int(length):
        return None
    return int(parts[1]), bytes(buffer[start : start + int(length)]), keep


def _chunks(buffer: bytearray, at: int) -> bytes | None:
    body = bytearray()
    while True:
        line_end = buffer.find(b"\r\n", at)
        if line_end < 0:
            return None
        size_text = bytes(buffer[at:line_end]).split(b";", 1)[0].strip()
        try:
            size = int(size_text, 16)
        except ValueError:
            raise HTTPError("bad chunk size") from None
        if size == 0:  # no trailers expected from a JSON API: the blank line ends it
            return bytes(body) if buffer.find(b"\r\n", line_end + 2) >= 0 else None
        if len(buffer) < line_end + 2 + size + 2:
            return None
        body += buffer[line_end + 2 : line_end + 2 + size]
        at = line_end + 2 + size + 2


class KeepAlivePost:
    """POSTs of `content_type` bodies to `url`, at most `connections` at once."""

    def __init__(
        self, url: str, timeout: float, connections: int, content_type: str = "application/json"
    ) -> None:
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"not an http(s) URL: {url!r}")
        self.host = parts.hostname
        self.port = parts.port or (443 if parts.scheme == "https" else 80)
        self.ssl = ssl.create_default_context() if parts.scheme == "https" else None
        target = parts.path or "/"
        if parts.query:
            target += "?" + parts.query
        netloc = parts.netloc.rsplit("@", 1)[-1]
        self._head = (
            f"POST {target} HTTP/1.1\r\nHost: {netloc}\r\nContent-Type: {content_type}\r\n"
            "Accept: application/json\r\nConnection: keep-alive\r\nContent-Length: "
        ).encode("latin-1")
        self.timeout = timeout
        self._slots = asyncio.Semaphore(connections)
        self._idle: deque[_Connection] = deque()

    async def _connection(self) -> _Connection:
        now = time.monotonic()
        while self._idle:
            connection = self._idle.pop()  # the most recently used: the least likely closed
            if connection.reusable and now - connection.idle_since < IDLE_SECONDS:
                return connection
            connection.close()
        loop = asyncio.get_running_loop()
        hostname = self.host if self.ssl is not None else None
        _, protocol = await loop.create_connection(
            _Connection, self.host, self.port, ssl=self.ssl, server_hostname=hostname
        )
        return protocol

    async def post(self, body: bytes) -> tuple[int, bytes]:
        """(HTTP status, body) of the answer; HTTPError or OSError when there is none."""
        request = self._head + str(len(body)).encode() + b"\r\n\r\n" + body
        async with self._slots:
            connection: _Connection | None = None
            try:
                async with asyncio.timeout(self.timeout):
                    connection = await self._connection()
                    answer = await connection.exchange(request)
            except BaseException:
                if connection is not None:
                    connection.close()
                raise
            if connection.reusable:
                connection.idle_since = time.monotonic()
                self._idle.append(connection)
            else:
                connection.close()
            return answer

    async def close(self) -> None:
        while self._idle:
            self._idle.pop().close()
