"""Input fingerprints, and their record in the registry beside the images they describe.

A fingerprint hashes what a target is built from: the rendered Dockerfile, build args and
labels, the image directory's sources (Go payloads as sources plus the Go version and flags,
never the compiled binaries), the digests of the images it reads, the clock, the backend and
this tool's version. The registry address and namespace are replaced by a placeholder, so the
same inputs have the same fingerprint in every namespace; the target's own tag is left out.

The record is a tag `inputs-<fingerprint>` in the target's repository holding a tiny OCI
manifest (empty config and layer `{}`) whose annotations name the image digest those inputs
produced. It sits beside the image and never inside it: an annotation in the image would make
its digest depend on this tool, and promotion never copies these tags (`is_inputs_tag`).
Looking a target up costs one small manifest GET (a few hundred bytes) and one HEAD of its
tag, so any machine, cold cache or not, can tell an unchanged target without building it.
Distribution 2.8 has no referrers API, hence a tag rather than a `subject` link.
"""

from __future__ import annotations

import functools
import hashlib
import os
from collections.abc import Iterable, Mapping
from pathlib import Path

from e2e_images import __version__
from e2e_images.build.digests import json_key, tree_digest
from e2e_images.catalog import GoBinaries
from e2e_images.errors import RegistryError
from e2e_images.oci import media_types as mt
from e2e_images.oci.models import Descriptor, Manifest, build_manifest
from e2e_images.platforms import Platform
from e2e_images.registry.client import RegistryClient

__all__ = ["DIGEST_ANNOTATION", "FINGERPRINT_ANNOTATION", "INPUTS_TAG_PREFIX", "file_digest",
           "inputs_tag",
           "is_inputs_tag", "list_fingerprint", "lookup", "record", "record_manifest",
           "recorded_digest", "sources_digest", "target_fingerprint"]

INPUTS_TAG_PREFIX = "inputs-"
FINGERPRINT_ANNOTATION = "io.e2e-images.inputs.fingerprint"
DIGEST_ANNOTATION = "io.e2e-images.inputs.image-digest"
EMPTY_JSON = "application/vnd.oci.empty.v1+json"
_EMPTY = b"{}"
_EMPTY_DESCRIPTOR = Descriptor.of(EMPTY_JSON, _EMPTY)
PLACEHOLDER = "REGISTRY"
_HAS_EMPTY: set[tuple[str, str]] = set()  # repositories seen to hold `{}` in this process


def inputs_tag(fingerprint: str) -> str:
    """The record's tag: 71 characters, inside the distribution spec's 128."""
    return f"{INPUTS_TAG_PREFIX}{fingerprint}"


def is_inputs_tag(tag: str) -> bool:
    """Fingerprint records are bookkeeping, never images: promotion and mirrors skip them."""
    return tag.startswith(INPUTS_TAG_PREFIX)


def _neutral(value: object, registry: str) -> object:
    """`value` with the registry/namespace prefix replaced, recursively through containers."""
    if not registry:
        return value
    if isinstance(value, str):
        return value.replace(registry, PLACEHOLDER)
    if isinstance(value, Mapping):
        return {k: _neutral(v, registry) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_neutral(v, registry) for v in value]
    return value


@functools.cache
def _go_version() -> str:
    from e2e_images.build.gobuild import go_version

    return go_version()


@functools.cache
def _tree(root: Path, _signature: tuple[tuple[str, int, int], ...]) -> str:
    return tree_digest(root)


def _cached_tree(root: Path) -> str:
    """`tree_digest`, re-hashed only when a file's name, size or mtime changed (the eight
    targets of an image share one directory)."""
    signature = []
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames.sort()
        for name in sorted(filenames):
            st = os.lstat(os.path.join(dirpath, name))
            signature.append((os.path.join(dirpath, name), st.st_size, st.st_mtime_ns))
    return _tree(root, tuple(signature))


