"""The buildah executor: stages with RUN (Linux only), under qemu for foreign arches.

buildah runs in its own storage (vfs, under the cache dir) so builds never touch the host's
image store, with chroot isolation (works under qemu binfmt and in CI containers) and a fixed
`--timestamp` so its layers are reproducible. buildah never pulls: the caller fetches each
base with our client (retries, mirrors, credentials) into an OCI layout, `import_base` loads
it into the storage under a local name, and the build runs with `--pull=never` on a Dockerfile
whose FROM lines name those. The generated registries.conf (the mirror map, prefix remapping)
stays for anything else buildah resolves; `ADD <url>` lines are pointed at the artifact
mirror by the caller.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import tempfile
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from filelock import FileLock

from e2e_images.errors import BuildError
from e2e_images.platforms import Platform
from e2e_images.registry.client import is_loopback
from e2e_images.registry.mirrors import MirrorMap
from e2e_images.registry.reference import host_of

__all__ = ["Buildah", "BuildahRequest", "buildah_command", "registries_conf"]


def registries_conf(mirrors: MirrorMap, insecure_hosts: Iterable[str] = ()) -> str:
    """containers-registries.conf(5) v2: each upstream prefix remapped to its mirror."""
    lines = ['unqualified-search-registries = ["docker.io"]', ""]
    hosts = set(insecure_hosts)
    for m in mirrors.mirrors:
        host = host_of(m.mirror)
        insecure = host in hosts or is_loopback(host)
        lines += ["[[registry]]", f'prefix = "{m.upstream}"', f'location = "{m.mirror}"',
                  f"insecure = {'true' if insecure else 'false'}", ""]
        if insecure:
            hosts.add(host)  # its own images (not only the mirrored ones) are plain HTTP too
    for host in sorted(h for h in hosts if h):
        lines += ["[[registry]]", f'location = "{host}"', "insecure = true", ""]
    return "\n".join(lines)


@dataclass(frozen=True, slots=True)
class BuildahRequest:
    dockerfile: Path
    context: Path
    platform: Platform
    epoch: int
    target_stage: str | None = None
    build_args: Mapping[str, str] = field(default_factory=dict)
    labels: Mapping[str, str] = field(default_factory=dict)


def buildah_command(storage: Path, request: BuildahRequest, iidfile: Path, tag: str
                    ) -> list[str]:
    cmd = ["buildah", "--storage-driver", "vfs", "--root", str(storage / "root"),
           "--runroot", str(storage / "run"), "bud", "--isolation", "chroot", "--tag", tag,
           "--platform", request.platform.oci_platform, "--format", "oci", "--layers=false",
           "--timestamp", str(request.epoch), "--iidfile", str(iidfile), "--pull=never",
           "-f", str(request.dockerfile)]
    if request.target_stage:
        cmd += ["--target", request.target_stage]
    for k, v in request.build_args.items():
        cmd += ["--build-arg", f"{k}={v}"]
    for k, v in request.labels.items():
        cmd += ["--label", f"{k}={v}"]
    return [*cmd, str(request.context)]


class Buildah:
    def __init__(self, storage: Path, *, mirrors: MirrorMap | None = None,
                 insecure_hosts: Iterable[str] = ()) -> None:
        if shutil.which("buildah") is None:
            raise BuildError("buildah is not installed", hint="apt-get install buildah "
                             "(hack/bootstrap.sh does)")
        self.storage = storage
        storage.mkdir(parents=True, exist_ok=True)
        # Named by content: builds for other registries share the storage, never the file.
        text = registries_conf(mirrors or MirrorMap(), insecure_hosts)
        self.conf = storage / f"registries-{hashlib.sha256(text.encode()).hexdigest()[:16]}.conf"
        if not self.conf.exists():
            tmp = self.conf.with_suffix(f".{uuid.uuid4().hex}.tmp")
            tmp.write_text(text)
            os.replace(tmp, self.conf)

    def _run(self, cmd: list[str], what: str) -> str:
        result = subprocess.run(cmd, capture_output=True, text=True, env=self._env())
        if result.returncode != 0:
            tail = " | ".join((result.stderr or result.stdout).strip().splitlines()[-6:])
            raise BuildError(f"{what} failed: {tail}")
        return result.stdout

    def import_base(self, layout: Path, ref_name: str, name: str) -> None:
        """Make `name` an image of the storage, from `oci:<layout>:<ref_name>` (local files,
        no network). Idempotent; a lock keeps concurrent builds from importing it twice.

        skopeo writes it under `name` directly: `buildah pull oci:` would derive a name from
        the layout's path, which a path such as `~/.cache/...` is not a valid one for."""
        digest = hashlib.sha256(name.encode()).hexdigest()[:16]
        with FileLock(str(self.storage / f"import-{digest}.lock")):
            probe = subprocess.run([*self._base(), "inspect", "--type", "image", name],
                                   capture_output=True, env=self._env())
            if probe.returncode == 0:
                return
            store = f"[vfs@{self.storage / 'root'}+{self.storage / 'run'}]"
            self._run(["skopeo", "copy", "--quiet", f"oci:{layout}:{ref_name}",
                       f"containers-storage:{store}{name}"], f"import of {name} into buildah")

    def _env(self) -> dict[str, str]:
        return os.environ | {"CONTAINERS_REGISTRIES_CONF": str(self.conf),
                             "BUILDAH_ISOLATION": "chroot"}

    def _base(self) -> list[str]:
        return ["buildah", "--storage-driver", "vfs", "--root", str(self.storage / "root"),
                "--runroot", str(self.storage / "run")]

    def build(self, request: BuildahRequest, destination: str) -> str:
        """Build and push to `destination` (`docker://host/repo:tag` or `oci:DIR:tag`);
        returns the manifest digest. The local copy is removed either way.

        Each build works under a tag of its own: identical builds running in parallel get the
        same image ID, and removing by ID would pull the image from under the other's push."""
        with tempfile.TemporaryDirectory(prefix="buildah-") as tmp:
            iidfile, digestfile = Path(tmp) / "iid", Path(tmp) / "digest"
            name = f"localhost/e2e-images-build:{uuid.uuid4().hex}"
            what = f"buildah build of {request.dockerfile.name} for {request.platform.key}"
            self._run(buildah_command(self.storage, request, iidfile, name), what)
            image_id = name
            try:
                host = host_of(destination.removeprefix("docker://"))
                tls = ["--tls-verify=false"] if destination.startswith("docker://") and \
                    is_loopback(host) else []
                self._run([*self._base(), "push", "--format", "oci", "--digestfile",
                           str(digestfile), *tls, image_id, destination],
                          f"buildah push to {destination}")
            finally:
                subprocess.run([*self._base(), "rmi", "-f", image_id], capture_output=True)
            return digestfile.read_text().strip()
