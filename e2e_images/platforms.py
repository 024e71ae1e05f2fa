"""Target platforms: the one place that parses and formats `os/arch[/variant|/release]`.

A BASEIMAGE key names a *target*: `linux/arm64`, `windows/amd64/ltsc2022`, and also
`linux/amd64/1809` (a Linux image built once per Windows release, as the servercore cache is).
The third part is a release token when it names a Windows release, a variant when it looks like
one (`v7`), and an error otherwise, so a typo never yields an empty os.version.
"""

from __future__ import annotations

import platform as _host
import re
from dataclasses import dataclass

from e2e_images.errors import E2EImagesError
from e2e_images.oci.models import ImagePlatform

__all__ = [
    "FULL_OS_VERSION",
    "LINUX_ARCHES",
    "LTSC_BUILDS",
    "WINDOWS_RELEASES",
    "Platform",
    "PlatformError",
    "WindowsRelease",
    "build_platform",
    "default_linux_platforms",
    "image_platform",
    "parse_platform",
    "windows_release",
]


class PlatformError(E2EImagesError):
    """A platform string or release token that names nothing we can build."""

    exit_code = 2


@dataclass(frozen=True, slots=True)
class WindowsRelease:
    token: str
    build: int
    name: str
    ltsc: bool
    current: bool  # in the set upstream still publishes

    @property
    def os_version_prefix(self) -> str:
        return f"10.0.{self.build}"


_RELEASES = (
    WindowsRelease("1809", 17763, "Windows Server 2019", True, True),
    WindowsRelease("ltsc2019", 17763, "Windows Server 2019", True, True),
    WindowsRelease("1903", 18362, "Windows Server, version 1903", False, False),
    WindowsRelease("1909", 18363, "Windows Server, version 1909", False, False),
    WindowsRelease("2004", 19041, "Windows Server, version 2004", False, False),
    WindowsRelease("20H2", 19042, "Windows Server, version 20H2", False, False),
    WindowsRelease("ltsc2022", 20348, "Windows Server 2022", True, True),
    WindowsRelease("ltsc2025", 26100, "Windows Server 2025", True, True),
)
WINDOWS_RELEASES: dict[str, WindowsRelease] = {r.token: r for r in _RELEASES}
LTSC_BUILDS: tuple[int, ...] = tuple(sorted({r.build for r in _RELEASES if r.ltsc}))
LINUX_ARCHES: tuple[str, ...] = ("amd64", "arm", "arm64", "ppc64le", "s390x")
# A Windows image's os.version as a client matches it: `10.0.<build>.<revision>`.
FULL_OS_VERSION = re.compile(r"^10\.0\.\d+\.\d+$")

# Go arch name -> the name qemu and uname use, for QEMUARCH substitution and binfmt.
_QEMU_ARCH = {"amd64": "x86_64", "arm": "arm", "arm64": "aarch64", "ppc64le": "ppc64le",
              "s390x": "s390x", "386": "i386"}
_UNAME_TO_GO = {v: k for k, v in _QEMU_ARCH.items()} | {"armv7l": "arm", "i686": "386"}
_DEFAULT_VARIANT = {"arm": "v7"}
_VARIANT_RE = re.compile(r"v\d+$")
_PART_RE = re.compile(r"[A-Za-z0-9._-]+$")


def windows_release(token: str) -> WindowsRelease:
    try:
        return WINDOWS_RELEASES[token]
    except KeyError:
        known = ", ".join(WINDOWS_RELEASES)
        raise PlatformError(f"unknown Windows release {token!r} (known: {known})") from None


