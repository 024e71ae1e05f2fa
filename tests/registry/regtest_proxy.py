"""A loopback HTTP proxy in front of a real registry that misbehaves on purpose.

Each request takes the next action from `plan` ("drop", "503", "429", "truncate", "corrupt",
"redirect"), or `always` once the plan is empty, and is forwarded when the action is "forward".
Every request is recorded, so tests can count what the client really sent. `tag_page` splits tag
lists into pages with `Link` headers, as newer distribution releases do (2.8 never paginates).
"""

from __future__ import annotations

import http.client
import json
import threading
from collections import deque
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

_HOP = {"connection", "keep-alive", "transfer-encoding", "proxy-connection", "te", "upgrade"}


@dataclass
class Seen:
    method: str
    path: str
    query: str
    action: str
    headers: dict[str, str] = field(default_factory=dict)


class FaultProxy:
    def __init__(self, upstream: str, *, retry_after: str = "1") -> None:
        self.upstream = upstream  # host:port
        self.plan: deque[str] = deque()
        self.always = "forward"
        self.retry_after = retry_after
        self.tag_page = 0
        self.seen: list[Seen] = []
        self._lock = threading.Lock()
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: object) -> None:
                pass

            def _handle(self) -> None:
                proxy._serve(self)

            do_GET = do_HEAD = do_PUT = do_POST = do_PATCH = do_DELETE = _handle

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def host(self) -> str:
        return f"127.0.0.1:{self.server.server_address[1]}"

    def start(self) -> FaultProxy:
        self.thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def count(self, method: str | None = None, action: str | None = None) -> int:
        return sum(1 for s in self.seen if (method is None or s.method == method)
                   and (action is None or s.action == action))

    def _next_action(self) -> str:
        with self._lock:
            return self.plan.popleft() if self.plan else self.always

    def _page(self, path: str, query: str, data: bytes) -> tuple[bytes, list[tuple[str, str]]]:
        body = json.loads(data)
        tags = sorted(body.get("tags") or [])
        last = parse_qs(query).get("last", [""])[0]
        rest = [t for t in tags if t > last]
        page, more = rest[: self.tag_page], rest[self.tag_page :]
        body["tags"] = page
        link = [("Link", f'<{path}?n={self.tag_page}&last={page[-1]}>; rel="next"')] if more else []
        return json.dumps(body).encode(), link

    def _serve(self, h: BaseHTTPRequestHandler) -> None:
        length = int(h.headers.get("Content-Length") or 0)
        body = h.rfile.read(length) if length else b""
        action = self._next_action()
        url = urlsplit(h.path)
        self.seen.append(Seen(h.command, url.path, url.query, action, dict(h.headers.items())))
        if action == "drop":
            h.close_connection = True
            h.connection.shutdown(2)
            return
        if action == "redirect":
            h.send_response(307)
            h.send_header("Location", f"http://{self.upstream}{h.path}")
            h.send_header("Content-Length", "0")
            h.end_headers()
            return
        if action in ("503", "429"):
            h.send_response(int(action))
            h.send_header("Content-Length", "0")
            if action == "429":
                h.send_header("Retry-After", self.retry_after)
            h.end_headers()
            return
        conn = http.client.HTTPConnection(self.upstream, timeout=30)
        headers = {k: v for k, v in h.headers.items() if k.lower() not in _HOP}
        conn.request(h.command, h.path, body=body or None, headers=headers)
        resp = conn.getresponse()
        data = resp.read()
        conn.close()
        extra: list[tuple[str, str]] = []
        if self.tag_page and url.path.endswith("/tags/list") and resp.status == 200:
            data, extra = self._page(url.path, url.query, data)
        h.send_response(resp.status, resp.reason)
        for k, v in [*resp.getheaders(), *extra]:
            if k.lower() not in _HOP and k.lower() != "content-length":
                h.send_header(k, v)
        if h.command == "HEAD":
            h.send_header("Content-Length", resp.getheader("Content-Length", "0"))
            h.end_headers()
            return
        h.send_header("Content-Length", str(len(data)))
        h.end_headers()
        if action == "truncate":  # promise the whole body, send half, hang up
            h.wfile.write(data[: len(data) // 2])
            h.wfile.flush()
            h.close_connection = True
            h.connection.shutdown(2)
            return
        if action == "corrupt" and data:
            data = bytes([data[0] ^ 0xFF]) + data[1:]
        h.wfile.write(data)
