"""Scenario (d): a small Windows image on a stand-in nanoserver with a large base layer.

The base (the ltsc2022 nanoserver stand-in plus `filler_bytes` of incompressible filler,
streamed to a file) is pushed to the registry's own port, untimed and uncounted. A one-image
catalog in a temp dir (`FROM $BASEIMAGE`, `COPY` one file) is then built by our builder
through the counting proxy; what it pulls, against the base's bytes, is the figure.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from e2e_images.hermetic.images import BlobStore
from e2e_images.hermetic.windows_base import WINDOWS_BASES, build_windows_base
from e2e_images.plan import Filters
from e2e_images.registry.client import RegistryClient
from e2e_images.registry.write import write_index
from e2e_images.workspace import load_plan

__all__ = ["BASE_REPOSITORY", "WindowsBaseResult", "run_windows_base"]

BASE_REPOSITORY = "bench/nanoserver-filled"
RELEASE = "ltsc2022"


@dataclass(slots=True)
class WindowsBaseResult:
    figure: Any  # build.Figure
    base_bytes: int  # config + layers, as stored in the registry
    setup_seconds: float


def _push_base(host: str, filler_bytes: int, workdir: Path) -> int:
    base = next(b for b in WINDOWS_BASES if b.release == RELEASE)
    store = BlobStore()
    index, image = build_windows_base(store, "nanoserver", base, filler_bytes=filler_bytes,
                                      workdir=workdir)
    write_index(RegistryClient(host), BASE_REPOSITORY, index, [image], RELEASE)
    for path in workdir.glob("*.tar.gz"):  # the big layer is in the registry now
        path.unlink()
    return image.manifest.config.size + sum(layer.size for layer in image.manifest.layers)


def _catalog(root: Path, base_ref: str) -> Path:
    image = root / "tiny-windows"
    image.mkdir(parents=True)
    (image / "VERSION").write_text("1.0\n")
    (image / "BASEIMAGE").write_text(f"windows/amd64/{RELEASE}={base_ref}\n")
    (image / "Dockerfile").write_text(
        "ARG BASEIMAGE\nFROM $BASEIMAGE\nCOPY hello.txt /hello.txt\n"
        'ENTRYPOINT ["cmd.exe", "/c", "type", "C:\\\\hello.txt"]\n')
    (image / "hello.txt").write_text("hello from a Windows image built on Linux\r\n")
    return root


def run_windows_base(work: Path, *, direct_host: str, proxy_host: str, filler_bytes: int,
                     log: Callable[[str], None], ours: Callable[[Any, Path], Any]
                     ) -> WindowsBaseResult:
    started = time.monotonic()
    base_bytes = _push_base(direct_host, filler_bytes, work / "base")
    setup = time.monotonic() - started
    log(f"(d) base pushed: {base_bytes:,} bytes in {setup:.1f} s")
    catalog = _catalog(work / "catalog", f"{proxy_host}/{BASE_REPOSITORY}:{RELEASE}")
    plan = load_plan(catalog, f"{proxy_host}/bench-d", Filters())
    cache = work / "cache"
    cache.mkdir(parents=True)
    figure = ours(plan, cache)
    log(f"(d) {figure.seconds:.1f} s, pulled {figure.pulled:,} bytes")
    return WindowsBaseResult(figure, base_bytes, setup)
