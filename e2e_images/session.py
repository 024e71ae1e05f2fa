"""What a build run needs around it: registries, the upstream mirror map, artifacts, caches.

Two shapes, one `BuildEnv`: the embedded default (a registry on loopback seeded with the
hermetic stand-ins, and the artifact mirror for `ADD <url>`), or a given registry with the
user's mirror map and real downloads. The CLI opens a whole session; the pytest plugin shares
one registry across workers and builds the env per worker with `build_env`.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path

from filelock import FileLock, Timeout

from e2e_images.build.artifact_map import ArtifactMap, ArtifactRouter, load_artifacts_file
from e2e_images.build.builder import BuildEnv
from e2e_images.build.fetch import UrlFetcher
from e2e_images.build.remote_docker import remote_daemons
from e2e_images.errors import RegistryError
from e2e_images.registry import mirrors
from e2e_images.registry.client import is_loopback
from e2e_images.registry.pool import ClientPool
from e2e_images.registry.reference import host_of

__all__ = ["EMBEDDED_NAMESPACE", "Session", "artifact_mirror", "artifact_router", "build_env",
           "default_cache", "open_session"]

EMBEDDED_NAMESPACE = "e2e-test-images"


def default_cache() -> Path:
    return Path(os.environ.get("E2E_IMAGES_CACHE") or Path.home() / ".cache" / "e2e-images")


@contextmanager
def artifact_mirror(directory: Path) -> Iterator[object]:
    """The hermetic artifact mirror: stand-in downloads, pinned, served on loopback."""
    from e2e_images.hermetic.artifacts import ArtifactMirror, write_standin_artifacts

    write_standin_artifacts(directory)
    with ArtifactMirror(directory) as mirror:
        yield mirror


@contextmanager
def artifact_router(artifacts_file: str | Path | None, standins: object | None = None
                    ) -> Iterator[ArtifactRouter]:
    """`--artifacts FILE` in front of the hermetic mirror (when there is one); directory
    entries served on loopback while the context is open."""
    amap = load_artifacts_file(artifacts_file) if artifacts_file else ArtifactMap()
    with ExitStack() as stack:
        serve = None
        if any(r.directory is not None for r in amap.rules):
            from e2e_images.hermetic.artifacts import DirectoryServer

            server = stack.enter_context(DirectoryServer())
            serve = lambda rule, rest: server.url_for(rule.directory, rest)  # noqa: E731
        yield ArtifactRouter(amap, standins, serve)  # type: ignore[arg-type]


def build_env(pool: ClientPool, *, registry: str, cache: Path, epoch: int, backend: str,
              artifacts: object | None = None, hermetic: bool = False) -> BuildEnv:
    """`artifacts`: an ArtifactRouter, or a bare hermetic mirror standing in front of it."""
    host = host_of(registry)
    insecure = (host,) if is_loopback(host) else ()
    router = artifacts if isinstance(artifacts, ArtifactRouter) else ArtifactRouter(
        fallback=artifacts)  # type: ignore[arg-type]
    fetcher = UrlFetcher(mirror_url=router.url_for, pinned_sha256=router.sha256_for)
    daemons = remote_daemons() if backend == "legacy" else {}
    return BuildEnv(pool=pool, cache=cache, epoch=epoch, fetch_url=fetcher,
                    mirror_url=router.url_for, backend=backend, insecure_hosts=insecure,
                    daemons=daemons, hermetic=hermetic, artifacts=router)


def _embedded_base(stack: ExitStack, cache: Path, storage: Path | None) -> Path:
    """The embedded registry's directory (config, log, storage), owned by this run alone.

    Two runs on one cache must not serve one storage from two registry processes, so the
    kept directory (`<cache>/embedded-registry`) belongs to whichever run locks it first; a
    concurrent run gets a private one under `<cache>/embedded-runs/`, removed when it ends
    (or, after a kill, by the next run that finds its pid gone).
    Its tags then name another port, and digests never depend on the registry. An explicit
    `--storage` that another run holds is an error rather than a silent substitute."""
    base = storage or cache / "embedded-registry"
    base.mkdir(parents=True, exist_ok=True)
    lock = FileLock(str(base / "in-use.lock"))
    try:
        lock.acquire(timeout=0)
    except Timeout:
        if storage is not None:
            raise RegistryError(f"the embedded registry storage {storage} is in use by "
                                "another run", hint="give each concurrent run its own "
                                "--storage, or none") from None
        runs = cache / "embedded-runs"
        runs.mkdir(parents=True, exist_ok=True)
        for old in runs.iterdir():  # left by killed runs: their pid is gone
            pid = old.name.split(".", 1)[0]
            if pid.isdigit() and not Path(f"/proc/{pid}").exists():
                shutil.rmtree(old, ignore_errors=True)
        base = Path(tempfile.mkdtemp(prefix=f"{os.getpid()}.", dir=runs))
        stack.callback(shutil.rmtree, base, True)
        return base
    stack.callback(lock.release)
    return base


@dataclass(frozen=True, slots=True)
class Session:
    registry: str  # host[/namespace] targets are pushed to
    env: BuildEnv
    hermetic: bool


@contextmanager
def open_session(*, registry: str | None, cache: Path, epoch: int, backend: str = "auto",
                 mirrors_file: str | None = None, storage: Path | None = None,
                 artifacts_file: str | Path | None = None) -> Iterator[Session]:
    """`registry=None`: the embedded default, stopped when the session closes."""
    with ExitStack() as stack:
        if registry:
            pool = ClientPool(mirrors=mirrors.load(mirrors_file) if mirrors_file else None)
            router = stack.enter_context(artifact_router(artifacts_file))
            yield Session(registry.rstrip("/"), build_env(
                pool, registry=registry, cache=cache, epoch=epoch, backend=backend,
                artifacts=router), False)
            return
        from e2e_images.hermetic.standins import seed_host
        from e2e_images.registry.embedded import EmbeddedRegistry

        base = _embedded_base(stack, cache, storage)
        embedded = stack.enter_context(EmbeddedRegistry(base, storage=base / "storage"))
        mirror_map, _ = seed_host(embedded.host)
        standins = stack.enter_context(artifact_mirror(cache / "artifacts"))
        router = stack.enter_context(artifact_router(artifacts_file, standins))
        target = f"{embedded.host}/{EMBEDDED_NAMESPACE}"
        yield Session(target, build_env(ClientPool(mirrors=mirror_map), registry=target,
                                        cache=cache, epoch=epoch, backend=backend,
                                        artifacts=router, hermetic=True), True)
