"""Distribution API client: manifests and blobs by repository, with auth and retries.

Manifests travel as raw bytes and are never re-serialised, so digests survive push, pull and
copy. Blobs stream in both directions (`open_blob` verifies at EOF, `push_blob` uploads in
chunks), so a copy between registries holds at most one chunk in memory and touches no disk.
Images and trees of manifests are written through `registry.write`, the one write path.
"""

from __future__ import annotations

import io
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import BinaryIO, TypeVar

import requests

from e2e_images.errors import RegistryError
from e2e_images.oci import media_types as mt
from e2e_images.oci.digest import Hasher, is_digest, sha256_digest
from e2e_images.oci.image import Image
from e2e_images.oci.models import Descriptor, ImagePlatform, Index, Manifest, parse_manifest
from e2e_images.platforms import image_platform
from e2e_images.registry import uploads
from e2e_images.registry.auth import Authenticator, merge_scopes, repository_scope
from e2e_images.registry.blobio import open_verified, skip_to
from e2e_images.registry.credentials import Credentials, credentials_for
from e2e_images.registry.limits import MAX_BODY_BYTES, Deadline, Limits
from e2e_images.registry.reference import DOCKER_HUB, canonical_host
from e2e_images.registry.transport import Transport

__all__ = [
    "RegistryClient",
    "RepositoryBlobs",
    "base_url",
    "is_loopback",
    "select_manifest",
]


log = logging.getLogger("e2e_images.registry")

DOCKER_HUB_API = "registry-1.docker.io"
_PUT_RACE_RETRIES = 3
MAX_MANIFEST_BYTES = MAX_BODY_BYTES  # what distribution accepts; more is not a manifest


def is_loopback(host: str) -> bool:
    """A loopback registry (`127.x`, `localhost`, `[::1]`, with or without a port): plain
    HTTP is allowed there without asking."""
    name = host.rsplit(":", 1)[0] if not host.startswith("[") else host.split("]")[0] + "]"
    return name in ("localhost", "[::1]", "::1") or name.startswith("127.")


def base_url(registry: str, insecure: bool = False) -> str:
    """https, except plain http on loopback or when asked; Docker Hub's API host for docker.io.

    A registry given with a scheme (`http://host:port`) keeps it."""
    if "://" in registry:
        return registry.rstrip("/")
    host = DOCKER_HUB_API if canonical_host(registry) == DOCKER_HUB else registry
    scheme = "http" if insecure or is_loopback(host) else "https"
    return f"{scheme}://{host}"


_MAX_REMEMBERED = 4096  # manifests and configs by digest, per client
_T = TypeVar("_T")


@dataclass(frozen=True, slots=True)
class RepositoryBlobs:
    """A `BlobSource` bound to one repository of one registry."""

    client: RegistryClient
    repository: str

    def open_blob(self, digest: str) -> BinaryIO:
        return self.client.open_blob(self.repository, digest)


