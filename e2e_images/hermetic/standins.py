"""The stand-in upstream set, and seeding it into a registry under a mirror prefix.

`build_standins` makes every upstream image the suite pulls (busybox for five Linux platforms,
nanoserver and servercore for each Windows release) with fixed digests. `seed_upstream` pushes
them to `<mirror_prefix>/<upstream host>/<path>:<tag>`, the layout `registry.mirrors` maps
upstream references onto, skipping tags that already point at the right index.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from e2e_images.hermetic import StandinError
from e2e_images.hermetic.busybox import (
    BUSYBOX_ARCHES,
    BUSYBOX_REPOSITORY,
    BUSYBOX_TAGS,
    PER_ARCH_REPOSITORIES,
    WEB_SERVER_STANDINS,
    BusyboxBinaries,
    WebServerStandin,
    build_busybox,
    busybox_image,
    fetch_busybox_binaries,
)
from e2e_images.hermetic.images import BlobStore
from e2e_images.hermetic.windows_base import (
    FLAVORS,
    WINDOWS_BASES,
    WINDOWS_REPOSITORY,
    build_windows_base,
)
from e2e_images.oci.image import Image
from e2e_images.oci.models import Index, Manifest
from e2e_images.registry.client import RegistryClient
from e2e_images.registry.mirrors import MirrorMap
from e2e_images.registry.reference import Reference, parse_reference
from e2e_images.registry.write import write_image, write_index

__all__ = [
    "UPSTREAM_HOSTS",
    "SeedResult",
    "StandinSet",
    "StandinTag",
    "build_standins",
    "mirror_map_for",
    "seed_upstream",
]

UPSTREAM_HOSTS = ("docker.io", "mcr.microsoft.com")


@dataclass(frozen=True, slots=True)
class StandinTag:
    """One upstream tag and the index (per-arch repositories: the manifest) it points at."""

    reference: Reference
    index: Index | Manifest
    images: tuple[Image, ...]  # their source is the set's blob store


@dataclass(frozen=True, slots=True)
class StandinSet:
    blobs: BlobStore
    tags: tuple[StandinTag, ...]

    def find(self, ref: str | Reference) -> StandinTag:
        wanted = parse_reference(ref) if isinstance(ref, str) else ref
        for tag in self.tags:
            if tag.reference == wanted:
                return tag
        known = ", ".join(str(t.reference) for t in self.tags)
        raise StandinError(f"no stand-in for {wanted}", hint=f"stand-ins: {known}")

    def references(self) -> tuple[str, ...]:
        return tuple(str(t.reference) for t in self.tags)


def build_standins(
    *,
    busybox: BusyboxBinaries | None = None,
    busybox_cache: Path | None = None,
    include_busybox: bool = True,
    windows_filler_bytes: int = 0,
    workdir: Path | None = None,
) -> StandinSet:
    """Every stand-in, in memory (Windows layers in `workdir` when a filler size is given).

    The busybox binaries come from `busybox` or are fetched into `busybox_cache`
    (fetch_busybox_binaries); `include_busybox=False` builds the Windows bases alone.
    """
    store = BlobStore()
    tags: list[StandinTag] = []
    if include_busybox:
        binaries = busybox if busybox is not None else fetch_busybox_binaries(busybox_cache)
        index, images = build_busybox(store, binaries)
        tags += [StandinTag(parse_reference(f"{BUSYBOX_REPOSITORY}:{t}"), index, tuple(images))
                 for t in BUSYBOX_TAGS]
        for web in WEB_SERVER_STANDINS:
            index, images = build_busybox(store, binaries, web=web)
            tags += [StandinTag(parse_reference(f"{web.repository}:{t}"), index, tuple(images))
                     for t in web.tags]
        tags += _per_arch_tags(store, binaries)
    for flavor in FLAVORS:
        repo = WINDOWS_REPOSITORY.format(flavor=flavor)
        for base in WINDOWS_BASES:
            index, image = build_windows_base(store, flavor, base,
                                              filler_bytes=windows_filler_bytes,
                                              workdir=workdir)
            tags += [StandinTag(parse_reference(f"{repo}:{t}"), index, (image,))
                     for t in base.tags]
    return StandinSet(store, tuple(tags))


def _per_arch_tags(store: BlobStore, binaries: BusyboxBinaries) -> list[StandinTag]:
    """busybox, httpd and nginx under Docker Hub's per-arch names (`arm64v8/busybox:1.36`),
    each a single-platform manifest, as the real ones are."""
    arches = {a.goarch: a for a in BUSYBOX_ARCHES}
    repos: list[tuple[str, tuple[str, ...], WebServerStandin | None]] = [
        ("busybox", BUSYBOX_TAGS, None), *((w.name, w.tags, w) for w in WEB_SERVER_STANDINS)]
    tags: list[StandinTag] = []
    for namespace, goarch, variant in PER_ARCH_REPOSITORIES:
        for name, names, web in repos:
            image = busybox_image(store, binaries, arches[goarch], variant, web)
            tags += [StandinTag(parse_reference(f"docker.io/{namespace}/{name}:{t}"),
                                image.manifest, (image,)) for t in names]
    return tags


def mirror_map_for(mirror_prefix: str, hosts: Iterable[str] = UPSTREAM_HOSTS) -> MirrorMap:
    """`docker.io` -> `<prefix>/docker.io`, and so on for each upstream host."""
    return MirrorMap.single(hosts, mirror_prefix)


@dataclass(frozen=True, slots=True)
class SeedResult:
    upstream: Reference
    mirrored: Reference
    digest: str
    pushed: bool  # False: the tag already pointed at this index


def seed_upstream(
    client: RegistryClient,
    mirror_prefix: str,
    *,
    standins: StandinSet | None = None,
    **build_kwargs: object,
) -> tuple[SeedResult, ...]:
    """Push the stand-in set into `client`'s registry under `mirror_prefix`.

    `mirror_prefix` is `host[:port][/path]` and must name the client's registry.
    Blobs, then child manifests, then the tagged index; a tag already pointing at the
    stand-in's digest is skipped, so seeding twice pushes nothing the second time.
    """
    if standins is None:
        standins = build_standins(**build_kwargs)  # type: ignore[arg-type]
    mirrors = mirror_map_for(mirror_prefix)
    results: list[SeedResult] = []
    for tag in standins.tags:
        target = mirrors.rewrite(tag.reference)
        if target.registry != client.registry:
            raise StandinError(f"mirror prefix {mirror_prefix!r} names registry "
                               f"{target.registry}, but the client talks to {client.registry}")
        if isinstance(tag.index, Index):
            written = write_index(client, target.repository, tag.index, tag.images, target.tag)
        else:  # a per-arch repository's tag names the image itself
            image = next(i for i in tag.images if i.digest == tag.index.digest)
            written = write_image(client, target.repository, image, target.tag)
        results.append(SeedResult(tag.reference, target, written.digest, written.pushed))
    return tuple(results)


def seed_host(host: str, **build_kwargs: object) -> tuple[MirrorMap, tuple[SeedResult, ...]]:
    """Seed the registry at `host` with the whole stand-in set under `<host>/<upstream host>`
    and return the mirror map that reaches it. Idempotent, as `seed_upstream` is."""
    from e2e_images.registry.credentials import ANONYMOUS

    client = RegistryClient(host, credentials=ANONYMOUS)
    return mirror_map_for(host), seed_upstream(client, host, **build_kwargs)
