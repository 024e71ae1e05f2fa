"""Cross-compile an image's Go programs into its build context, as upstream's `make bin` does.

Upstream semantics: `SRCS` entry `a/b` builds package `./a` of the image directory into
`<context>/a/b` (no `.exe`, even for Windows), with `CGO_ENABLED=0 GOOS GOARCH [GOARM=7]` and
`-ldflags "-w $LD_FLAGS"`. We add `-trimpath -buildvcs=false` so a binary does not depend on
the checkout's path or git state: the same sources give the same bytes, hence the same digest.

Outputs are cached per (module sources, platform, flags, Go version), so the eight targets of
an image compile each platform once and a no-op rebuild compiles nothing.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

from e2e_images.atomic import entry_lock
from e2e_images.build.digests import tree_digest
from e2e_images.catalog import GoBinaries
from e2e_images.errors import BuildError
from e2e_images.platforms import Platform

__all__ = ["GoPayload", "compile_payloads", "go_version", "payloads"]


@dataclass(frozen=True, slots=True)
class GoPayload:
    src: str  # as written in SRCS: the output path inside the context
    package: Path  # the directory `go build` compiles
    module_root: Path  # where go.mod is (the cache key covers every file under it)


def payloads(go: GoBinaries, image_dir: Path) -> tuple[GoPayload, ...]:
    out = []
    for src in go.srcs:
        package = (image_dir / os.path.dirname(src)).resolve()
        if not package.is_relative_to(image_dir.resolve()):
            raise BuildError(f"Go source {src!r} is outside the image directory",
                             path=go.source or str(image_dir))
        root = package
        while not (root / "go.mod").is_file() and root != image_dir.resolve().parent:
            root = root.parent
        if not (root / "go.mod").is_file():
            raise BuildError(f"no go.mod for Go source {src!r}", path=go.source or str(image_dir),
                             hint="add a go.mod to the image directory")
        out.append(GoPayload(src, package, root))
    return tuple(out)


def go_version() -> str:
    if shutil.which("go") is None:
        raise BuildError("the Go toolchain is not installed",
                         hint="apt-get install golang-go (hack/bootstrap.sh does)")
    return subprocess.run(["go", "env", "GOVERSION"], capture_output=True, text=True,
                          check=True).stdout.strip()


def _go_env(platform: Platform, cache: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GO", "CGO"))}
    env |= platform.go_env() | {"GOFLAGS": "-mod=mod", "GOPROXY": "off", "GOTOOLCHAIN": "local",
                                "GO111MODULE": "on"}
    env.setdefault("HOME", str(cache))  # Go's own build cache stays where the user keeps it
    return env


def _compile(payload: GoPayload, go: GoBinaries, image_dir: Path, platform: Platform,
             cache: Path, cached: Path) -> None:
    """`go build` into a unique temporary name, renamed into place only when it succeeded:
    a reader never sees a torn binary, and a failed build leaves nothing behind."""
    work = Path(tempfile.mkdtemp(prefix=f".{cached.name}.", suffix=".partial",
                                 dir=cached.parent))
    tmp = work / cached.name  # a fresh path: `go build -o` will not overwrite a non-binary
    cmd = ["go", "build", "-trimpath", "-buildvcs=false",
           "-ldflags", f"-w {go.ld_flags}".strip(), "-o", str(tmp), "."]
    try:
        result = subprocess.run(cmd, cwd=payload.package, env=_go_env(platform, cache),
                                capture_output=True, text=True)
        if result.returncode != 0:
            tail = " | ".join(result.stderr.strip().splitlines()[-5:])
            raise BuildError(f"go build of {payload.src} for {platform.key} failed: {tail}",
                             path=go.source or str(image_dir))
        os.replace(tmp, cached)
    finally:
        shutil.rmtree(work, ignore_errors=True)


def compile_payloads(go: GoBinaries, image_dir: Path, platform: Platform, context: Path,
                     cache: Path) -> list[Path]:
    """Build every Go program of the image for `platform` into `context`; returns the outputs."""
    found = payloads(go, image_dir)
    if not found:
        return []
    version = go_version()
    outputs = []
    for payload in found:
        key = hashlib.sha256("\0".join([
            tree_digest(payload.module_root), platform.key, platform.oci_variant,
            go.ld_flags, payload.package.relative_to(payload.module_root).as_posix(), version,
        ]).encode()).hexdigest()[:32]
        cached = cache / "go" / key / os.path.basename(payload.src)
        if not cached.is_file():
            with entry_lock(cached):  # two runs on one cache compile it once
                if not cached.is_file():
                    _compile(payload, go, image_dir, platform, cache, cached)
        out = context / payload.src
        out.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(cached, out)
        os.chmod(out, 0o755)
        outputs.append(out)
    return outputs
