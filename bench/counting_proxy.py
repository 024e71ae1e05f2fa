"""A loopback reverse proxy in front of a registry that counts HTTP body bytes.

Why a proxy: the registry's own storage growth says nothing about what a client downloaded,
and buildah reports neither figure. Every benchmark client (our builder, buildah, skopeo)
is pointed at the proxy's port, so what crosses it is exactly the registry traffic of the
run. Request bodies (blob PATCH/PUT, manifest PUT) count as pushed; response bodies (blob and
manifest GETs) count as pulled. Headers are not counted. Chunked transfer encoding is
decoded in both directions, so the figures are payload bytes, not framing.

The proxy passes the client's Host header through, so the registry builds upload Locations
that point back at the proxy and a client never bypasses it mid-upload.
"""

from __future__ import annotations

import http.client
import multiprocessing
from collections.abc import Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from multiprocessing.connection import Connection
from types import TracebackType
from typing import Any

__all__ = ["CountingProxy", "Traffic"]

_HOP = {"connection", "keep-alive", "proxy-connection", "transfer-encoding", "te", "trailer",
        "upgrade", "expect"}
_PIECE = 1 << 20


@dataclass(frozen=True, slots=True)
class Traffic:
    pushed: int  # request body bytes
    pulled: int  # response body bytes
    requests: int

    def __add__(self, other: Traffic) -> Traffic:
        return Traffic(self.pushed + other.pushed, self.pulled + other.pulled,
                       self.requests + other.requests)

    def __sub__(self, other: Traffic) -> Traffic:
        return Traffic(self.pushed - other.pushed, self.pulled - other.pulled,
                       self.requests - other.requests)


class _Counters:
    """Shared with the parent process: pushed, pulled, requests."""

    def __init__(self, shared: Any) -> None:
        self._shared = shared  # multiprocessing.Array("q", 3), with its own lock

    def add(self, pushed: int = 0, pulled: int = 0, requests: int = 0) -> None:
        with self._shared.get_lock():
            self._shared[0] += pushed
            self._shared[1] += pulled
            self._shared[2] += requests

    def snapshot(self) -> Traffic:
        with self._shared.get_lock():
            return Traffic(*self._shared[:3])


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _ProxyServer

    def log_message(self, format: str, *args: object) -> None:
        pass

    def _upstream(self) -> http.client.HTTPConnection:
        conn = getattr(self, "_conn", None)
        if conn is None:
            conn = http.client.HTTPConnection(*self.server.upstream, timeout=600)
            self._conn = conn
        return conn

    def _request_body(self) -> Iterator[bytes] | bytes | None:
        if "chunked" in (self.headers.get("Transfer-Encoding") or "").lower():
            return self._dechunk()
        length = int(self.headers.get("Content-Length") or 0)
        if not length:
            return None
        return self._counted_read(length)

    def _counted_read(self, length: int) -> Iterator[bytes]:
        left = length
        while left > 0:
            piece = self.rfile.read(min(left, _PIECE))
            if not piece:
                raise ConnectionError("client closed mid-body")
            left -= len(piece)
            self.server.counters.add(pushed=len(piece))
            yield piece

    def _dechunk(self) -> Iterator[bytes]:
        while True:
            size = int(self.rfile.readline().split(b";", 1)[0].strip() or b"0", 16)
            if size == 0:
                while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                    pass  # trailers
                return
            yield from self._counted_read(size)
            self.rfile.readline()  # CRLF after the chunk

    def _forward(self) -> None:
        self.server.counters.add(requests=1)
        body = self._request_body()
        # A list, not a dict: Go clients send one Accept header per media type.
        headers = [(k, v) for k, v in self.headers.items() if k.lower() not in _HOP]
        chunked = body is not None and "Content-Length" not in self.headers
        conn = self._upstream()
        try:
            conn.putrequest(self.command, self.path, skip_host=True,
                            skip_accept_encoding=True)
            for k, v in headers:
                conn.putheader(k, v)
            if chunked:
                conn.putheader("Transfer-Encoding", "chunked")
            conn.endheaders()
            if body is not None:
                for piece in body:
                    if chunked:
                        conn.send(f"{len(piece):x}\r\n".encode() + piece + b"\r\n")
                    else:
                        conn.send(piece)
                if chunked:
                    conn.send(b"0\r\n\r\n")
            resp = conn.getresponse()
        except (OSError, http.client.HTTPException):
            conn.close()
            self._conn = None
            raise
        self._reply(resp)

    def _reply(self, resp: http.client.HTTPResponse) -> None:
        self.send_response_only(resp.status, resp.reason)
        length = resp.getheader("Content-Length")
        for k, v in resp.getheaders():
            if k.lower() not in _HOP:
                self.send_header(k, v)
        no_body = self.command == "HEAD" or resp.status in (204, 304) or resp.status < 200
        stream = not no_body and length is None
        if stream:
            self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        if no_body:
            resp.read()
            return
        while piece := resp.read(_PIECE):
            self.server.counters.add(pulled=len(piece))
            self.wfile.write(f"{len(piece):x}\r\n".encode() + piece + b"\r\n" if stream
                             else piece)
        if stream:
            self.wfile.write(b"0\r\n\r\n")
        if resp.will_close:
            self._conn.close()
            self._conn = None

    do_GET = do_HEAD = do_PUT = do_POST = do_PATCH = do_DELETE = _forward


class _ProxyServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, upstream: tuple[str, int], counters: _Counters) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.upstream = upstream
        self.counters = counters


def _serve(upstream: tuple[str, int], shared: Any, ready: Connection) -> None:
    server = _ProxyServer(upstream, _Counters(shared))
    ready.send(server.server_address[1])
    ready.close()
    server.serve_forever()


class CountingProxy:
    """`with CountingProxy("127.0.0.1:5000") as proxy:` clients use `proxy.host`.

    The proxy runs in a process of its own, so its work never competes with a measured
    Python builder for the GIL; the counters live in shared memory."""

    def __init__(self, upstream_host: str) -> None:
        name, port = upstream_host.rsplit(":", 1)
        ctx = multiprocessing.get_context("spawn")
        self._shared = ctx.Array("q", 3)
        self._counters = _Counters(self._shared)
        self._ready, child = ctx.Pipe(duplex=False)
        self._process = ctx.Process(target=_serve, args=((name, int(port)), self._shared, child),
                                    name="counting-proxy", daemon=True)
        self._child = child
        self._port = 0

    @property
    def host(self) -> str:
        return f"127.0.0.1:{self._port}"

    def traffic(self) -> Traffic:
        return self._counters.snapshot()

    def __enter__(self) -> CountingProxy:
        self._process.start()
        self._child.close()
        if not self._ready.poll(30):
            self._process.terminate()
            raise RuntimeError("the counting proxy did not start")
        self._port = self._ready.recv()
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self._process.terminate()
        self._process.join(timeout=5)
