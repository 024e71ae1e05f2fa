"""A small token server for distribution's `auth: token:` mode, signing JWTs with openssl.

Anonymous callers get `pull` only; a caller with the right Basic login, or the right refresh
token (OAuth2 POST), gets what it asks for. Every issued token is recorded with its scope.
"""

from __future__ import annotations

import base64
import json
import secrets
import subprocess
import threading
import time
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

SERVICE = "e2e-test-registry"
ISSUER = "e2e-test-issuer"


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


@dataclass
class Issued:
    scopes: tuple[str, ...]
    user: str  # "" for anonymous
    method: str
    token: str


class TokenServer:
    def __init__(self, workdir: Path, *, username: str, password: str,
                 refresh_token: str) -> None:
        workdir.mkdir(parents=True, exist_ok=True)
        self.key = workdir / "key.pem"
        self.cert = workdir / "cert.pem"
        subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes",
                        "-keyout", str(self.key), "-out", str(self.cert), "-days", "2",
                        "-subj", "/CN=e2e-token-issuer"], check=True, capture_output=True)
        der = subprocess.run(["openssl", "x509", "-in", str(self.cert), "-outform", "DER"],
                             check=True, capture_output=True).stdout
        self._x5c = base64.b64encode(der).decode()
        self.username, self.password, self.refresh_token = username, password, refresh_token
        self.issued: list[Issued] = []
        self.refused = 0
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: object) -> None:
                pass

            def do_GET(self) -> None:
                q = parse_qs(urlsplit(self.path).query)
                user = server._basic_user(self.headers.get("Authorization", ""))
                if user is None:
                    return self._send(401, {"details": "bad login"})
                self._issue(q, user, "GET", "token")

            def do_POST(self) -> None:
                n = int(self.headers.get("Content-Length") or 0)
                q = parse_qs(self.rfile.read(n).decode())
                if q.get("refresh_token", [""])[0] != server.refresh_token:
                    server.refused += 1
                    return self._send(401, {"details": "bad refresh token"})
                self._issue(q, "refresh-user", "POST", "access_token")

            def _issue(self, q: dict[str, list[str]], user: str, method: str,
                       field: str) -> None:
                scopes = tuple(q.get("scope", []))
                token = server.sign(scopes, user)
                server.issued.append(Issued(scopes, user, method, token))
                self._send(200, {field: token, "expires_in": 300})

            def _send(self, status: int, obj: dict[str, object]) -> None:
                body = json.dumps(obj).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def realm(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/token"

    def start(self) -> TokenServer:
        self.thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def _basic_user(self, header: str) -> str | None:
        """"" when anonymous, the user when the login is right, None when it is wrong."""
        if not header:
            return ""
        try:
            user, _, password = base64.b64decode(header.split(" ", 1)[1]).decode().partition(":")
        except (ValueError, IndexError):
            return None
        if (user, password) == (self.username, self.password):
            return user
        self.refused += 1
        return None

    def sign(self, scopes: tuple[str, ...], user: str) -> str:
        access = []
        for scope in scopes:
            kind, name, actions = scope.split(":", 2) if scope.count(":") >= 2 else (
                scope, "", "")
            granted = [a for a in actions.split(",") if a and (user or a == "pull")]
            access.append({"type": kind, "name": name, "actions": granted})
        now = int(time.time())
        header = {"typ": "JWT", "alg": "RS256", "x5c": [self._x5c]}
        claims = {"iss": ISSUER, "sub": user, "aud": SERVICE, "exp": now + 300,
                  "nbf": now - 10, "iat": now, "jti": secrets.token_hex(8), "access": access}
        signing_input = (_b64url(json.dumps(header).encode()) + "."
                         + _b64url(json.dumps(claims).encode()))
        sig = subprocess.run(["openssl", "dgst", "-sha256", "-sign", str(self.key)],
                             input=signing_input.encode(), check=True,
                             capture_output=True).stdout
        return signing_input + "." + _b64url(sig)