def sources_digest(context: Path, go: GoBinaries, platform: Platform, cache: Path,
                   extra: Iterable[str] = ()) -> str:
    """The image directory and the Go payloads' sources, compiler and flags (and `extra`,
    e.g. the digest of a host file copied in): what the staged context is made from,
    computed without compiling anything. A module inside the image directory is hashed
    whole (a superset of what the payload imports, cheap); one outside it (an upstream
    tree's repository go.mod) through `go list -deps`, as the compile cache keys it. A
    `make bin` image's outputs come from its Makefile and sources, in the directory."""
    from e2e_images.build.gobuild import payload_sources, payloads

    found = payloads(go, context) if not go.needs_make else ()
    inside = context.resolve()
    go_parts = [[p.src, p.package.relative_to(p.module.root).as_posix(), p.module.vendored,
                 _cached_tree(p.module.root) if p.module.root.is_relative_to(inside)
                 else payload_sources(p, platform, cache, go.source or str(context))]
                for p in found]
    return json_key(_cached_tree(context), go_parts, go.ld_flags if found else "",
                    _go_version() if found else "", platform.key, platform.oci_variant,
                    list(extra))


@functools.cache
def _file(path: Path, _size: int, _mtime_ns: int) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def file_digest(path: Path) -> str:
    """sha256 of a host file (qemu-<arch>-static), hashed once per size and mtime."""
    try:
        st = path.stat()
    except OSError:
        return "missing"  # the build itself reports it
    return _file(path, st.st_size, st.st_mtime_ns)


def target_fingerprint(*, dockerfile: str, build_args: Mapping[str, str],
                       labels: Mapping[str, str], sources: str,
                       images_read: Iterable[tuple[str, str]], epoch: int, backend: str,
                       registry: str) -> str:
    """Everything a target's image is made from, `registry` (host/namespace) neutralised."""
    read = sorted({(str(_neutral(ref, registry)), digest) for ref, digest in images_read})
    return json_key("target", _neutral(dockerfile, registry), _neutral(dict(build_args), registry),
                    _neutral(dict(labels), registry), sources, read, epoch, backend,
                    __version__)


def list_fingerprint(media_type: str, children: Iterable[tuple[str, str | None]]) -> str:
    """A list's inputs: its media type and its (platform key, child digest) entries in order;
    the list's own tag is left out, like a target's."""
    return json_key("list", media_type, [list(c) for c in children], __version__)


def record_manifest(fingerprint: str, digest: str) -> Manifest:
    """The record: an OCI manifest of empty blobs, the fingerprint -> digest pair annotated."""
    return build_manifest(_EMPTY_DESCRIPTOR, [_EMPTY_DESCRIPTOR], media_type=mt.OCI_MANIFEST,
                          annotations={FINGERPRINT_ANNOTATION: fingerprint,
                                       DIGEST_ANNOTATION: digest})


def recorded_digest(manifest: object, fingerprint: str) -> str | None:
    """The image digest a record names, if it is a record of exactly this fingerprint."""
    if not isinstance(manifest, Manifest):
        return None
    if manifest.annotations.get(FINGERPRINT_ANNOTATION) != fingerprint:
        return None
    digest = manifest.annotations.get(DIGEST_ANNOTATION, "")
    return digest if digest.startswith("sha256:") and len(digest) == 71 else None


def lookup(client: RegistryClient, repository: str, fingerprint: str) -> str | None:
    """The digest recorded for `fingerprint` in `repository`, or None (one small GET)."""
    try:
        return recorded_digest(client.get_manifest(repository, inputs_tag(fingerprint)),
                               fingerprint)
    except RegistryError as exc:
        if exc.status == 404:
            return None
        raise


def record(client: RegistryClient, repository: str, fingerprint: str, digest: str) -> None:
    """Write (or overwrite) the record: the empty blob once per repository, then the tag."""
    key = (client.registry, repository)
    if key not in _HAS_EMPTY and not client.blob_exists(repository, _EMPTY_DESCRIPTOR.digest):
        client.push_blob(repository, _EMPTY, digest=_EMPTY_DESCRIPTOR.digest)
    _HAS_EMPTY.add(key)
    manifest = record_manifest(fingerprint, digest)
    try:
        client.put_manifest(repository, inputs_tag(fingerprint), manifest.raw,
                            manifest.media_type)
    except RegistryError as exc:
        if exc.code not in ("MANIFEST_BLOB_UNKNOWN", "BLOB_UNKNOWN"):
            raise
        _HAS_EMPTY.discard(key)  # another registry on the same address, or collected
        client.push_blob(repository, _EMPTY, digest=_EMPTY_DESCRIPTOR.digest)
        client.put_manifest(repository, inputs_tag(fingerprint), manifest.raw,
                            manifest.media_type)