class RegistryClient:
    def __init__(self, registry: str, *, session: requests.Session | None = None,
                 insecure: bool = False, credentials: Credentials | None = None,
                 retries: int = 5, backoff: float = 0.5, chunk_size: int = 8 << 20,
                 limits: Limits | None = None) -> None:
        """`credentials=None` looks them up in the Docker config on the first challenge;
        pass `credentials.ANONYMOUS` to never send any. `limits`: timeouts, deadlines and
        body caps (default: `Limits.from_env()`)."""
        self.registry = registry
        self.base_url = base_url(registry, insecure)
        if session is None:
            session = requests.Session()
            # No proxies from the environment for loopback registries, and no ~/.netrc
            # overriding the Authorization header we set.
            session.trust_env = False
        lookup = (lambda: credentials_for(registry)) if credentials is None else None
        self.auth = Authenticator(credentials, lookup=lookup)
        self.transport = Transport(self.base_url, session, self.auth, retries=retries,
                                   backoff=backoff, limits=limits)
        self.chunk_size = chunk_size
        self._by_digest: dict[tuple[str, str], object] = {}

    def __repr__(self) -> str:
        return f"RegistryClient({self.base_url!r})"

    # -- manifests ------------------------------------------------------------------------

    def ping(self) -> None:
        resp = self.transport.request("GET", "/v2/", ok=(200,))
        resp.close()

    def head_manifest(self, repository: str, ref: str) -> Descriptor | None:
        resp = self.transport.request(
            "HEAD", f"/v2/{repository}/manifests/{ref}", scope=repository_scope(repository),
            headers={"Accept": mt.MANIFEST_ACCEPT}, ok=(200, 404))
        resp.close()
        if resp.status_code == 404:
            return None
        digest = resp.headers.get("Docker-Content-Digest", "")
        size = resp.headers.get("Content-Length", "")
        media_type = resp.headers.get("Content-Type", "").split(";")[0].strip()
        if not (is_digest(digest) and size.isdigit() and media_type):
            m = self.get_manifest(repository, ref)
            return Descriptor(m.media_type, m.digest, m.size)
        return Descriptor(media_type, digest, int(size))

    def get_manifest(self, repository: str, ref: str) -> Manifest | Index:
        resp = self.transport.request(
            "GET", f"/v2/{repository}/manifests/{ref}", scope=repository_scope(repository),
            headers={"Accept": mt.MANIFEST_ACCEPT})
        raw = resp.content
        where = f"manifest {repository}@{ref} from {self.registry}"
        if len(raw) > MAX_MANIFEST_BYTES:
            raise RegistryError(f"{where} is {len(raw)} bytes, over the 4 MiB limit")
        actual = sha256_digest(raw)
        header = resp.headers.get("Docker-Content-Digest", "")
        expected = ref if is_digest(ref) else header
        if expected.startswith("sha256:") and expected != actual:
            raise RegistryError(f"{where} has digest {actual}, expected {expected}",
                                code="DIGEST_INVALID")
        try:
            return parse_manifest(raw, resp.headers.get("Content-Type", "").split(";")[0])
        except ValueError as exc:
            raise RegistryError(f"{where} does not parse: {exc}") from None

    def put_manifest(self, repository: str, ref: str, raw: bytes, media_type: str) -> str:
        digest = sha256_digest(raw)
        if is_digest(ref) and ref != digest:
            raise RegistryError(f"refusing to put a manifest with digest {digest} as {ref}")
        for attempt in range(_PUT_RACE_RETRIES + 1):
            try:
                resp = self.transport.request(
                    "PUT", f"/v2/{repository}/manifests/{ref}",
                    scope=repository_scope(repository, "pull,push"),
                    headers={"Content-Type": media_type}, body=raw, ok=(200, 201))
                break
            except RegistryError as exc:
                # Our bytes hash to `digest`, so a DIGEST_INVALID here is distribution reading
                # a blob link another push is writing (its filesystem driver writes in place):
                # transient when runs push the same blobs at once.
                if exc.code != "DIGEST_INVALID" or attempt == _PUT_RACE_RETRIES:
                    raise
                log.info("PUT manifest %s:%s: %s; retrying", repository, ref, exc.message)
                self.transport.sleep(self.transport.backoff * 2 ** attempt)
        resp.close()
        answered = resp.headers.get("Docker-Content-Digest", digest)
        if answered != digest:
            raise RegistryError(f"registry stored manifest {repository}:{ref} as {answered}, "
                                f"but its bytes hash to {digest}", code="DIGEST_INVALID")
        return digest

    def list_tags(self, repository: str) -> list[str]:
        tags: list[str] = []
        url: str | None = f"/v2/{repository}/tags/list"
        while url:
            resp = self.transport.request("GET", url, scope=repository_scope(repository),
                                          ok=(200, 404))
            if resp.status_code == 404:
                resp.close()
                return tags
            tags.extend(resp.json().get("tags") or ())
            url = resp.links.get("next", {}).get("url")
        return tags

    # -- blobs ----------------------------------------------------------------------------

    def blob_exists(self, repository: str, digest: str) -> bool:
        return uploads.stored(self.transport, repository, digest, "pull")

    def open_blob(self, repository: str, digest: str) -> BinaryIO:
        path = f"/v2/{repository}/blobs/{digest}"
        scope = repository_scope(repository)

        def reopen(offset: int) -> requests.Response:
            headers = {"Range": f"bytes={offset}-"} if offset else {}
            resp = self.transport.request("GET", path, scope=scope, headers=headers,
                                          ok=(200, 206), stream=True)
            return skip_to(resp, offset)

        deadline = Deadline(self.transport.limits.blob_deadline, "blob_deadline")
        return open_verified(reopen(0), digest, reopen, retries=self.transport.retries,
                             what=f"blob {repository}@{digest}", deadline=deadline)

    def mount_blob(self, repository: str, digest: str, from_repository: str) -> bool:
        scope = merge_scopes(repository_scope(repository, "pull,push"),
                             repository_scope(from_repository, "pull"))
        resp = self.transport.request(
            "POST", f"/v2/{repository}/blobs/uploads/",
            params={"mount": digest, "from": from_repository}, scope=scope, ok=(201, 202))
        resp.close()
        if resp.status_code == 201:
            return True
        uploads.cancel(self.transport, resp, scope)
        return False

    def push_blob(self, repository: str, data: bytes | BinaryIO, *, digest: str | None = None,
                  size: int | None = None, chunked: bool | None = None,
                  mount_from: str | None = None) -> str:
        """Upload unless present; bytes and small known-size streams go in one PUT."""
        if isinstance(data, bytes | bytearray | memoryview):
            data = bytes(data)
            actual = sha256_digest(data)
            if digest is not None and digest != actual:
                raise RegistryError(f"blob bytes hash to {actual}, not the given {digest}",
                                    code="DIGEST_INVALID")
            digest, size = actual, len(data)
        elif digest is None and _seekable(data):
            digest, size = _hash_stream(data)
        if digest is not None:
            # Asked with the push scope, so a push needs a single token.
            if uploads.stored(self.transport, repository, digest, "pull,push"):
                return digest
            if mount_from and mount_from != repository and self.mount_blob(
                    repository, digest, mount_from):
                return digest
        small = size is not None and size <= self.chunk_size
        if chunked or (chunked is None and not small and not isinstance(data, bytes)):
            stream = io.BytesIO(data) if isinstance(data, bytes) else data
            return uploads.chunked(self.transport, repository, stream, digest, self.chunk_size)
        if not isinstance(data, bytes):
            data = data.read() if size is None else _read_to_eof(data, size)
            if digest is None:
                digest = sha256_digest(data)
        return uploads.monolithic(self.transport, repository, data, digest)

    # -- images ---------------------------------------------------------------------------

    def repository(self, repository: str) -> RepositoryBlobs:
        return RepositoryBlobs(self, repository)

    def image(self, repository: str, ref: str, platform: object | None = None) -> Image:
        """One request for `ref` itself; the child manifest and config it names are content
        addressed, so they are read once per client (the 40 images of a catalog on one base
        read its child and config once, not 40 times)."""
        m = self.get_manifest(repository, ref)
        if isinstance(m, Index):
            child = select_manifest(m, platform, what=f"{self.registry}/{repository}:{ref}")
            m = self._immutable(repository, child.digest,
                                lambda: self.get_manifest(repository, child.digest))
            if isinstance(m, Index):
                raise RegistryError(f"{repository}@{child.digest} is a nested index")
        source = self.repository(repository)
        config = self._immutable(repository, m.config.digest,
                                 lambda: Image.load(m, source).config)
        return Image(m, config, source)

    def _immutable(self, repository: str, digest: str, read: Callable[[], _T]) -> _T:
        """What `digest` holds never changes: keep it (bounded) per repository."""
        key = (repository, digest)
        if key not in self._by_digest:
            if len(self._by_digest) >= _MAX_REMEMBERED:
                self._by_digest.clear()
            self._by_digest[key] = read()
        return self._by_digest[key]  # type: ignore[no-any-return]


