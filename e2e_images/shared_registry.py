"""A hermetic registry shared by builds in other processes (or on other machines).

`e2e-images registry serve --standins` seeds the stand-ins into the registry it runs, serves
the artifact mirror beside it, and writes two files into the storage directory so a build
elsewhere needs nothing else: `mirrors.yaml` (upstream registry -> the seeded mirror, for
`--mirrors`) and `artifacts.yaml` (download URL prefix -> the artifact mirror, with sha256
pins, for `--artifacts`). Each build keeps its own cache and HOME; the registry, with its
fingerprint records, is the only shared state.
"""

from __future__ import annotations

import socket
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import yaml

from e2e_images.atomic import write_atomic_bytes
from e2e_images.build.artifact_map import write_artifacts_file
from e2e_images.hermetic.artifacts import Artifact, ArtifactMirror, write_standin_artifacts
from e2e_images.hermetic.standins import UPSTREAM_HOSTS, seed_host

__all__ = ["ARTIFACTS_FILE", "MIRRORS_FILE", "SharedHermetic", "artifact_entries",
           "mirrors_document", "serve_hermetic"]

MIRRORS_FILE = "mirrors.yaml"
ARTIFACTS_FILE = "artifacts.yaml"
_WILDCARDS = ("0.0.0.0", "::", "")


@dataclass(frozen=True, slots=True)
class SharedHermetic:
    registry: str  # host:port other processes push to and pull from
    mirrors_file: Path
    artifacts_file: Path
    artifact_host: str


def advertised(address: str) -> str:
    """The name clients should use: a wildcard bind is reached by this machine's name."""
    return socket.getfqdn() if address in _WILDCARDS else address


def mirrors_document(registry: str) -> dict[str, str]:
    """`--mirrors` content: each upstream host -> `<registry>/<upstream host>`."""
    return {host: f"{registry}/{host}" for host in UPSTREAM_HOSTS}


def artifact_entries(artifacts: list[Artifact], mirror_host: str
                     ) -> tuple[list[dict[str, str]], dict[str, str]]:
    """`--artifacts` content: one prefix per download site, mirrored by path, and every URL
    pinned to its sha256."""
    prefixes: dict[str, str] = {}
    for a in artifacts:
        parts = urlsplit(a.url)
        prefixes[f"{parts.scheme}://{parts.netloc}/"] = (
            f"http://{mirror_host}/{parts.netloc.lower()}/")
    entries = [{"prefix": p, "mirror": m} for p, m in sorted(prefixes.items())]
    return entries, {a.url: a.sha256 for a in sorted(artifacts, key=lambda a: a.url)}


@contextmanager
def serve_hermetic(registry_port: int, directory: Path, *, address: str = "127.0.0.1",
                   artifact_port: int = 0) -> Iterator[SharedHermetic]:
    """Seed the stand-ins into the running registry listening on `address:registry_port`,
    serve the artifact mirror from `directory/artifacts` on the same address, and write the
    two files; the mirror stops on exit."""
    local = "127.0.0.1" if address in _WILDCARDS else address
    seed_host(f"{local}:{registry_port}")
    write_standin_artifacts(directory / "artifacts")
    with ArtifactMirror(directory / "artifacts", address=address, port=artifact_port) as mirror:
        name = advertised(address)
        host = f"{name}:{mirror.host.rsplit(':', 1)[1]}"
        public = f"{name}:{registry_port}"
        mirrors_path, artifacts_path = directory / MIRRORS_FILE, directory / ARTIFACTS_FILE
        write_atomic_bytes(mirrors_path, yaml.safe_dump(mirrors_document(public)).encode())
        write_artifacts_file(artifacts_path, *artifact_entries(mirror.artifacts, host))
        yield SharedHermetic(public, mirrors_path, artifacts_path, host)
