"""Hermetic stand-ins for everything upstream: busybox, Windows bases, downloadable artifacts.

The suite never pulls from Docker Hub, MCR or the web. Instead, code here generates a
deterministic stand-in set (same digests every run) and seeds it into a local registry under
`<mirror>/<upstream host>/<path>:<tag>`; `registry.mirrors` rewrites references to match.
"""

from __future__ import annotations

from e2e_images.errors import E2EImagesError

__all__ = ["StandinError"]


class StandinError(E2EImagesError):
    """A stand-in could not be produced (e.g. the busybox binaries could not be fetched)."""
