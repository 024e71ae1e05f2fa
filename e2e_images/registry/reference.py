"""Image references: `[registry/]repository[:tag][@digest]`, normalised as Docker does.

`busybox` means `docker.io/library/busybox:latest`; a first component with a dot, a colon or
`localhost` is a registry. The repository keeps nested paths (`e2e-test-images/volume/nfs`).
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from e2e_images.errors import E2EImagesError
from e2e_images.oci.digest import is_digest
from e2e_images.refgrammar import is_repository_name, is_tag

__all__ = ["DOCKER_HUB", "Reference", "ReferenceError", "parse_reference"]

DOCKER_HUB = "docker.io"


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

    def with_tag(self, tag: str) -> Reference:
        return replace(self, tag=tag, digest="")

    def with_digest(self, digest: str) -> Reference:
        return replace(self, digest=digest)

    def __str__(self) -> str:
        text = self.name
        if self.tag:
            text += f":{self.tag}"
        if self.digest:
            text += f"@{self.digest}"
        return text


def _is_registry(component: str) -> bool:
    return "." in component or ":" in component or component == "localhost"


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
    if len(parts) > 1 and _is_registry(parts[0]):
        registry, path = parts[0], parts[1:]
    else:
        registry, path = DOCKER_HUB, parts
    if registry in ("index.docker.io", "registry-1.docker.io"):
        registry = DOCKER_HUB
    if registry == DOCKER_HUB and len(path) == 1:
        path = ["library", *path]
    if not path or not is_repository_name("/".join(path)):
        raise ReferenceError(f"reference {original!r}: invalid repository name")
    if not tag and not digest:
        tag = "latest"
    return Reference(registry, "/".join(path), tag, digest)
