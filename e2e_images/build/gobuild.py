"""Cross-compile an image's Go programs into its build context, as upstream's `make bin` does.

Upstream semantics: `SRCS` entry `a/b` builds package `./a` of `test/images/$(SRC_DIR)` into
`<context>/a/b` (no `.exe`, even for Windows), with `CGO_ENABLED=0 GOOS GOARCH [GOARM=7]` and
`-ldflags "-w $LD_FLAGS"`, inside whatever module holds it (kubernetes: the root go.mod, with
`vendor/`). We add `-trimpath -buildvcs=false` so a binary does not depend on the checkout's
path or git state: the same sources give the same bytes, hence the same digest.

Builds are offline (`GOPROXY=off`, `GOTOOLCHAIN=local`, `-mod=vendor` when the module vendors).
Outputs are cached per (the package's own sources and what it imports inside the module,
platform, flags, Go version): not per module tree, which for kubernetes is huge and changes
for reasons unrelated to a test image.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import subprocess
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from e2e_images.atomic import entry_lock
from e2e_images.build.digests import json_key
from e2e_images.catalog import GoBinaries
from e2e_images.errors import BuildError
from e2e_images.platforms import Platform

__all__ = ["GoModule", "GoPayload", "check_go_version", "compile_payloads", "find_module",
           "go_version", "payloads"]

_GO_LINE = re.compile(r"^go\s+(\d+(?:\.\d+){1,2})\s*(?://.*)?$")
_TOOLCHAIN_LINE = re.compile(r"^toolchain\s+go(\d+(?:\.\d+){1,2}\S*)\s*(?://.*)?$")
# `go list` fields naming a package's files (relative to its Dir)
_FILE_FIELDS = ("GoFiles", "CgoFiles", "CFiles", "HFiles", "SFiles", "EmbedFiles",
                "SysoFiles", "CompiledGoFiles")


@dataclass(frozen=True, slots=True)
class GoModule:
    root: Path  # where go.mod is
    go: str  # the `go` line's version, "" when absent
    go_line: int
    toolchain: str  # the `toolchain` line's version, "" when absent
    vendored: bool  # vendor/modules.txt present: build with -mod=vendor

    @property
    def go_mod(self) -> Path:
        return self.root / "go.mod"


@dataclass(frozen=True, slots=True)
class GoPayload:
    src: str  # as written in SRCS: the output path inside the context
    package: Path  # the directory `go build` compiles
    module: GoModule


def _repository_root(start: Path) -> Path | None:
    """The nearest directory at or above `start` holding `.git` (the search stops there)."""
    for directory in (start, *start.parents):
        if (directory / ".git").exists():
            return directory
    return None


def _read_module(root: Path) -> GoModule:
    go = toolchain = ""
    go_line = 0
    for number, line in enumerate((root / "go.mod").read_text().splitlines(), 1):
        if m := _GO_LINE.match(line.strip()):
            go, go_line = m.group(1), number
        elif m := _TOOLCHAIN_LINE.match(line.strip()):
            toolchain = m.group(1)
    return GoModule(root, go, go_line, toolchain, (root / "vendor" / "modules.txt").is_file())


def find_module(package: Path, source: str) -> GoModule:
    """The module holding `package`: go.mod searched upward, stopping at the repository root
    (the directory with `.git`; the filesystem root when there is none)."""
    stop = _repository_root(package)
    for directory in (package, *package.parents):
        if (directory / "go.mod").is_file():
            return _read_module(directory)
        if directory == stop:
            break
    where = f"the repository root {stop}" if stop else "the filesystem root"
    raise BuildError(f"no go.mod between {package} and {where}", path=source,
                     hint="upstream builds inside the module that holds test/images (the "
                          "repository's go.mod); copy the tree with its go.mod")


def payloads(go: GoBinaries, image_dir: Path) -> tuple[GoPayload, ...]:
    """Each SRCS entry's package, below SRC_DIR (default: the image directory)."""
    base = (go.src_dir or image_dir).resolve()
    source = go.source or str(image_dir)
    if go.srcs and not base.is_dir():
        raise BuildError(f"SRC_DIR {base} is not a directory", path=source,
                         hint="SRC_DIR is relative to the images directory, as upstream's "
                              "test/images/$(SRC_DIR)")
    out = []
    for src in go.srcs:
        package = (base / os.path.dirname(src)).resolve()
        if not package.is_relative_to(base):
            raise BuildError(f"Go source {src!r} is outside {base}", path=source)
        out.append(GoPayload(src, package, find_module(package, source)))
    return tuple(out)


def go_version() -> str:
    if shutil.which("go") is None:
        raise BuildError("the Go toolchain is not installed",
                         hint="apt-get install golang-go (hack/bootstrap.sh does)")
    return subprocess.run(["go", "env", "GOVERSION"], capture_output=True, text=True,
                          check=True).stdout.strip()


