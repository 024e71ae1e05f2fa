"""Registry authentication as plain data: challenges in, request descriptions and headers out.

Nothing here sends a request. The transport asks `Authenticator.header(scope)` before a request,
hands it every `WWW-Authenticate` it receives, performs the `TokenRequest` it is given and
returns the response body. Tokens are cached by (realm, service, scope) and a token is never
offered for a scope it was not issued for: a push, a pull of another repository or a mount each
get their own token, fetched after a fresh challenge when needed.
"""

from __future__ import annotations

import base64
import json
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from e2e_images.errors import AuthError
from e2e_images.registry.credentials import Credentials

__all__ = [
    "Authenticator",
    "Challenge",
    "Token",
    "TokenCache",
    "TokenRequest",
    "basic_header",
    "merge_scopes",
    "parse_challenges",
    "parse_token_response",
    "repository_scope",
    "token_request",
]

# auth-param: token=token / token="quoted string" (RFC 7235), tolerant of spaces around '='.
_PARAM = re.compile(r'\s*([!#$%&\'*+.^_`|~0-9A-Za-z-]+)\s*=\s*("(?:[^"\\]|\\.)*"|[^,\s]*)\s*,?')
_SCHEME = re.compile(r"\s*,?\s*([!#$%&\'*+.^_`|~0-9A-Za-z-]+)(?=\s|$|,)")
_DEFAULT_TOKEN_LIFETIME = 60  # seconds; the distribution token spec's default


@dataclass(frozen=True, slots=True)
class Challenge:
    scheme: str  # lower-cased: "bearer" or "basic"
    realm: str = ""
    service: str = ""
    scope: str = ""
    error: str = ""


def parse_challenges(header: str) -> list[Challenge]:
    """Every challenge in a `WWW-Authenticate` value (several may share one header)."""
    out: list[Challenge] = []
    pos = 0
    while pos < len(header):
        m = _SCHEME.match(header, pos)
        if not m:
            break
        scheme = m.group(1).lower()
        pos = m.end()
        params: dict[str, str] = {}
        while True:
            p = _PARAM.match(header, pos)
            if not p:
                break
            value = p.group(2)
            if value.startswith('"'):
                value = re.sub(r"\\(.)", r"\1", value[1:-1])
            params[p.group(1).lower()] = value
            pos = p.end()
        out.append(Challenge(scheme, params.get("realm", ""), params.get("service", ""),
                             params.get("scope", ""), params.get("error", "")))
    return out


def repository_scope(repository: str, actions: str = "pull") -> str:
    return f"repository:{repository}:{actions}"


def merge_scopes(*scopes: str) -> str:
    """One canonical scope string: resources sorted, actions of a resource merged and sorted."""
    actions: dict[str, set[str]] = {}
    for text in scopes:
        for item in text.split():
            resource, sep, acts = item.rpartition(":")
            if not sep:
                resource, acts = item, ""
            actions.setdefault(resource, set()).update(a for a in acts.split(",") if a)
    return " ".join(f"{r}:{','.join(sorted(a))}" for r, a in sorted(actions.items()))


def basic_header(credentials: Credentials) -> str:
    raw = f"{credentials.username}:{credentials.secret}".encode()
    return "Basic " + base64.b64encode(raw).decode()


@dataclass(frozen=True, slots=True)
class Token:
    value: str = field(repr=False)
    expires_at: float

    def fresh(self, now: float, margin: float = 5.0) -> bool:
        return now + margin < self.expires_at


@dataclass(frozen=True, slots=True)
class TokenRequest:
    """What to send to a token endpoint. `headers`/`form` may carry secrets: never log them."""

    method: str  # GET (anonymous or Basic) or POST (OAuth2 refresh token)
    url: str
    params: tuple[tuple[str, str], ...]
    headers: dict[str, str] = field(default_factory=dict, repr=False)
    form: tuple[tuple[str, str], ...] = field(default=(), repr=False)
    key: tuple[str, str, str] = ("", "", "")  # (realm, service, scope) for the cache