def _seekable(stream: BinaryIO) -> bool:
    try:
        return stream.seekable()
    except (AttributeError, OSError):
        return False


def _hash_stream(stream: BinaryIO) -> tuple[str, int]:
    start = stream.tell()
    hasher = Hasher()
    while chunk := stream.read(1 << 20):
        hasher.update(chunk)
    stream.seek(start)
    return hasher.digest, hasher.size


def _read_to_eof(stream: BinaryIO, size: int) -> bytes:
    """Exactly `size` bytes, then EOF (which is where a verifying source checks its digest)."""
    data = stream.read(size)
    if len(data) != size or stream.read(1):
        raise RegistryError(f"blob stream does not hold the {size} bytes its descriptor says")
    return data


def _matches(entry: ImagePlatform, want: ImagePlatform) -> bool:
    def variant(p: ImagePlatform) -> str:
        return "" if (p.architecture, p.variant) == ("arm64", "v8") else p.variant

    if (entry.os, entry.architecture) != (want.os, want.architecture):
        return False
    if want.variant and variant(entry) != variant(want):
        return False
    v = want.os_version
    return not v or entry.os_version == v or entry.os_version.startswith(v + ".")


def select_manifest(index: Index, platform: object | None, *, what: str = "index") -> Descriptor:
    """The one entry for `platform` (os/arch/variant, os.version equal or as a prefix)."""
    entries = [d for d in index.platforms() if d.platform is not None]
    if platform is None:
        if len(entries) == 1:
            return entries[0]
        raise RegistryError(f"{what} is an index of {len(entries)} platforms; name one")
    want = image_platform(platform)  # type: ignore[arg-type]
    found = [d for d in entries if d.platform is not None and _matches(d.platform, want)]
    if len(found) == 1:
        return found[0]
    listed = ", ".join(str(d.platform) for d in entries) or "none"
    if not found:
        raise RegistryError(f"{what} has no entry for {want} (has: {listed})")
    raise RegistryError(f"{what} has {len(found)} entries for {want} (has: {listed})",
                        hint="name the os.version too")
