"""Which index entry containerd pulls for a host: its platform matchers, ported as behaviour.

Windows (process isolation): an entry without os.version matches every Windows host; an
os.version with fewer than three parts (`1809`, `ltsc2022`) matches none; major and minor must
equal the host's; a host below 20348 needs the exact build, a host at or above 20348 accepts
builds from the previous LTSC up to its own. Matches are ordered by os.version string, highest
first, ties in index order. Linux: os, arch and variant after normalisation (`arm` means
`arm/v7`, `arm64/v8` means `arm64`, `aarch64` means `arm64`). See windows-images.md.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from e2e_images.oci.models import Descriptor, ImagePlatform
from e2e_images.platforms import LTSC_BUILDS

__all__ = ["WindowsVersion", "host_compatible", "matches", "normalize", "parse_os_version",
           "select", "windows_host"]

LTSC2022 = 20348
_ARCH_ALIASES = {"x86_64": "amd64", "x86-64": "amd64", "aarch64": "arm64", "armhf": "arm",
                 "armel": "arm", "i386": "386"}
# (arch, variant as written) -> containerd's normal form
_VARIANT_ALIASES = {("arm", ""): "v7", ("arm", "7"): "v7", ("arm", "armv7"): "v7",
                    ("arm64", "v8"): "", ("arm64", "8"): "", ("amd64", "v1"): ""}


@dataclass(frozen=True, slots=True, order=True)
class WindowsVersion:
    major: int
    minor: int
    build: int


def parse_os_version(text: str) -> WindowsVersion | None:
    """`10.0.20348[.2966]`; None for anything with fewer than three numeric parts."""
    parts = text.split(".")
    if len(parts) < 3:
        return None
    try:
        return WindowsVersion(int(parts[0]), int(parts[1]), int(parts[2]))
    except ValueError:
        return None


def _previous_ltsc(host_build: int) -> int:
    """The oldest build a host at or above LTSC 2022 runs: the LTSC before it (or itself)."""
    older = [b for b in LTSC_BUILDS if LTSC2022 <= b < host_build]
    return max(older) if older else min(host_build, LTSC2022)


def host_compatible(host: WindowsVersion, ctr: WindowsVersion | None) -> bool:
    if ctr is None or (host.major, host.minor) != (ctr.major, ctr.minor):
        return False
    if host.build < LTSC2022:
        return host.build == ctr.build
    return _previous_ltsc(host.build) <= ctr.build <= host.build


def normalize(platform: ImagePlatform) -> ImagePlatform:
    arch = _ARCH_ALIASES.get(platform.architecture.lower(), platform.architecture.lower())
    variant = _VARIANT_ALIASES.get((arch, platform.variant.lower()), platform.variant.lower())
    return ImagePlatform(platform.os.lower(), arch, variant, platform.os_version,
                         platform.os_features)


def matches(host: ImagePlatform, entry: ImagePlatform) -> bool:
    h, e = normalize(host), normalize(entry)
    if (h.os, h.architecture, h.variant) != (e.os, e.architecture, e.variant):
        return False
    if h.os != "windows" or not e.os_version:
        return True
    host_version = parse_os_version(h.os_version)
    return host_version is not None and host_compatible(host_version,
                                                        parse_os_version(e.os_version))


def windows_host(build: int, arch: str = "amd64") -> ImagePlatform:
    """A Windows node of this build, as containerd describes itself."""
    return ImagePlatform("windows", arch, os_version=f"10.0.{build}")


def select(entries: Iterable[Descriptor], host: ImagePlatform) -> Descriptor | None:
    """The entry containerd would pull on `host`, or None ("no match for platform")."""
    candidates: Sequence[Descriptor] = [
        d for d in entries
        if d.platform is not None and not d.is_attestation and matches(host, d.platform)]
    if not candidates:
        return None
    if normalize(host).os == "windows":
        # sorted() keeps index order among equal keys, reverse=True included.
        candidates = sorted(candidates, key=_os_version, reverse=True)
    return candidates[0]


def _os_version(d: Descriptor) -> str:
    return d.platform.os_version if d.platform is not None else ""
