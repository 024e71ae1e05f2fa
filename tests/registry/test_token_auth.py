"""Token auth against docker-registry configured with `auth: token:` and a JWT-issuing server."""

from __future__ import annotations

import json
import logging
import os
import shutil
import stat
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from regtest_images import PLATFORMS, image_parts, push_image
from regtest_tokens import ISSUER, SERVICE, TokenServer

from e2e_images.errors import AuthError, E2EImagesError
from e2e_images.registry.client import RegistryClient
from e2e_images.registry.credentials import ANONYMOUS, Credentials
from e2e_images.registry.embedded import EmbeddedRegistry, TokenAuth

USER, PASSWORD, REFRESH = "pusher", "s3cret-Pa55word-xyz", "refresh-tok-0123456789abcdef"


@pytest.fixture(scope="module")
def tokens(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TokenServer]:
    if shutil.which("openssl") is None:
        pytest.skip("openssl is not installed (apt-get install openssl)")
    server = TokenServer(tmp_path_factory.mktemp("tokens"), username=USER, password=PASSWORD,
                         refresh_token=REFRESH).start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def auth_registry(registry_binary: str, tokens: TokenServer,
                  tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmbeddedRegistry]:
    auth = TokenAuth(tokens.realm, SERVICE, ISSUER, str(tokens.cert))
    with EmbeddedRegistry(tmp_path_factory.mktemp("auth-registry"), auth=auth,
                          binary=registry_binary) as reg:
        yield reg


def _helper_config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, registry: str,
                   username: str, secret: str) -> None:
    """A `docker-credential-test` helper on PATH and a config.json that names it."""
    bindir = tmp_path / "bin"
    bindir.mkdir()
    helper = bindir / "docker-credential-test"
    answer = json.dumps({"ServerURL": registry, "Username": username, "Secret": secret})
    helper.write_text(
        f"#!{sys.executable}\n"
        "import sys\n"
        "assert sys.argv[1:] == ['get'], sys.argv\n"
        f"server = sys.stdin.read().strip()\n"
        f"if server != {registry!r}:\n"
        "    print('credentials not found in native keychain'); sys.exit(1)\n"
        f"print({answer!r})\n")
    helper.chmod(helper.stat().st_mode | stat.S_IXUSR)
    config_dir = tmp_path / "docker"
    config_dir.mkdir()
    (config_dir / "config.json").write_text(json.dumps({"credHelpers": {registry: "test"}}))
    monkeypatch.setenv("DOCKER_CONFIG", str(config_dir))
    monkeypatch.setenv("PATH", f"{bindir}{os.pathsep}{os.environ['PATH']}")


def test_anonymous_pull_then_helper_push_with_tokens_per_scope(
        auth_registry: EmbeddedRegistry, tokens: TokenServer, tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    anon = RegistryClient(auth_registry.host, credentials=ANONYMOUS)
    assert anon.head_manifest("team/app", "v1") is None  # pull scope granted, nothing there
    assert [i.scopes for i in tokens.issued] == [("repository:team/app:pull",)]
    assert tokens.issued[0].user == ""
    with pytest.raises(AuthError) as exc:  # anonymous tokens never carry push
        push_image(anon, "team/app", PLATFORMS[0], "anon")
    assert exc.value.status == 401

    _helper_config(tmp_path, monkeypatch, auth_registry.host, USER, PASSWORD)
    pusher = RegistryClient(auth_registry.host)  # credentials from the Docker config
    n = len(tokens.issued)
    manifest = push_image(pusher, "team/app", PLATFORMS[0], "auth", ref="v1")
    push_scopes = {i.scopes for i in tokens.issued[n:]}
    assert push_scopes == {("repository:team/app:pull,push",)}
    assert {i.user for i in tokens.issued[n:]} == {USER}
    # One token per scope, cached: the many pushes above needed a single token fetch.
    assert len(tokens.issued) - n == 1

    got = anon.get_manifest("team/app", "v1")
    assert got.raw == manifest.raw
    # The anonymous client holds its pull token and the (pull-only) one its push attempt got.
    anon_keys = {k[2] for k in anon.auth.cache.entries()}
    assert anon_keys == {"repository:team/app:pull", "repository:team/app:pull,push"}
    # Another repository means another scope and a new token, never the old one.
    n = len(tokens.issued)
    assert anon.head_manifest("team/other", "v1") is None
    assert [i.scopes for i in tokens.issued[n:]] == [("repository:team/other:pull",)]
    assert tokens.issued[-1].token != tokens.issued[0].token
    assert {k[2] for k in anon.auth.cache.entries()} == anon_keys | {"repository:team/other:pull"}


def test_identity_token_uses_the_oauth2_refresh_flow(
        auth_registry: EmbeddedRegistry, tokens: TokenServer, tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    _helper_config(tmp_path, monkeypatch, auth_registry.host, "<token>", REFRESH)
    client = RegistryClient(auth_registry.host)
    n = len(tokens.issued)
    manifest, blobs = image_parts(PLATFORMS[1], "oauth")
    for data in blobs.values():
        client.push_blob("team/oauth", data)
    client.put_manifest("team/oauth", "v1", manifest.raw, manifest.media_type)
    issued = tokens.issued[n:]
    assert {(i.method, i.scopes) for i in issued} == {
        ("POST", ("repository:team/oauth:pull,push",))}


def test_cross_repo_mount_asks_for_both_scopes(auth_registry: EmbeddedRegistry,
                                               tokens: TokenServer) -> None:
    client = RegistryClient(auth_registry.host, credentials=Credentials(USER, PASSWORD))
    digest = client.push_blob("team/base", os.urandom(1000))
    n = len(tokens.issued)
    assert client.mount_blob("team/derived", digest, "team/base")
    assert tokens.issued[n].scopes == ("repository:team/base:pull",
                                       "repository:team/derived:pull,push")


def test_no_secret_in_errors_or_logs(auth_registry: EmbeddedRegistry, tokens: TokenServer,
                                     tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                     caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    good = RegistryClient(auth_registry.host, credentials=Credentials(USER, PASSWORD))
    push_image(good, "team/secret", PLATFORMS[2], "s", ref="v1")
    issued = [i.token for i in tokens.issued]
    wrong = "Wr0ng-" + PASSWORD
    bad = RegistryClient(auth_registry.host, credentials=Credentials(USER, wrong))
    errors: list[E2EImagesError] = []
    with pytest.raises(AuthError) as exc:
        bad.get_manifest("team/secret", "v1")
    errors.append(exc.value)
    assert "refused the credentials" in str(exc.value)
    _helper_config(tmp_path, monkeypatch, auth_registry.host, "<token>", "not-" + REFRESH)
    with pytest.raises(AuthError) as exc:
        RegistryClient(auth_registry.host).get_manifest("team/secret", "v1")
    errors.append(exc.value)
    texts = [str(e) + repr(e) + repr(e.args) + str(e.hint) for e in errors]
    texts += [r.getMessage() + repr(r.args) for r in caplog.records]
    texts += [repr(good.auth.credentials), repr(good.auth.cache.entries())]
    secrets = [PASSWORD, wrong, REFRESH, *issued]
    assert caplog.records  # the client did log, at debug
    for text in texts:
        for secret in secrets:
            assert secret not in text
    assert "<hidden>" in repr(Credentials(USER, PASSWORD))
