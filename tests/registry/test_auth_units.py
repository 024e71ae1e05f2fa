"""The pure parts of auth and credentials: challenges, scopes, token bodies, config files."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import pytest

from e2e_images.errors import AuthError
from e2e_images.registry.auth import (
    Authenticator,
    Token,
    TokenCache,
    merge_scopes,
    parse_challenges,
    parse_token_response,
)
from e2e_images.registry.client import base_url
from e2e_images.registry.credentials import Credentials, load_docker_config


def test_parse_challenges() -> None:
    (ch,) = parse_challenges('Bearer realm="https://auth.example/token",'
                             'service="registry.example",scope="repository:a/b:pull,push",'
                             'error="insufficient_scope"')
    assert (ch.scheme, ch.realm, ch.service) == ("bearer", "https://auth.example/token",
                                                 "registry.example")
    assert ch.scope == "repository:a/b:pull,push" and ch.error == "insufficient_scope"
    both = parse_challenges('Basic realm="Registry Realm", Bearer realm="http://x/t"')
    assert [c.scheme for c in both] == ["basic", "bearer"]
    assert both[0].realm == "Registry Realm" and both[1].realm == "http://x/t"


def test_scopes_and_tokens() -> None:
    assert merge_scopes("repository:b:push", "repository:a:pull", "repository:b:pull") == (
        "repository:a:pull repository:b:pull,push")
    assert parse_token_response(b'{"access_token":"x","expires_in":10}', now=0).value == "x"
    assert parse_token_response(b'{"token":"y"}', now=0).expires_at == 60
    with pytest.raises(AuthError):
        parse_token_response(b'{"nothing":1}')
    cache = TokenCache()
    cache.put(("r", "s", "repository:a:pull"), Token("t", expires_at=1e12))
    assert cache.get(("r", "s", "repository:a:pull,push")) is None
    assert cache.get(("r", "s", "repository:a:pull")) is not None
    cache.put(("r", "s", "old"), Token("t", expires_at=0))
    assert cache.get(("r", "s", "old")) is None


def test_basic_challenge_sends_credentials_and_bearer_asks_per_scope() -> None:
    auth = Authenticator(Credentials("u", "p"))
    assert auth.on_challenge('Basic realm="r"', "repository:a:pull") is None
    assert auth.header("anything") == "Basic " + base64.b64encode(b"u:p").decode()
    anon = Authenticator()
    with pytest.raises(AuthError, match="no credentials"):
        anon.on_challenge('Basic realm="r"', "repository:a:pull")
    req = auth.on_challenge('Bearer realm="http://t/token",service="svc"', "repository:a:pull")
    assert req is not None and ("scope", "repository:a:pull") in req.params
    assert "Authorization" in req.headers and req.headers["Authorization"] not in repr(req)
    auth.on_token(req, b'{"token":"abc","expires_in":300}')
    assert auth.header("repository:a:pull") == "Bearer abc"
    assert auth.header("repository:a:pull,push") is None
    assert auth.needs_token("repository:a:pull,push") is not None


def test_docker_config_auths_helpers_and_store(tmp_path: Path) -> None:
    (tmp_path / "config.json").write_text(json.dumps({
        "auths": {
            "https://index.docker.io/v1/": {"auth": base64.b64encode(b"hub:pw1").decode()},
            "http://reg.example:5000": {"username": "u2", "password": "pw2"},
            "oauth.example": {"identitytoken": "idtok"},
        },
        "credHelpers": {"helped.example": "nosuchhelper-e2e"},
    }))
    cfg = load_docker_config({"DOCKER_CONFIG": str(tmp_path)})
    assert cfg.credentials_for("docker.io") == Credentials("hub", "pw1")
    assert cfg.credentials_for("reg.example:5000") == Credentials("u2", "pw2")
    assert cfg.credentials_for("oauth.example") == Credentials("", "", "idtok")
    assert cfg.credentials_for("elsewhere.example") is None
    with pytest.raises(AuthError, match="docker-credential-nosuchhelper-e2e is not on PATH"):
        cfg.credentials_for("helped.example")
    assert "pw1" not in repr(cfg) + repr(cfg.credentials_for("docker.io"))
    assert load_docker_config({"DOCKER_CONFIG": str(tmp_path / "none")}).path is None


def test_base_url() -> None:
    assert base_url("127.0.0.1:5000") == "http://127.0.0.1:5000"
    assert base_url("localhost:5000") == "http://localhost:5000"
    assert base_url("[::1]:5000") == "http://[::1]:5000"
    assert base_url("docker.io") == "https://registry-1.docker.io"
    assert base_url("registry.k8s.io") == "https://registry.k8s.io"
    assert base_url("reg.example:5000", insecure=True) == "http://reg.example:5000"