def token_request(challenge: Challenge, scope: str,
                  credentials: Credentials | None) -> TokenRequest:
    realm, service = challenge.realm, challenge.service
    if not realm:
        raise AuthError("registry sent a Bearer challenge without a realm")
    scopes = tuple(("scope", s) for s in scope.split())
    key = (realm, service, scope)
    if credentials is not None and credentials.identity_token:
        form = (("grant_type", "refresh_token"), ("service", service),
                ("client_id", "e2e-images"), ("refresh_token", credentials.identity_token),
                *scopes)
        return TokenRequest("POST", realm, (), {}, form, key)
    params = (("service", service), *scopes) if service else scopes
    headers = {"Authorization": basic_header(credentials)} if credentials else {}
    return TokenRequest("GET", realm, params, headers, (), key)


def parse_token_response(body: bytes, now: float | None = None) -> Token:
    """Accepts `token` or `access_token` (OAuth2 form); lifetime from expires_in."""
    now = time.time() if now is None else now
    try:
        obj = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        raise AuthError("token endpoint answered with something that is not JSON") from None
    value = (obj.get("token") or obj.get("access_token")) if isinstance(obj, dict) else None
    if not isinstance(value, str) or not value:
        raise AuthError("token endpoint answered without a token")
    try:
        lifetime = int(obj.get("expires_in") or _DEFAULT_TOKEN_LIFETIME)
    except (TypeError, ValueError):
        lifetime = _DEFAULT_TOKEN_LIFETIME
    return Token(value, now + max(lifetime, 1))


class TokenCache:
    """Tokens keyed by (realm, service, scope); a lookup for another scope never matches."""

    def __init__(self) -> None:
        self._tokens: dict[tuple[str, str, str], Token] = {}

    def get(self, key: tuple[str, str, str], now: float | None = None) -> Token | None:
        token = self._tokens.get(key)
        if token is None:
            return None
        if not token.fresh(time.time() if now is None else now):
            del self._tokens[key]
            return None
        return token

    def put(self, key: tuple[str, str, str], token: Token) -> None:
        self._tokens[key] = token

    def drop(self, key: tuple[str, str, str]) -> None:
        self._tokens.pop(key, None)

    def entries(self) -> list[tuple[str, str, str]]:
        return list(self._tokens)


class Authenticator:
    """Per-registry auth state: the last challenge seen, credentials, and the token cache."""

    def __init__(self, credentials: Credentials | None = None, *,
                 lookup: Callable[[], Credentials | None] | None = None) -> None:
        """`lookup` finds credentials on the first challenge, so anonymous use runs no helper."""
        self._credentials = credentials
        self._lookup = lookup
        self.challenge: Challenge | None = None
        self.cache = TokenCache()

    @property
    def credentials(self) -> Credentials | None:
        if self._lookup is not None:
            self._credentials, self._lookup = self._lookup(), None
        creds = self._credentials
        return None if creds is None or creds.is_anonymous else creds

    def header(self, scope: str) -> str | None:
        """The Authorization value to send for `scope`, or None (anonymous, or token needed)."""
        ch = self.challenge
        if ch is None:
            return None
        if ch.scheme == "basic":
            return basic_header(self.credentials) if self.credentials else None
        token = self.cache.get((ch.realm, ch.service, merge_scopes(scope)))
        return f"Bearer {token.value}" if token else None

    def needs_token(self, scope: str) -> TokenRequest | None:
        """The token request to make before sending a request for `scope`, if any."""
        ch = self.challenge
        if ch is None or ch.scheme != "bearer" or self.header(scope) is not None:
            return None
        return token_request(ch, merge_scopes(scope), self.credentials)

    def on_challenge(self, www_authenticate: str, scope: str) -> TokenRequest | None:
        """Record a 401's challenge; return the token request to make, or None for Basic."""
        challenges = parse_challenges(www_authenticate)
        chosen = next((c for c in challenges if c.scheme == "bearer"), None)
        chosen = chosen or next((c for c in challenges if c.scheme == "basic"), None)
        if chosen is None:
            raise AuthError("registry asked for an authentication scheme we do not support",
                            status=401)
        self.challenge = chosen
        if chosen.scheme == "basic":
            if self.credentials is None:
                raise AuthError("registry requires a login and no credentials were found",
                                status=401, hint="docker login, or a credHelpers entry")
            return None
        wanted = merge_scopes(scope, chosen.scope) if chosen.scope else merge_scopes(scope)
        self.cache.drop((chosen.realm, chosen.service, wanted))
        return token_request(chosen, wanted, self.credentials)

    def on_token(self, request: TokenRequest, body: bytes) -> None:
        self.cache.put(request.key, parse_token_response(body))