@dataclass(frozen=True, slots=True)
class Platform:
    """A build target platform; `release` is the Windows release token, if the key had one."""

    os: str
    arch: str
    variant: str = ""
    release: str = ""

    def __post_init__(self) -> None:
        if self.release:
            windows_release(self.release)  # validates

    @property
    def is_windows(self) -> bool:
        return self.os == "windows"

    @property
    def per_release_linux(self) -> bool:
        """A Linux target keyed per Windows release (`linux/amd64/1809`, as the servercore
        cache is): built from, and for, that release's Windows images, so it belongs to the
        Windows build, reads its base as `windows/<arch>/<release>`, and is a prerequisite of
        that release's Windows targets."""
        return not self.is_windows and bool(self.release)

    @property
    def base_platform(self) -> Platform:
        """The platform its base image is read for."""
        return Platform("windows", self.arch, release=self.release) \
            if self.per_release_linux else self

    @property
    def os_version(self) -> str | None:
        """`10.0.<build>` for a Windows target; None for Linux, even with a release token."""
        if self.is_windows and self.release:
            return windows_release(self.release).os_version_prefix
        return None

    @property
    def oci_variant(self) -> str:
        """The variant written into configs and index entries (linux/arm means arm/v7)."""
        return self.variant or _DEFAULT_VARIANT.get(self.arch, "")

    @property
    def key(self) -> str:
        """As written in BASEIMAGE: `os/arch[/variant][/release]`."""
        return "/".join(p for p in (self.os, self.arch, self.variant, self.release) if p)

    @property
    def tag_suffix(self) -> str:
        """Per-platform tag suffix, upstream style: `windows-amd64-ltsc2022`."""
        return "-".join(p for p in (self.os, self.arch, self.variant, self.release) if p)

    @property
    def qemu_arch(self) -> str:
        return _QEMU_ARCH.get(self.arch, self.arch)

    @property
    def oci_platform(self) -> str:
        """`os/arch[/variant]` as buildah and skopeo take it."""
        return "/".join(p for p in (self.os, self.arch, self.oci_variant) if p)

    def go_env(self) -> dict[str, str]:
        env = {"CGO_ENABLED": "0", "GOOS": self.os, "GOARCH": self.arch}
        if self.arch == "arm":
            env["GOARM"] = (self.oci_variant or "v7").removeprefix("v")
        return env

    def target_args(self) -> dict[str, str]:
        """The predefined TARGET* build args, as BuildKit derives them."""
        return {
            "TARGETPLATFORM": self.oci_platform,
            "TARGETOS": self.os,
            "TARGETARCH": self.arch,
            "TARGETVARIANT": self.oci_variant,
        }

    def __str__(self) -> str:
        return self.key


def parse_platform(text: str) -> Platform:
    """Parse `os/arch`, `os/arch/variant` (`linux/arm/v7`) or `os/arch/release`."""
    parts = text.strip().split("/")
    if not 2 <= len(parts) <= 3 or not all(_PART_RE.match(p) for p in parts):
        raise PlatformError(
            f"platform {text!r} is not properly formatted (want os/arch[/osversion])"
        )
    os_, arch, rest = parts[0], parts[1], parts[2:]
    variant = release = ""
    if rest:
        (third,) = rest
        if _VARIANT_RE.match(third) and os_ != "windows":
            variant = third
        else:
            release = third
    if os_ not in ("linux", "windows"):
        raise PlatformError(f"platform {text!r}: unsupported os {os_!r} (linux or windows)")
    if os_ == "windows" and not release:
        raise PlatformError(
            f"platform {text!r}: a Windows target needs a release (windows/{arch}/ltsc2022)"
        )
    return Platform(os_, arch, variant, release)


def image_platform(platform: Platform | ImagePlatform) -> ImagePlatform:
    """The platform as configs and index entries carry it (arm means arm/v7; a Windows
    target's os.version is its release's `10.0.<build>` prefix)."""
    if isinstance(platform, ImagePlatform):
        return platform
    return ImagePlatform(platform.os, platform.arch, platform.oci_variant,
                         platform.os_version or "")


def default_linux_platforms() -> tuple[Platform, ...]:
    """What an image with no BASEIMAGE file builds for."""
    return tuple(Platform("linux", a) for a in LINUX_ARCHES)


def build_platform() -> Platform:
    """The host's platform, for BUILDPLATFORM and to decide when qemu is needed."""
    machine = _host.machine()
    return Platform("linux", _UNAME_TO_GO.get(machine, machine))
