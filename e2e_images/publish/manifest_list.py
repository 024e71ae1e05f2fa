"""Assemble and push a manifest list whose entries describe their children truthfully.

Each entry's platform is read from the pushed child's own config (os, architecture, variant,
os.version, os.features), never from the plan, so a list cannot claim what an image is not.
A Windows child without a full `10.0.<build>.<revision>` os.version is refused: an empty
os.version matches every Windows host and the first entry would win everywhere.
Children are confirmed present (and single manifests) before the list is pushed, so a list
never points at a missing child.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from e2e_images.errors import E2EImagesError
from e2e_images.oci import media_types as mt
from e2e_images.oci.image import Image
from e2e_images.oci.models import Descriptor, Index, build_index
from e2e_images.platforms import FULL_OS_VERSION
from e2e_images.registry.client import RegistryClient
from e2e_images.registry.reference import parse_reference

__all__ = ["ListChild", "ListPublishError", "PublishedList", "assemble_index", "child_entry",
           "entry_of", "publish_list"]

class ListPublishError(E2EImagesError):
    pass


@dataclass(frozen=True, slots=True)
class PublishedList:
    reference: str
    index: Index
    pushed: bool  # False when the tag already held this exact list


@dataclass(frozen=True, slots=True)
class ListChild:
    """One list entry to be: the per-platform tag (for messages and the repository), the
    digest the caller has for it, and its descriptor when the caller already holds the
    manifest and config (a build it just pushed), so the child is not read back."""

    tag: str
    digest: str
    entry: Descriptor | None = None


def entry_of(image: Image) -> Descriptor:
    """The list entry for a child: its platform from its own config."""
    manifest = image.manifest
    return Descriptor(manifest.media_type, manifest.digest, manifest.size,
                      platform=image.platform)


def child_entry(client: RegistryClient, repository: str, tag: str, ref: str) -> Descriptor:
    """Read a child (by digest or tag `ref`) and return its entry; an index is refused."""
    manifest = client.get_manifest(repository, ref)
    if mt.is_index(manifest.media_type):
        raise ListPublishError(f"per-platform tag {tag} is an index, not a single manifest",
                               hint="build with --provenance=false --sbom=false")
    return entry_of(Image.load(manifest, client.repository(repository)))


def assemble_index(children: Sequence[tuple[str, Descriptor]], *,
                   media_type: str = mt.OCI_INDEX) -> Index:
    """`children` are (name for messages, entry with its platform) in list (BASEIMAGE)
    order."""
    seen: dict[tuple[str, str, str, str], str] = {}
    for name, entry in children:
        platform = entry.platform
        assert platform is not None, f"{name}: a list entry needs its platform"
        if platform.os == "windows" and not FULL_OS_VERSION.match(platform.os_version):
            raise ListPublishError(
                f"{name}: Windows image has os.version {platform.os_version!r}, "
                "not a full 10.0.<build>.<revision>",
                hint="its config must carry the base image's os.version")
        build = platform.os_version.split(".")[2] if platform.os_version else ""
        key = (platform.os, platform.architecture, platform.variant, build)
        if key in seen:
            raise ListPublishError(f"{name} and {seen[key]} are both {platform}: a list "
                                   "cannot tell them apart")
        seen[key] = name
    return build_index([entry for _, entry in children], media_type=media_type)


def publish_list(client: RegistryClient, list_tag: str, children: Sequence[ListChild | str],
                 *, media_type: str = mt.OCI_INDEX) -> PublishedList:
    """Check each child, build the list and push it under `list_tag`. A child given by tag
    alone is read by tag; one given with its descriptor is only confirmed present."""
    ref = parse_reference(list_tag)
    entries: list[tuple[str, Descriptor]] = []
    for item in children:
        child = ListChild(item, "") if isinstance(item, str) else item
        cref = parse_reference(child.tag)
        if cref.repository != ref.repository or cref.registry != ref.registry:
            raise ListPublishError(f"child {child.tag} is not in {ref.name}")
        entry = child.entry or child_entry(client, cref.repository, child.tag,
                                           child.digest or cref.ref)
        entries.append((child.tag, entry))
    index = assemble_index(entries, media_type=media_type)
    for entry in index.manifests:  # confirmed by digest right before the list goes up
        if client.head_manifest(ref.repository, entry.digest) is None:
            raise ListPublishError(f"child {entry.digest} vanished from {ref.name}")
    current = client.head_manifest(ref.repository, ref.ref)
    if current is not None and current.digest == index.digest:
        return PublishedList(str(ref), index, pushed=False)
    client.put_manifest(ref.repository, ref.ref, index.raw, index.media_type)
    return PublishedList(str(ref), index, pushed=True)
