"""Image references: `[registry/]repository[:tag][@digest]`, normalised as Docker does.

`busybox` means `docker.io/library/busybox:latest`; a first component with a dot, a colon or
`localhost` is a registry. The repository keeps nested paths (`e2e-test-images/volume/nfs`).
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from e2e_images.errors import E2EImagesError
from e2e_images.oci.digest import is_digest
from e2e_images.refgrammar import is_repository_name, is_tag

__all__ = ["DOCKER_HUB", "DOCKER_HUB_ALIASES", "Reference", "ReferenceError", "canonical_host",
           "host_of", "is_registry_host", "parse_reference"]

DOCKER_HUB = "docker.io"
# Other names clients and config files use for Docker Hub; all mean `docker.io`.
DOCKER_HUB_ALIASES = ("index.docker.io", "registry-1.docker.io")


class ReferenceError(E2EImagesError):
    exit_code = 2


@dataclass(frozen=True, slots=True)
class Reference:
    registry: str
    repository: str
    tag: str = ""
    digest: str = ""

    @property
    def ref(self) -> str:
        """What to ask the manifests endpoint for: the digest if pinned, else the tag."""
        return self.digest or self.tag or "latest"

    @property
    def name(self) -> str:
        return f"{self.registry}/{self.repository}"

    def with_digest(self, digest: str) -> Reference:
        return replace(self, digest=digest)

    def __str__(self) -> str:
        text = self.name
        if self.tag:
            text += f":{self.tag}"
        if self.digest:
            text += f"@{self.digest}"
        return text


def is_registry_host(component: str) -> bool:
    """Docker's rule for a reference's first component: a dot, a port, or `localhost`."""
    return "." in component or ":" in component or component == "localhost"


def canonical_host(host: str) -> str:
    """`docker.io` for any Docker Hub alias, else the host unchanged."""
    return DOCKER_HUB if host in DOCKER_HUB_ALIASES else host


def host_of(prefix: str) -> str:
    """The registry host of a `host[:port][/namespace]` prefix."""
    return prefix.split("/", 1)[0]


def parse_reference(text: str) -> Reference:
    original = text
    text = text.strip()
    digest = ""
    if "@" in text:
        text, digest = text.split("@", 1)
        if not is_digest(digest):
            raise ReferenceError(f"reference {original!r}: {digest!r} is not a digest")
    tag = ""
    last_slash = text.rfind("/")
    colon = text.rfind(":")
    if colon > last_slash:
        text, tag = text[:colon], text[colon + 1 :]
        if not is_tag(tag):
            raise ReferenceError(f"reference {original!r}: {tag!r} is not a valid tag")
    parts = text.split("/")
    if len(parts) > 1 and is_registry_host(parts[0]):
        registry, path = canonical_host(parts[0]), parts[1:]
    else:
        registry, path = DOCKER_HUB, parts
    if registry == DOCKER_HUB and len(path) == 1:
        path = ["library", *path]
    if not path or not is_repository_name("/".join(path)):
        raise ReferenceError(f"reference {original!r}: invalid repository name")
    if not tag and not digest:
        tag = "latest"
    return Reference(registry, "/".join(path), tag, digest)
