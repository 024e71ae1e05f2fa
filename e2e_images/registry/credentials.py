"""Registry credentials from a Docker `config.json`, the way the docker CLI finds them.

Order: a `credHelpers` entry for the registry, else an `auths` entry, else the `credsStore`
helper. Helpers are `docker-credential-<name>` programs on PATH, asked with `get` and the
server URL on stdin. Secrets live only in `Credentials.secret`/`identity_token`, which neither
repr nor any error message shows.
"""

from __future__ import annotations

import base64
import binascii
import json
import os
import shutil
import subprocess
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from e2e_images.errors import AuthError
from e2e_images.registry.reference import DOCKER_HUB, canonical_host, host_of

__all__ = [
    "ANONYMOUS",
    "Credentials",
    "DockerConfig",
    "credentials_for",
    "load_docker_config",
    "run_helper",
    "server_url",
]

DOCKER_HUB_SERVER = "https://index.docker.io/v1/"
_HELPER_TIMEOUT = 30


@dataclass(frozen=True, slots=True)
class Credentials:
    """A username and secret (password or token), or an identity (OAuth2 refresh) token."""

    username: str
    secret: str = field(default="", repr=False)
    identity_token: str = field(default="", repr=False)

    @property
    def is_anonymous(self) -> bool:
        return not (self.username or self.secret or self.identity_token)

    def __repr__(self) -> str:  # dataclass repr=False fields are hidden; say so explicitly
        return f"Credentials(username={self.username!r}, secret=<hidden>)"

    __str__ = __repr__


# Pass as a client's credentials to never look any up (None means: ask the Docker config).
ANONYMOUS = Credentials("")


def server_url(registry: str) -> str:
    """The key docker uses for a registry: Docker Hub's legacy URL, else the bare host."""
    return DOCKER_HUB_SERVER if canonical_host(registry) == DOCKER_HUB else registry


def _host_of(key: str) -> str:
    """`https://host:5000/v1/` -> `host:5000`, so `auths` keys match however they were written."""
    return canonical_host(host_of(key.split("://", 1)[-1]))


@dataclass(frozen=True, slots=True)
class DockerConfig:
    """The parts of config.json that locate credentials (never the secrets themselves)."""

    path: Path | None
    auths: Mapping[str, Mapping[str, Any]] = field(default_factory=dict, repr=False)
    cred_helpers: Mapping[str, str] = field(default_factory=dict)
    creds_store: str = ""

    def credentials_for(self, registry: str) -> Credentials | None:
        host = _host_of(registry)
        helper = next((h for k, h in self.cred_helpers.items() if _host_of(k) == host), "")
        if helper:
            return run_helper(helper, server_url(host))
        entry = next((v for k, v in self.auths.items() if _host_of(k) == host), None)
        if entry:
            creds = _from_auth_entry(entry, self.path)
            if creds is not None:
                return creds
        if self.creds_store:
            return run_helper(self.creds_store, server_url(host))
        return None


def _from_auth_entry(entry: Mapping[str, Any], path: Path | None) -> Credentials | None:
    identity = str(entry.get("identitytoken") or "")
    username = str(entry.get("username") or "")
    password = str(entry.get("password") or "")
    encoded = entry.get("auth")
    if encoded:
        try:
            username, sep, password = base64.b64decode(str(encoded)).decode().partition(":")
        except (binascii.Error, UnicodeDecodeError):
            sep = ""
        if not sep:
            raise AuthError("an `auths` entry has an `auth` value that is not base64 user:pass",
                            path=str(path) if path else None)
    if not (username or password or identity):
        return None
    return Credentials(username, password, identity)


def load_docker_config(env: Mapping[str, str] | None = None) -> DockerConfig:
    """config.json from $DOCKER_CONFIG, else ~/.docker; a missing file means no credentials."""
    env = os.environ if env is None else env
    base = Path(env["DOCKER_CONFIG"]) if env.get("DOCKER_CONFIG") else Path.home() / ".docker"
    path = base / "config.json"
    try:
        obj = json.loads(path.read_bytes())
    except FileNotFoundError:
        return DockerConfig(None)
    except ValueError:
        raise AuthError("docker config is not valid JSON", path=str(path)) from None
    if not isinstance(obj, dict):
        raise AuthError("docker config is not a JSON object", path=str(path))
    auths = {str(k): v for k, v in (obj.get("auths") or {}).items() if isinstance(v, dict)}
    helpers = {str(k): str(v) for k, v in (obj.get("credHelpers") or {}).items() if v}
    return DockerConfig(path, auths, helpers, str(obj.get("credsStore") or ""))


def credentials_for(registry: str, env: Mapping[str, str] | None = None) -> Credentials | None:
    return load_docker_config(env).credentials_for(registry)


def run_helper(name: str, server: str) -> Credentials | None:
    """`docker-credential-<name> get`; None when the helper has nothing for this server."""
    program = f"docker-credential-{name}"
    exe = shutil.which(program)
    if exe is None:
        raise AuthError(f"credential helper {program} is not on PATH",
                        hint=f"install {program} or remove it from the docker config")
    try:
        proc = subprocess.run([exe, "get"], input=server.encode(), capture_output=True,
                              timeout=_HELPER_TIMEOUT, check=False)
    except subprocess.TimeoutExpired:
        raise AuthError(f"credential helper {program} did not answer in "
                        f"{_HELPER_TIMEOUT}s") from None
    if proc.returncode != 0:
        # The helper's output is not shown: it is not ours to trust not to echo a secret.
        if b"credentials not found" in proc.stdout.lower() + proc.stderr.lower():
            return None
        raise AuthError(f"credential helper {program} failed for {server} "
                        f"(exit status {proc.returncode})")
    try:
        obj = json.loads(proc.stdout)
        username, secret = str(obj.get("Username") or ""), str(obj.get("Secret") or "")
    except (ValueError, AttributeError):
        raise AuthError(f"credential helper {program} printed something that is not "
                        "the expected JSON") from None
    if not secret:
        return None
    if username == "<token>":  # docker's marker for an identity token
        return Credentials("", "", secret)
    return Credentials(username, secret)
