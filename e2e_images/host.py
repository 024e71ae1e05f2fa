"""Host services a run needs, checked before it starts: qemu's binfmt handlers for a
foreign-arch RUN, and the Docker engine for runtime checks.

A missing service is one line naming it and the command that fixes it, rather than
`exec format error` deep in buildah's output. As root, a missing binfmt handler is
registered the way `hack/services.sh up` does it. The binfmt state is read from
`$E2E_IMAGES_BINFMT_DIR` when set (tests point it elsewhere; the host's handlers are then
never touched), else /proc/sys/fs/binfmt_misc.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterable
from pathlib import Path

from e2e_images.errors import E2EImagesError

__all__ = ["BINFMT_DIR_ENV", "HostServiceError", "binfmt_dir", "ensure_binfmt",
           "missing_binfmt", "require_docker"]

BINFMT_DIR_ENV = "E2E_IMAGES_BINFMT_DIR"
_PROC_BINFMT = Path("/proc/sys/fs/binfmt_misc")


class HostServiceError(E2EImagesError):
    """A host service the run needs is not there and could not be started."""


def binfmt_dir() -> Path:
    return Path(os.environ.get(BINFMT_DIR_ENV) or _PROC_BINFMT)


def missing_binfmt(qemu_arches: Iterable[str], directory: Path | None = None) -> list[str]:
    """The arches whose `qemu-<arch>` handler is not registered and enabled."""
    directory = directory or binfmt_dir()
    missing = []
    for arch in sorted(set(qemu_arches)):
        try:
            enabled = (directory / f"qemu-{arch}").read_text().startswith("enabled")
        except OSError:
            enabled = False
        if not enabled:
            missing.append(arch)
    return missing


def _register(arches: list[str]) -> None:
    """As `hack/services.sh up`: mount binfmt_misc if needed, enable the qemu entries."""
    if not (_PROC_BINFMT / "status").exists():
        subprocess.run(["mount", "-t", "binfmt_misc", "binfmt_misc", str(_PROC_BINFMT)],
                       capture_output=True, check=False)
    tool = shutil.which("update-binfmts")
    for arch in arches:
        if tool:
            subprocess.run([tool, "--enable", f"qemu-{arch}"], capture_output=True,
                           check=False)


def ensure_binfmt(qemu_arches: Iterable[str], *, is_root: bool | None = None) -> None:
    """Raise HostServiceError unless every `qemu-<arch>` handler is enabled, registering
    the missing ones first when running as root on the real binfmt_misc."""
    directory = binfmt_dir()
    missing = missing_binfmt(qemu_arches, directory)
    root = os.geteuid() == 0 if is_root is None else is_root
    if missing and root and directory == _PROC_BINFMT:
        _register(missing)
        missing = missing_binfmt(missing, directory)
    if missing:
        names = ", ".join(f"qemu-{a}" for a in missing)
        command = ("sudo hack/services.sh up" if not root else
                   "apt-get install qemu-user-static binfmt-support")
        raise HostServiceError(
            f"foreign-arch RUN needs binfmt {names}, not registered in {directory}",
            hint=f"run `{command}` (or `sudo update-binfmts --enable qemu-{missing[0]}`)")


def require_docker(timeout: float = 10) -> None:
    """Raise HostServiceError unless a Docker engine answers."""
    try:
        import docker

        client = docker.from_env(timeout=timeout)
        client.ping()
        client.close()
    except Exception as exc:  # any failure to reach the engine is the same answer
        raise HostServiceError(f"no Docker engine answers ({type(exc).__name__})",
                               hint="run `sudo hack/services.sh up`, which starts dockerd"
                               ) from None
