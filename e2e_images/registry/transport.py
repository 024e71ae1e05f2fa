"""One HTTP exchange with a registry: auth challenges, bounded retries, and error mapping.

Retried: connection errors, 429 and 5xx, with exponential backoff that honours Retry-After.
A 401 is answered once with a fresh token for the request's scope and is not a retry.
Bounded (`limits`): every body but a blob's is read while streaming with a size cap and a
deadline, and a request with all its retries has a deadline too, so an endless or trickling
answer fails with a message instead of filling memory or hanging.
Messages name the method and the URL path (never the query, which may carry upload state,
and never a header): nothing a token or password could leak through.
"""

from __future__ import annotations

import email.utils
import json
import logging
import time
from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import urljoin, urlsplit

import requests
import urllib3.exceptions

from e2e_images.errors import (
    AuthError,
    BlobUnknown,
    ManifestUnknown,
    RegistryError,
    RetriesExhausted,
)
from e2e_images.registry.auth import Authenticator, TokenRequest
from e2e_images.registry.limits import Deadline, Limits

__all__ = ["Body", "Transport", "error_from_response", "path_of", "read_body"]

log = logging.getLogger("e2e_images.registry")

# A request body: bytes (resent as is), or a factory giving a fresh body for each attempt.
Body = bytes | Callable[[], Any] | None

_RETRY_STATUS = frozenset({429, 500, 502, 503, 504})
_MAX_RETRY_AFTER = 30.0
_READ_STEP = 64 << 10
_STREAM_ERRORS = (requests.ConnectionError, requests.Timeout,
                  requests.exceptions.ChunkedEncodingError, urllib3.exceptions.HTTPError, OSError)
_CODE_ERRORS: dict[str, type[RegistryError]] = {
    "MANIFEST_UNKNOWN": ManifestUnknown,
    "BLOB_UNKNOWN": BlobUnknown,
    "UNAUTHORIZED": AuthError,
    "DENIED": AuthError,
}


def path_of(url: str) -> str:
    return urlsplit(url).path or "/"


def error_from_response(resp: requests.Response, method: str) -> RegistryError:
    """A typed error from a distribution error body (`{"errors": [{"code", "message"}]}`)."""
    code, detail = "", ""
    try:
        errors = json.loads(resp.content or b"{}").get("errors") or []
        if errors and isinstance(errors[0], dict):
            code = str(errors[0].get("code") or "")
            detail = str(errors[0].get("message") or "")
    except (ValueError, AttributeError):
        pass
    if not code and resp.status_code in (401, 403):
        code = "UNAUTHORIZED" if resp.status_code == 401 else "DENIED"
    if not code and resp.status_code == 404 and method == "HEAD":
        code = "NOT_FOUND"
    cls = _CODE_ERRORS.get(code, RegistryError)
    what = f"{code}: {detail}" if code and detail else (code or resp.reason or "error")
    msg = f"{method} {path_of(resp.url)}: HTTP {resp.status_code} {what}"
    return cls(msg, status=resp.status_code, code=code or None)


def read_body(resp: requests.Response, *, limit: int, deadline: Deadline, what: str) -> bytes:
    """The whole body of a streamed response, refused as soon as it passes `limit` bytes or
    `deadline` (checked between reads, each of which returns what has arrived)."""
    parts, size = [], 0
    while True:
        deadline.check(what)
        chunk = resp.raw.read1(_READ_STEP, decode_content=True)
        if not chunk:
            return b"".join(parts)
        size += len(chunk)
        if size > limit:
            resp.close()
            raise RegistryError(f"{what}: the answer is over the {limit >> 20} MiB limit "
                                "and still streaming", code="TOO_LARGE",
                                hint="not a registry answer; check the registry address")
        parts.append(chunk)


def retry_after(resp: requests.Response | None) -> float | None:
    value = resp.headers.get("Retry-After") if resp is not None else None
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())