def _numbers(version: str) -> tuple[int, ...]:
    return tuple(int(p) for p in re.findall(r"\d+", version.removeprefix("go"))[:3])


def check_go_version(module: GoModule, installed: str) -> None:
    """With GOTOOLCHAIN=local the installed Go must be at least the `go` line's version."""
    if not module.go or _numbers(installed) >= _numbers(module.go):
        return
    toolchain = f" (toolchain go{module.toolchain})" if module.toolchain else ""
    raise BuildError(f"{module.go_mod} needs Go {module.go}{toolchain}, but the installed Go "
                     f"is {installed}", path=str(module.go_mod), line=module.go_line,
                     hint=f"install Go >= {module.go} first on PATH (downloading toolchains "
                          "is off: GOTOOLCHAIN=local)")


def _go_env(platform: Platform, cache: Path, module: GoModule) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GO", "CGO"))}
    mode = "-mod=vendor" if module.vendored else "-mod=mod"
    env |= platform.go_env() | {"GOFLAGS": mode, "GOPROXY": "off", "GOTOOLCHAIN": "local",
                                "GO111MODULE": "on", "GOWORK": "off"}
    env.setdefault("HOME", str(cache))  # Go's own build cache stays where the user keeps it
    return env


def _go(args: list[str], payload: GoPayload, env: dict[str, str], what: str,
        source: str) -> str:
    result = subprocess.run(["go", *args], cwd=payload.package, env=env, capture_output=True,
                            text=True)
    if result.returncode != 0:
        tail = " | ".join(result.stderr.strip().splitlines()[-5:])
        raise BuildError(f"{what} failed: {tail}", path=source)
    return result.stdout


def source_digest(payload: GoPayload, env: dict[str, str], source: str) -> str:
    """sha256 over the files of the package and of every package it imports from inside the
    module (vendored ones included), plus go.mod, go.sum and vendor/modules.txt."""
    out = _go(["list", "-deps", "-json", "."], payload, env,
              f"go list of {payload.src}", source)
    root = payload.module.root
    files: set[Path] = {root / n for n in ("go.mod", "go.sum", "vendor/modules.txt")}
    decoder, pos = json.JSONDecoder(), 0
    while pos < len(out):
        while pos < len(out) and out[pos].isspace():
            pos += 1
        if pos >= len(out):
            break
        package, pos = decoder.raw_decode(out, pos)
        directory = Path(package.get("Dir") or "/")
        if package.get("Standard") or not directory.is_relative_to(root):
            continue
        files.update(directory / name for field in _FILE_FIELDS
                     for name in package.get(field) or ())
    h = hashlib.sha256()
    for path in sorted(p for p in files if p.is_file()):
        h.update(path.relative_to(root).as_posix().encode() + b"\0")
        h.update(hashlib.sha256(path.read_bytes()).digest())
    return h.hexdigest()


def payload_sources(payload: GoPayload, platform: Platform, cache: Path, source: str) -> str:
    """`source_digest` for `platform`, without compiling: the fingerprint's view of a payload
    whose module lies outside the image directory (an upstream tree's repository go.mod)."""
    return source_digest(payload, _go_env(platform, cache, payload.module), source)


def _store(cached: Path, build: Callable[[Path], None]) -> None:
    """Fill one cache entry under its lock (two runs on one cache compile it once): `build`
    writes a fresh path in a private directory (`go build -o` will not overwrite a
    non-binary), renamed into place only when it succeeded, so a reader never sees a torn
    binary and a failed build leaves nothing behind."""
    with entry_lock(cached):
        if cached.is_file():
            return
        work = Path(tempfile.mkdtemp(prefix=f".{cached.name}.", suffix=".partial",
                                     dir=cached.parent))
        try:
            tmp = work / cached.name
            build(tmp)
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
    source = go.source or str(image_dir)
    outputs = []
    for payload in found:
        check_go_version(payload.module, version)
        env = _go_env(platform, cache, payload.module)
        key = json_key(source_digest(payload, env, source), platform.key, platform.oci_variant,
                       go.ld_flags, payload.package.relative_to(payload.module.root).as_posix(),
                       payload.module.vendored, version)[:32]
        cached = cache / "go" / key / os.path.basename(payload.src)
        if not cached.is_file():
            def build(tmp: Path, payload: GoPayload = payload, env: dict[str, str] = env) -> None:
                _go(["build", "-trimpath", "-buildvcs=false",
                     "-ldflags", f"-w {go.ld_flags}".strip(), "-o", str(tmp), "."],
                    payload, env, f"go build of {payload.src} for {platform.key}", source)
            _store(cached, build)
        out = context / payload.src
        out.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(cached, out)
        os.chmod(out, 0o755)
        outputs.append(out)
    return outputs
