"""Pure transforms from images and indexes to new ones: nothing is read, written or pushed.

A builder takes a base `Image`, appends layers, adjusts the config, and gets a new `Image`
back whose source holds the new layers' blobs in front of the base's, and whose config is
held in memory: what it returns can be pushed or written as is. Base history and diff_ids are
kept as they were, so layer identity never changes.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import replace
from typing import Any

from e2e_images.oci import media_types as mt
from e2e_images.oci.digest import validate_digest
from e2e_images.oci.image import BlobSource, ChainedBlobs, Image, Layer, MemoryBlobs
from e2e_images.oci.models import (
    ConfigFile,
    Descriptor,
    ImagePlatform,
    Index,
    Manifest,
    build_index,
    build_manifest,
)

__all__ = [
    "append_layers",
    "append_manifests",
    "scratch",
    "set_annotations",
    "with_config",
    "with_platform",
    "with_runtime",
]


def scratch(platform: ImagePlatform, *, media_type: str = mt.OCI_MANIFEST, created: str = "",
            source: BlobSource | None = None) -> Image:
    """FROM scratch: no layers, an empty runtime config."""
    config = ConfigFile.build(platform, {}, (), (), created)
    manifest = build_manifest(_config_descriptor(media_type, config), (), media_type=media_type)
    return Image(manifest, config, source if source is not None else MemoryBlobs())


def _config_descriptor(manifest_type: str, config: ConfigFile) -> Descriptor:
    kind = mt.DOCKER_CONFIG if mt.is_docker(manifest_type) else mt.OCI_CONFIG
    return Descriptor.of(kind, config.raw)


def _rebuild(config: ConfigFile, *, platform: ImagePlatform | None = None,
             runtime: Mapping[str, Any] | None = None, diff_ids: Sequence[str] | None = None,
             history: Sequence[Mapping[str, Any]] | None = None,
             created: str | None = None) -> ConfigFile:
    return ConfigFile.build(
        platform if platform is not None else config.platform,
        runtime if runtime is not None else config.runtime,
        tuple(diff_ids if diff_ids is not None else config.diff_ids),
        tuple(history if history is not None else config.history),
        created if created is not None else config.created,
    )


def with_config(image: Image, config: ConfigFile) -> Image:
    """Point the manifest at a new config, keeping layers, media type and annotations."""
    if len(config.diff_ids) != len(image.manifest.layers):
        raise ValueError(f"config has {len(config.diff_ids)} diff_ids for "
                         f"{len(image.manifest.layers)} layers")
    m = image.manifest
    manifest = build_manifest(_config_descriptor(m.media_type, config), m.layers,
                              media_type=m.media_type, annotations=m.annotations)
    return replace(image, manifest=manifest, config=config)


def _check_new(layer: Layer) -> None:
    validate_digest(layer.diff_id)
    if not mt.is_layer(layer.descriptor.media_type):
        raise ValueError(f"not a layer media type: {layer.descriptor.media_type}")


def append_layers(image: Image, layers: Iterable[Layer], *,
                  created: str | None = None) -> Image:
    """Add layers on top: descriptors, diff_ids and one history entry per layer; the new
    image reads the layers' blobs from their sources first, then from the base's.

    A layer without history gets `{"created": ...}` (when known), so the count of non-empty
    history entries keeps matching the diff_ids, as image validators expect.
    """
    added = tuple(layers)
    for layer in added:
        _check_new(layer)
    when = created if created is not None else image.config.created
    history = list(image.config.history)
    for layer in added:
        entry = dict(layer.history)
        entry.pop("empty_layer", None)
        if when and "created" not in entry:
            entry = {"created": when, **entry}
        history.append(entry)
    config = _rebuild(image.config,
                      diff_ids=(*image.config.diff_ids, *(x.diff_id for x in added)),
                      history=history, created=when)
    m = image.manifest
    manifest = build_manifest(_config_descriptor(m.media_type, config),
                              (*m.layers, *(x.descriptor for x in added)),
                              media_type=m.media_type, annotations=m.annotations)
    new = [s for s in dict.fromkeys(x.source for x in added) if s is not image.source]
    source = ChainedBlobs(*new, image.source) if new else image.source
    return Image(manifest, config, source)


def with_runtime(image: Image, changes: Mapping[str, Any], *,
                 history: Mapping[str, Any] | None = None,
                 created: str | None = None) -> Image:
    """Merge keys into the runtime config (Env, Entrypoint, Cmd, Labels, User, ...).

    A key set to None is removed. `Labels` merges with the base's labels, as LABEL does.
    `history`, when given, is recorded as an empty layer (what ENV or CMD leave behind).
    """
    runtime = dict(image.config.runtime)
    for key, value in changes.items():
        if value is None:
            runtime.pop(key, None)
        elif key == "Labels":
            runtime["Labels"] = {**(runtime.get("Labels") or {}), **value}
        else:
            runtime[key] = value
    entries = list(image.config.history)
    if history is not None:
        entries.append({**({"created": created} if created else {}), **history,
                        "empty_layer": True})
    config = _rebuild(image.config, runtime=runtime, history=entries, created=created)
    return with_config(image, config)


def with_platform(image: Image, platform: ImagePlatform) -> Image:
    """Set os/architecture/variant/os.version in the config (a Windows build pins os.version)."""
    return with_config(image, _rebuild(image.config, platform=platform))


def append_manifests(index: Index | None, descriptors: Iterable[Descriptor], *,
                     media_type: str | None = None) -> Index:
    """A new index with these entries after the existing ones (None starts an empty index).

    Every image entry needs a platform; a digest already present is refused, since two entries
    for one manifest make platform matching ambiguous.
    """
    existing = tuple(index.manifests) if index is not None else ()
    seen = {d.digest for d in existing}
    added: list[Descriptor] = []
    for d in descriptors:
        if not mt.is_manifest(d.media_type):
            raise ValueError(f"index entry {d.digest} has media type {d.media_type!r}")
        if mt.is_image(d.media_type) and d.platform is None and not d.is_attestation:
            raise ValueError(f"index entry {d.digest} has no platform")
        if d.digest in seen:
            raise ValueError(f"index already lists {d.digest}")
        seen.add(d.digest)
        added.append(d)
    kind = media_type or (index.media_type if index is not None else mt.OCI_INDEX)
    return build_index((*existing, *added), media_type=kind,
                       annotations=index.annotations if index is not None else None)


def set_annotations(target: Manifest | Index, annotations: Mapping[str, str | None]
                    ) -> Manifest | Index:
    """Merge annotations into a manifest or index (None removes a key); a new digest results."""
    merged = dict(target.annotations)
    for key, value in annotations.items():
        if value is None:
            merged.pop(key, None)
        else:
            merged[key] = value
    if isinstance(target, Index):
        return build_index(target.manifests, media_type=target.media_type, annotations=merged)
    return build_manifest(target.config, target.layers, media_type=target.media_type,
                          annotations=merged)