class Transport:
    def __init__(self, base_url: str, session: requests.Session, auth: Authenticator, *,
                 retries: int, backoff: float, limits: Limits | None = None,
                 sleep: Callable[[float], None] = time.sleep) -> None:
        self.base_url = base_url
        self.session = session
        self.auth = auth
        self.retries = retries
        self.backoff = backoff
        self.limits = limits or Limits.from_env()
        self.timeout = self.limits.timeout
        self.sleep = sleep
        self._last_failure = ""

    def url(self, path_or_url: str) -> str:
        return urljoin(self.base_url, path_or_url)

    def request(self, method: str, path_or_url: str, *, scope: str = "",
                headers: Mapping[str, str] | None = None, body: Body = None,
                params: Mapping[str, str] | None = None, ok: tuple[int, ...] = (200,),
                stream: bool = False) -> requests.Response:
        """Send until a status in `ok` (returned) or a final error (raised). Unless `stream`,
        the body is already read (capped); a streamed body is the caller's to bound."""
        url = self.url(path_or_url)
        challenged = False
        attempt = 0
        operation = Deadline(self.limits.operation_deadline, "operation_deadline")
        while True:
            operation.check(f"{method} {path_of(url)}" +
                            (f" (last: {self._last_failure})" if attempt else ""))
            self._ensure_token(scope)
            send_headers = dict(headers or {})
            authz = self.auth.header(scope)
            if authz:
                send_headers["Authorization"] = authz
            data = body() if callable(body) else body
            resp = self._attempt(method, url, attempt, send_headers, data, params,
                                 stream and method != "HEAD", ok)
            if resp is None or resp.status_code in _RETRY_STATUS:
                attempt += 1
                self._pause(method, url, attempt, resp, operation)
                continue
            if resp.status_code == 401 and not challenged and "WWW-Authenticate" in resp.headers:
                challenged = True
                header = resp.headers["WWW-Authenticate"]
                resp.close()
                token_req = self.auth.on_challenge(header, scope)
                if token_req is not None:
                    self._fetch_token(token_req)
                continue
            if resp.status_code in ok:
                return resp
            err = error_from_response(resp, method)
            resp.close()
            raise err

    def _attempt(self, method: str, url: str, attempt: int, headers: dict[str, str],
                 data: Any, params: Mapping[str, str] | None,
                 stream: bool, ok: tuple[int, ...]) -> requests.Response | None:
        try:
            resp = self.session.request(method, url, headers=headers, data=data, params=params,
                                        stream=True, timeout=self.timeout,
                                        allow_redirects=True)
            if not (stream and resp.status_code in ok):
                self._consume(resp, f"{method} {path_of(url)}")
        except _STREAM_ERRORS as exc:
            self._last_failure = type(exc).__name__
            log.debug("%s %s: %s (attempt %d)", method, path_of(url), type(exc).__name__,
                      attempt + 1)
            return None
        log.debug("%s %s -> %d", method, path_of(url), resp.status_code)
        self._last_failure = f"HTTP {resp.status_code}"
        return resp

    def _consume(self, resp: requests.Response, what: str) -> None:
        """Read the body now, capped and under the request deadline; `resp.content` holds it
        and the connection goes back to the pool."""
        deadline = Deadline(self.limits.request_deadline, "request_deadline")
        body = read_body(resp, limit=self.limits.max_body, deadline=deadline, what=what)
        resp._content = body  # what requests itself sets when it reads the body
        resp._content_consumed = True
        resp.close()

    def _pause(self, method: str, url: str, attempt: int, resp: requests.Response | None,
               operation: Deadline | None = None) -> None:
        last = self._last_failure
        wait = retry_after(resp)
        if resp is not None:
            resp.close()
        if attempt > self.retries:
            raise RetriesExhausted(
                f"{method} {path_of(url)}: gave up after {attempt} attempts "
                f"(last: {last})",
                status=resp.status_code if resp is not None else None,
                hint="the registry kept failing; check it is up and not rate limiting",
            )
        delay = self.backoff * (2 ** (attempt - 1))
        if wait is not None:
            delay = max(delay, min(wait, _MAX_RETRY_AFTER))
        if operation is not None:
            operation.check(f"{method} {path_of(url)} (last: {last})")
            delay = min(delay, max(0.0, operation.left()))
        log.info("%s %s: %s, retry %d/%d in %.2fs", method, path_of(url), last, attempt,
                 self.retries, delay)
        self.sleep(delay)

    def _ensure_token(self, scope: str) -> None:
        token_req = self.auth.needs_token(scope)
        if token_req is not None:
            self._fetch_token(token_req)

    def _fetch_token(self, req: TokenRequest) -> None:
        attempt = 0
        operation = Deadline(self.limits.operation_deadline, "operation_deadline")
        while True:
            operation.check(f"{req.method} {path_of(req.url)}")
            kwargs: dict[str, Any] = {"headers": req.headers, "timeout": self.timeout,
                                      "stream": True}
            if req.method == "POST":
                kwargs["data"] = list(req.form)
            else:
                kwargs["params"] = list(req.params)
            try:
                resp: requests.Response | None = self.session.request(
                    req.method, req.url, **kwargs)
                assert resp is not None
                self._consume(resp, f"{req.method} {path_of(req.url)}")
                self._last_failure = f"HTTP {resp.status_code}"
            except _STREAM_ERRORS as exc:
                resp = None
                self._last_failure = type(exc).__name__
            if resp is None or resp.status_code in _RETRY_STATUS:
                attempt += 1
                self._pause(req.method, req.url, attempt, resp, operation)
                continue
            if resp.status_code != 200:
                raise AuthError(
                    f"token endpoint {path_of(req.url)} refused "
                    f"{'the credentials' if req.headers or req.form else 'anonymous access'} "
                    f"for scope {req.key[2]!r}: HTTP {resp.status_code}",
                    status=resp.status_code, code="UNAUTHORIZED")
            log.debug("token for scope %r from %s", req.key[2], path_of(req.url))
            self.auth.on_token(req, resp.content)
            return
