"""e2e-images: build and verify multi-platform container test images from one Linux host."""

from __future__ import annotations

__version__ = "0.1.0"
