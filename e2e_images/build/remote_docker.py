"""Legacy mode: Windows targets built on remote Windows Docker daemons, one per release.

Before buildx, upstream built each Windows release on a Windows node reached through
`REMOTE_DOCKER_URL_<osversion>` (TLS certificates in `$DOCKER_CERT_BASE_PATH/.docker-<osver>/`,
default `$HOME`). A release with no URL has no builder: its targets are skipped and left out of
the manifest list, while the other releases and every Linux arch still build.
"""

from __future__ import annotations

import os
import re
import subprocess
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from e2e_images.errors import BuildError
from e2e_images.plan import BuildTarget

__all__ = ["RemoteDaemon", "build_remote", "docker_build_command", "docker_push_command",
           "remote_daemons"]

_PREFIX = "REMOTE_DOCKER_URL_"
_DIGEST = re.compile(r"digest: (sha256:[0-9a-f]{64})")


@dataclass(frozen=True, slots=True)
class RemoteDaemon:
    release: str
    url: str
    cert_dir: Path

    def docker_args(self) -> list[str]:
        args = ["--host", self.url]
        if self.url.startswith("tcp://"):  # TLS, as upstream's daemons are set up
            args += ["--tlsverify", "--tlscacert", str(self.cert_dir / "ca.pem"),
                     "--tlscert", str(self.cert_dir / "cert.pem"),
                     "--tlskey", str(self.cert_dir / "key.pem")]
        return args


def remote_daemons(environ: Mapping[str, str] | None = None) -> dict[str, RemoteDaemon]:
    """Release token -> daemon, from REMOTE_DOCKER_URL_<osver> variables that are set."""
    env = os.environ if environ is None else environ
    base = Path(env.get("DOCKER_CERT_BASE_PATH") or env.get("HOME") or "~").expanduser()
    return {key[len(_PREFIX):]: RemoteDaemon(key[len(_PREFIX):], url,
                                             base / f".docker-{key[len(_PREFIX):]}")
            for key, url in env.items() if key.startswith(_PREFIX) and url}


def docker_build_command(daemon: RemoteDaemon, target: BuildTarget, dockerfile: str,
                         context: str) -> list[str]:
    cmd = ["docker", *daemon.docker_args(), "build", "--pull", "-t", target.tag,
           "-f", dockerfile]
    for k, v in target.build_args.items():
        cmd += ["--build-arg", f"{k}={v}"]
    for k, v in target.labels.items():
        cmd += ["--label", f"{k}={v}"]
    return [*cmd, context]


def docker_push_command(daemon: RemoteDaemon, tag: str) -> list[str]:
    return ["docker", *daemon.docker_args(), "push", tag]


def _run(cmd: list[str], what: str) -> str:
    result = subprocess.run(cmd, capture_output=True, text=True)
    if result.returncode != 0:
        tail = " | ".join((result.stderr or result.stdout).strip().splitlines()[-5:])
        raise BuildError(f"{what} failed: {tail}")
    return result.stdout


def build_remote(daemon: RemoteDaemon, target: BuildTarget, dockerfile: Path,
                 context: Path) -> str:
    """Build on the daemon and push from it; returns the pushed manifest digest."""
    _run(docker_build_command(daemon, target, str(dockerfile), str(context)),
         f"docker build of {target.id} on {daemon.url}")
    out = _run(docker_push_command(daemon, target.tag), f"docker push of {target.tag}")
    found = _DIGEST.search(out)
    if not found:
        raise BuildError(f"docker push of {target.tag} printed no digest")
    return found.group(1)
