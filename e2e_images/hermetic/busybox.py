"""The busybox stand-in: a real five-platform image made from Debian's busybox-static.

Tests that run `sh` in a Linux image (directly or under qemu) need a real binary for each
architecture, so we take the statically linked busybox from the Debian archive: downloaded
with apt (never installed), extracted with dpkg-deb, and cached so later runs need no apt.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from filelock import FileLock

from e2e_images.atomic import write_atomic_bytes
from e2e_images.hermetic import StandinError
from e2e_images.hermetic.images import (
    BlobStore,
    assemble_image,
    linux_layer,
    make_index,
)
from e2e_images.layers.linux import FileKind, LayerEntry
from e2e_images.oci.image import Image
from e2e_images.oci.models import ImagePlatform, Index

__all__ = [
    "BUSYBOX_ARCHES",
    "BUSYBOX_CACHE_ENV",
    "BUSYBOX_REPOSITORY",
    "BUSYBOX_TAGS",
    "PER_ARCH_REPOSITORIES",
    "WEB_SERVER_STANDINS",
    "BusyboxArch",
    "BusyboxBinaries",
    "WebServerStandin",
    "build_busybox",
    "busybox_image",
    "default_cache_dir",
    "fetch_busybox_binaries",
]

BUSYBOX_CACHE_ENV = "E2E_IMAGES_BUSYBOX_CACHE"
BUSYBOX_REPOSITORY = "docker.io/library/busybox"
# One index, published under each tag: what catalog BASEIMAGE files ask for.
BUSYBOX_TAGS = ("1.36.1", "1.36", "latest")
_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"


@dataclass(frozen=True, slots=True)
class BusyboxArch:
    goarch: str
    debarch: str
    variant: str
    e_machine: int  # ELF header field, what the binary must carry


BUSYBOX_ARCHES = (
    BusyboxArch("amd64", "amd64", "", 62),
    BusyboxArch("arm", "armhf", "v7", 40),
    BusyboxArch("arm64", "arm64", "", 183),
    BusyboxArch("ppc64le", "ppc64el", "", 21),
    BusyboxArch("s390x", "s390x", "", 22),
)


@dataclass(frozen=True, slots=True)
class BusyboxBinaries:
    cache_dir: Path
    versions: tuple[tuple[str, str], ...]  # (goarch, Debian version)
    applets: tuple[str, ...]

    def binary(self, goarch: str) -> Path:
        return self.cache_dir / goarch / "busybox"

    def version(self, goarch: str) -> str:
        return dict(self.versions)[goarch]


def default_cache_dir() -> Path:
    env = os.environ.get(BUSYBOX_CACHE_ENV)
    if env:
        return Path(env)
    return Path.home() / ".cache" / "e2e-images" / "busybox"


def _run(cmd: Sequence[str], what: str, cwd: Path | None = None) -> str:
    try:
        proc = subprocess.run(list(cmd), cwd=cwd, capture_output=True, text=True, timeout=600,
                              check=False)
    except FileNotFoundError:
        raise StandinError(f"{what}: {cmd[0]} is not installed",
                           hint="the busybox stand-in needs a Debian host with apt and dpkg") \
            from None
    except subprocess.TimeoutExpired:
        raise StandinError(f"{what}: `{' '.join(cmd)}` timed out after 600 s") from None
    if proc.returncode != 0:
        lines = (proc.stderr or proc.stdout).strip().splitlines()
        errors = [line for line in lines if line.startswith("E:")]  # apt's errors, not warnings
        tail = (errors or lines)[-5:]
        detail = " | ".join(tail) or "no output"
        unreachable = any(w in detail for w in ("Could not resolve", "Failed to fetch",
                                                 "Unable to connect", "Temporary failure",
                                                 "Could not connect"))
        raise StandinError(
            f"{what}: `{' '.join(cmd)}` exited {proc.returncode}: {detail}",
            hint=("apt could not reach the Debian archive: check the network or pre-fill the "
                  f"cache (${BUSYBOX_CACHE_ENV})") if unreachable else None)
    return proc.stdout


def _ensure_foreign_arches(needed: Iterable[str]) -> bool:
    """Add missing dpkg architectures; True when the apt lists must be refreshed."""
    native = _run(["dpkg", "--print-architecture"], "reading dpkg's architecture").strip()
    foreign = set(_run(["dpkg", "--print-foreign-architectures"],
                       "reading dpkg's foreign architectures").split())
    added = False
    for arch in needed:
        if arch != native and arch not in foreign:
            _run(["dpkg", "--add-architecture", arch], f"adding dpkg architecture {arch}")
            added = True
    return added


def _download(arch: BusyboxArch, work: Path, apt_options: Sequence[str]) -> tuple[Path, str]:
    pkg = f"busybox-static:{arch.debarch}"
    _run(["apt-get", *apt_options, "download", pkg], f"downloading {pkg}", cwd=work)
    debs = sorted(work.glob(f"busybox-static_*_{arch.debarch}.deb"))
    if not debs:
        raise StandinError(f"downloading {pkg}: apt-get reported success but left no .deb")
    deb = debs[-1]
    version = _run(["dpkg-deb", "-f", str(deb), "Version"], f"reading {deb.name}").strip()
    root = work / f"x-{arch.goarch}"
    _run(["dpkg-deb", "-x", str(deb), str(root)], f"extracting {deb.name}")
    binary = root / "bin" / "busybox"
    if not binary.is_file():
        raise StandinError(f"{deb.name} has no bin/busybox")
    return binary, version


def _read_e_machine(path: Path) -> int:
    with path.open("rb") as f:
        head = f.read(20)
    if head[:4] != b"\x7fELF" or len(head) < 20:
        raise StandinError(f"{path} is not an ELF binary")
    order = "little" if head[5] == 1 else "big"
    return int.from_bytes(head[18:20], order)


def fetch_busybox_binaries(cache_dir: Path | None = None,
                           arches: Sequence[BusyboxArch] = BUSYBOX_ARCHES, *,
                           apt_options: Sequence[str] = ()) -> BusyboxBinaries:
    """Make sure `<cache>/<goarch>/busybox` exists for every arch; fetch only what is missing.

    `apt_options` go to every apt-get call (`-o Acquire::http::Proxy=...` behind a proxy).

    Idempotent and safe to call from parallel test workers (a file lock serialises fetches).
    Raises StandinError naming the package and command that failed.
    """
    cache = Path(cache_dir) if cache_dir is not None else default_cache_dir()
    cache.mkdir(parents=True, exist_ok=True)
    with FileLock(str(cache / ".lock")):
        missing = [a for a in arches if not (cache / a.goarch / "VERSION").is_file()]
        if missing:
            _fetch(cache, missing, apt_options)
        applets_file = cache / "applets.txt"
        if not applets_file.is_file():
            amd64 = cache / "amd64" / "busybox"
            if not amd64.is_file():
                raise StandinError("the applet list comes from the amd64 busybox, which is "
                                   "not in the cache", hint="include amd64 in arches")
            listing = _run([str(amd64), "--list"], "listing busybox applets")
            write_atomic_bytes(applets_file,
                               ("\n".join(sorted(set(listing.split()))) + "\n").encode())
    applets = tuple(a for a in applets_file.read_text().split() if a != "busybox")
    versions = tuple((a.goarch, (cache / a.goarch / "VERSION").read_text().strip())
                     for a in arches)
    return BusyboxBinaries(cache, versions, applets)


def _fetch(cache: Path, missing: Sequence[BusyboxArch], apt_options: Sequence[str]) -> None:
    updated = _ensure_foreign_arches(a.debarch for a in missing)
    update_error: StandinError | None = None

    def update() -> None:
        nonlocal update_error
        try:  # a partial failure (one index of many) may still leave what we need
            _run(["apt-get", *apt_options, "update"], "refreshing apt package lists")
        except StandinError as exc:
            update_error = exc

    if updated:
        update()
    with tempfile.TemporaryDirectory(dir=cache, prefix=".fetch-") as tmp:
        work = Path(tmp)
        work.chmod(0o755)  # lets apt's sandbox user write the .deb
        for arch in missing:
            try:
                binary, version = _download(arch, work, apt_options)
            except StandinError as first:
                if updated or first.hint:  # refreshed already, or the archive is unreachable
                    raise _with_update_error(first, update_error) from None
                updated = True  # stale or missing lists: refresh once and retry
                update()
                try:
                    binary, version = _download(arch, work, apt_options)
                except StandinError as exc:
                    raise _with_update_error(exc, update_error) from None
            found = _read_e_machine(binary)
            if found != arch.e_machine:
                raise StandinError(f"busybox-static:{arch.debarch} is ELF machine {found}, "
                                   f"expected {arch.e_machine}")
            dest = cache / arch.goarch
            dest.mkdir(exist_ok=True)
            shutil.copyfile(binary, dest / "busybox.tmp")
            (dest / "busybox.tmp").chmod(0o755)
            os.replace(dest / "busybox.tmp", dest / "busybox")
            write_atomic_bytes(dest / "VERSION", (version + "\n").encode())


def _with_update_error(exc: StandinError, update_error: StandinError | None) -> StandinError:
    if update_error is None:
        return exc
    return StandinError(f"{exc.message}; before that, {update_error.message}",
                        hint=exc.hint or update_error.hint)


def _rootfs(binary: bytes, applets: Iterable[str]) -> list[LayerEntry]:
    dirs = {"/bin": 0o755, "/etc": 0o755, "/home": 0o755, "/root": 0o700, "/tmp": 0o1777,
            "/usr": 0o755, "/usr/sbin": 0o755, "/var": 0o755, "/var/spool": 0o755}
    entries = [LayerEntry(d, FileKind.DIR, mode=m) for d, m in dirs.items()]
    entries.append(LayerEntry("/bin/busybox", data=binary, mode=0o755))
    entries += [LayerEntry(f"/bin/{a}", FileKind.SYMLINK, mode=0o777, link="busybox")
                for a in applets if "/" not in a]
    entries.append(LayerEntry("/etc/passwd", data=b"root:x:0:0:root:/root:/bin/sh\n"
                              b"nobody:x:65534:65534:nobody:/home:/bin/false\n"))
    entries.append(LayerEntry("/etc/group", data=b"root:x:0:\nnogroup:x:65534:\n"))
    return entries


def busybox_image(store: BlobStore, binaries: BusyboxBinaries, arch: BusyboxArch,
                  variant: str, web: WebServerStandin | None = None) -> Image:
    """One platform's busybox (with `web`: the same rootfs plus a page, served by busybox's
    own httpd applet), carrying `variant` as its platform says."""
    entries = _rootfs(binaries.binary(arch.goarch).read_bytes(), binaries.applets)
    runtime: dict[str, object] = {"Env": [f"PATH={_PATH}"], "Cmd": ["sh"]}
    what = "busybox"
    if web is not None:
        entries.append(LayerEntry(f"{web.docroot}/index.html", data=web.page))
        runtime = {"Env": [f"PATH={_PATH}"], "ExposedPorts": {"80/tcp": {}},
                   "Cmd": ["httpd", "-f", "-p", "80", "-h", web.docroot]}
        what = f"{web.name} (busybox httpd serving {web.docroot})"
    layer = linux_layer(store, entries)
    platform = ImagePlatform("linux", arch.goarch, variant)
    return assemble_image(
        store, [layer], platform, runtime,
        comment=f"e2e-images stand-in: {what}, busybox-static "
                f"{binaries.version(arch.goarch)} ({arch.debarch}) from Debian")


def build_busybox(store: BlobStore, binaries: BusyboxBinaries, *,
                  web: WebServerStandin | None = None) -> tuple[Index, list[Image]]:
    """The five-platform busybox index (children in BUSYBOX_ARCHES order)."""
    images = [busybox_image(store, binaries, arch, arch.variant, web)
              for arch in BUSYBOX_ARCHES]
    return make_index(store, images), images


# Docker Hub's per-architecture repositories (`arm64v8/busybox`): one platform each, with the
# variant the real ones carry. arm32v6 gets Debian's armhf (ARMv7) binary: it runs under
# qemu-arm like the rest, but is not a faithful ARMv6 build.
PER_ARCH_REPOSITORIES = (
    ("amd64", "amd64", ""), ("arm32v6", "arm", "v6"), ("arm32v7", "arm", "v7"),
    ("arm64v8", "arm64", "v8"), ("ppc64le", "ppc64le", ""), ("s390x", "s390x", ""),
)


@dataclass(frozen=True, slots=True)
class WebServerStandin:
    """An upstream web-server image (httpd, nginx) stood in for by busybox's httpd applet."""

    name: str
    repository: str
    tags: tuple[str, ...]
    docroot: str
    page: bytes


WEB_SERVER_STANDINS = (
    WebServerStandin("httpd", "docker.io/library/httpd", ("2.4.39-alpine", "2.4.57-alpine"),
                     "/usr/local/apache2/htdocs",
                     b"<html><body><h1>It works!</h1><!-- e2e-images stand-in --></body></html>\n"),
    WebServerStandin("nginx", "docker.io/library/nginx", ("1.14-alpine", "1.25-alpine"),
                     "/usr/share/nginx/html",
                     b"<html><body><h1>Welcome to nginx!</h1><!-- e2e-images stand-in -->"
                     b"</body></html>\n"),
)
