"""The driver every image check reads through: config, manifest and one shared LayerFS.

Opening the filesystem view streams layers, so it happens once per image, on first use. In
fast mode the view holds only the layers the build added (base layers are never read); checks
then report base-layer paths as unverified instead of guessing.
"""

from __future__ import annotations

from typing import Protocol

from e2e_images.oci.fs import LayerFS
from e2e_images.oci.image import Image, Layer
from e2e_images.oci.models import ConfigFile
from e2e_images.verify.result import CheckResult

__all__ = ["ImageCheck", "ImageView"]


class ImageCheck(Protocol):
    """What every check module's schema dataclass is: checkable itself, runnable on a view."""

    def validate(self) -> None: ...

    def run(self, view: ImageView) -> CheckResult: ...


class ImageView:
    def __init__(self, image: Image, *, base_layers: int = 0, fast: bool = False) -> None:
        count = len(image.manifest.layers)
        self.image = image
        self.base_layers = max(0, min(base_layers, count))
        self.fast = fast
        self._fs: LayerFS | None = None

    @property
    def config(self) -> ConfigFile:
        return self.image.config

    @property
    def platform(self) -> str:
        return str(self.image.platform)

    @property
    def is_windows(self) -> bool:
        return self.image.platform.os == "windows"

    @property
    def subject(self) -> str:
        return self.image.digest

    def added_layers(self) -> tuple[Layer, ...]:
        return self.image.layers()[self.base_layers:]

    @property
    def complete(self) -> bool:
        """True when the view holds every layer (a missing path is really missing)."""
        return not self.fast or self.base_layers == 0

    @property
    def fs_start(self) -> int:
        """The first layer `fs` holds: all of them when complete, else the added ones."""
        return 0 if self.complete else self.base_layers

    @property
    def fs(self) -> LayerFS:
        if self._fs is None:
            start = self.fs_start
            self._fs = LayerFS(self.image.layers()[start:], windows=self.is_windows,
                               diff_ids=self.config.diff_ids[start:])
        return self._fs
