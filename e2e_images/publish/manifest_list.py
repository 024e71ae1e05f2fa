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

__all__ = ["ListPublishError", "PublishedList", "assemble_index", "publish_list"]


class ListPublishError(E2EImagesError):
    pass


@dataclass(frozen=True, slots=True)
class PublishedList:
    reference: str
    index: Index
    pushed: bool  # False when the tag already held this exact list


def assemble_index(children: Sequence[tuple[str, Image]], *,
                   media_type: str = mt.OCI_INDEX) -> Index:
    """`children` are (name for messages, image) in list order (BASEIMAGE order)."""
    seen: dict[tuple[str, str, str, str], str] = {}
    entries: list[Descriptor] = []
    for name, image in children:
        platform = image.platform
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
        manifest = image.manifest
        entries.append(Descriptor(manifest.media_type, manifest.digest, manifest.size,
                                  platform=platform))
    return build_index(entries, media_type=media_type)


def publish_list(client: RegistryClient, list_tag: str, child_tags: Sequence[str], *,
                 media_type: str = mt.OCI_INDEX) -> PublishedList:
    """Read each child by tag, check it, build the list and push it under `list_tag`."""
    ref = parse_reference(list_tag)
    children = []
    for tag in child_tags:
        child = parse_reference(tag)
        if child.repository != ref.repository or child.registry != ref.registry:
            raise ListPublishError(f"child {tag} is not in {ref.name}")
        manifest = client.get_manifest(child.repository, child.ref)
        if mt.is_index(manifest.media_type):
            raise ListPublishError(f"per-platform tag {tag} is an index, not a single manifest",
                                   hint="build with --provenance=false --sbom=false")
        children.append((tag, Image.load(manifest, client.repository(child.repository))))
    index = assemble_index(children, media_type=media_type)
    for entry in index.manifests:  # confirmed by digest right before the list goes up
        if client.head_manifest(ref.repository, entry.digest) is None:
            raise ListPublishError(f"child {entry.digest} vanished from {ref.name}")
    current = client.head_manifest(ref.repository, ref.ref)
    if current is not None and current.digest == index.digest:
        return PublishedList(str(ref), index, pushed=False)
    client.put_manifest(ref.repository, ref.ref, index.raw, index.media_type)
    return PublishedList(str(ref), index, pushed=True)
