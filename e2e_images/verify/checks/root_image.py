"""What an image is built on: its first layers are exactly its root image's (nanoserver of
its release for the Windows images), and never a forbidden one's (servercore).

Only digests are compared, so neither the image's nor the root's layers are downloaded.
"""

from __future__ import annotations

from dataclasses import dataclass

from e2e_images.verify.result import CheckResult, Finding
from e2e_images.verify.view import ImageView

__all__ = ["BaseImage", "RootImageCheck"]


@dataclass(frozen=True, slots=True)
class BaseImage:
    """An image below this one, by reference and layer digests (resolved by the caller)."""

    name: str
    layers: tuple[str, ...]
    os_version: str = ""

    def is_prefix_of(self, layers: tuple[str, ...]) -> bool:
        return bool(self.layers) and layers[:len(self.layers)] == self.layers


@dataclass(frozen=True, slots=True)
class RootImageCheck:
    root: BaseImage
    forbidden: tuple[BaseImage, ...] = ()

    def validate(self) -> None:
        if not self.root.layers:
            raise ValueError(f"root image {self.root.name} has no layers")

    def run(self, view: ImageView) -> CheckResult:
        layers = tuple(d.digest for d in view.image.manifest.layers)
        out: list[Finding] = []
        for bad in self.forbidden:
            if bad.is_prefix_of(layers):
                out.append(Finding("BASE-ROOT", view.platform, "layers",
                                   f"built on {bad.name}, which is not allowed"))
        if not self.root.is_prefix_of(layers):
            n = len(self.root.layers)
            out.append(Finding("BASE-ROOT", view.platform, f"layers[0:{n}]",
                               f"the first {n} layers are not {self.root.name}'s "
                               f"({', '.join(d[:19] for d in self.root.layers)})"))
        return CheckResult("root_image", view.subject, tuple(out))
