"""Manifest, index, config and descriptor models that keep the bytes they were read from.

A model parsed from bytes keeps them in `raw`; its digest is sha256(raw). Models we create are
serialised once, by `build_*`, and then behave the same way. Nothing here re-serialises a
manifest it did not create, so digests survive every round trip.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from e2e_images.oci import media_types as mt
from e2e_images.oci.digest import sha256_digest, validate_digest

__all__ = [
    "ConfigFile",
    "Descriptor",
    "ImagePlatform",
    "Index",
    "Manifest",
    "build_index",
    "build_manifest",
    "canonical_json",
    "parse_manifest",
]


def canonical_json(obj: Any) -> bytes:
    """The one serialisation of JSON we write: compact, key order as given."""
    return json.dumps(obj, separators=(",", ":"), ensure_ascii=False).encode()


def _loads(raw: bytes, what: str) -> dict[str, Any]:
    try:
        obj = json.loads(raw)
    except (ValueError, UnicodeDecodeError) as exc:
        raise ValueError(f"{what} is not valid JSON: {exc}") from None
    if not isinstance(obj, dict):
        raise ValueError(f"{what} is not a JSON object")
    return obj


@dataclass(frozen=True, slots=True)
class ImagePlatform:
    """The platform of an index entry or image config (`os.version` kept verbatim)."""

    os: str
    architecture: str
    variant: str = ""
    os_version: str = ""
    os_features: tuple[str, ...] = ()

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> ImagePlatform:
        return cls(
            os=str(d.get("os", "")),
            architecture=str(d.get("architecture", "")),
            variant=str(d.get("variant", "") or ""),
            os_version=str(d.get("os.version", "") or ""),
            os_features=tuple(d.get("os.features") or ()),
        )

    def to_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {"architecture": self.architecture, "os": self.os}
        if self.os_version:
            d["os.version"] = self.os_version
        if self.os_features:
            d["os.features"] = list(self.os_features)
        if self.variant:
            d["variant"] = self.variant
        return d

    def __str__(self) -> str:
        text = "/".join(p for p in (self.os, self.architecture, self.variant) if p)
        return f"{text}:{self.os_version}" if self.os_version else text


@dataclass(frozen=True, slots=True)
class Descriptor:
    media_type: str
    digest: str
    size: int
    platform: ImagePlatform | None = None
    annotations: Mapping[str, str] = field(default_factory=dict)
    urls: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        validate_digest(self.digest)

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> Descriptor:
        plat = d.get("platform")
        return cls(
            media_type=str(d.get("mediaType", "")),
            digest=str(d.get("digest", "")),
            size=int(d.get("size", 0)),
            platform=ImagePlatform.from_dict(plat) if isinstance(plat, dict) else None,
            annotations=dict(d.get("annotations") or {}),
            urls=tuple(d.get("urls") or ()),
        )

    @classmethod
    def of(cls, media_type: str, data: bytes, **kwargs: Any) -> Descriptor:
        return cls(media_type, sha256_digest(data), len(data), **kwargs)

    def to_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {"mediaType": self.media_type, "digest": self.digest,
                             "size": self.size}
        if self.urls:
            d["urls"] = list(self.urls)
        if self.annotations:
            d["annotations"] = dict(self.annotations)
        if self.platform is not None:
            d["platform"] = self.platform.to_dict()
        return d

    @property
    def is_attestation(self) -> bool:
        return self.annotations.get(mt.REFERENCE_TYPE_ANNOTATION) == mt.ATTESTATION_MANIFEST


@dataclass(frozen=True, slots=True)
class _Document:
    """Bytes as they came, with a media type: the digest is always the sha256 of `raw`."""

    raw: bytes
    media_type: str

    @property
    def digest(self) -> str:
        return sha256_digest(self.raw)

    @property
    def size(self) -> int:
        return len(self.raw)


@dataclass(frozen=True, slots=True)
class Manifest(_Document):
    """A single-platform image manifest (OCI or Docker v2s2)."""

    config: Descriptor
    layers: tuple[Descriptor, ...]
    annotations: Mapping[str, str] = field(default_factory=dict)

    def descriptor(self, platform: ImagePlatform | None = None) -> Descriptor:
        return Descriptor(self.media_type, self.digest, self.size, platform=platform)


@dataclass(frozen=True, slots=True)
class Index(_Document):
    """An OCI image index or Docker manifest list; entry order is significant."""

    manifests: tuple[Descriptor, ...]
    annotations: Mapping[str, str] = field(default_factory=dict)

    def platforms(self) -> tuple[Descriptor, ...]:
        """The runnable entries: attestation manifests are not platforms."""
        return tuple(d for d in self.manifests if not d.is_attestation)

    def descriptor(self) -> Descriptor:
        return Descriptor(self.media_type, self.digest, self.size)


def parse_manifest(raw: bytes, media_type: str | None = None) -> Manifest | Index:
    """Parse manifest bytes, trusting the body's mediaType, else the transport's, else shape."""
    obj = _loads(raw, "manifest")
    kind = obj.get("mediaType") or media_type or ""
    if not kind:
        kind = mt.OCI_INDEX if "manifests" in obj else mt.OCI_MANIFEST
    if obj.get("schemaVersion") != 2:
        raise ValueError(f"unsupported manifest schemaVersion {obj.get('schemaVersion')!r}")
    annotations = dict(obj.get("annotations") or {})
    if mt.is_index(kind):
        entries = tuple(Descriptor.from_dict(d) for d in obj.get("manifests") or ())
        return Index(raw, kind, entries, annotations)
    if mt.is_image(kind):
        if not isinstance(obj.get("config"), dict):
            raise ValueError("image manifest has no config descriptor")
        layers = tuple(Descriptor.from_dict(d) for d in obj.get("layers") or ())
        return Manifest(raw, kind, Descriptor.from_dict(obj["config"]), layers, annotations)
    raise ValueError(f"unsupported manifest media type {kind!r}")


def build_manifest(
    config: Descriptor,
    layers: tuple[Descriptor, ...] | list[Descriptor],
    *,
    media_type: str = mt.OCI_MANIFEST,
    annotations: Mapping[str, str] | None = None,
) -> Manifest:
    obj: dict[str, Any] = {"schemaVersion": 2, "mediaType": media_type,
                           "config": config.to_dict(),
                           "layers": [layer.to_dict() for layer in layers]}
    if annotations:
        obj["annotations"] = dict(annotations)
    return Manifest(canonical_json(obj), media_type, config, tuple(layers), dict(annotations or {}))


def build_index(
    manifests: tuple[Descriptor, ...] | list[Descriptor],
    *,
    media_type: str = mt.OCI_INDEX,
    annotations: Mapping[str, str] | None = None,
) -> Index:
    obj: dict[str, Any] = {"schemaVersion": 2, "mediaType": media_type,
                           "manifests": [d.to_dict() for d in manifests]}
    if annotations:
        obj["annotations"] = dict(annotations)
    return Index(canonical_json(obj), media_type, tuple(manifests), dict(annotations or {}))


@dataclass(frozen=True, slots=True)
class ConfigFile:
    """An image config. `runtime` is the `config` object (Env, Entrypoint, Cmd, Labels, ...)."""

    raw: bytes
    platform: ImagePlatform
    runtime: Mapping[str, Any]
    diff_ids: tuple[str, ...]
    history: tuple[Mapping[str, Any], ...]
    created: str = ""

    @classmethod
    def parse(cls, raw: bytes) -> ConfigFile:
        obj = _loads(raw, "image config")
        rootfs = obj.get("rootfs") or {}
        return cls(
            raw=raw,
            platform=ImagePlatform.from_dict(obj),
            runtime=dict(obj.get("config") or {}),
            diff_ids=tuple(rootfs.get("diff_ids") or ()),
            history=tuple(obj.get("history") or ()),
            created=str(obj.get("created") or ""),
        )

    @classmethod
    def build(
        cls,
        platform: ImagePlatform,
        runtime: Mapping[str, Any],
        diff_ids: tuple[str, ...] | list[str],
        history: tuple[Mapping[str, Any], ...] | list[Mapping[str, Any]] = (),
        created: str = "",
    ) -> ConfigFile:
        obj: dict[str, Any] = {}
        if created:
            obj["created"] = created
        obj |= {"architecture": platform.architecture, "os": platform.os}
        if platform.os_version:
            obj["os.version"] = platform.os_version
        if platform.os_features:
            obj["os.features"] = list(platform.os_features)
        if platform.variant:
            obj["variant"] = platform.variant
        obj["config"] = dict(runtime)
        obj["rootfs"] = {"type": "layers", "diff_ids": list(diff_ids)}
        if history:
            obj["history"] = [dict(h) for h in history]
        return cls(canonical_json(obj), platform, dict(runtime), tuple(diff_ids),
                   tuple(history), created)

    @property
    def digest(self) -> str:
        return sha256_digest(self.raw)

    @property
    def env(self) -> dict[str, str]:
        out: dict[str, str] = {}
        for item in self.runtime.get("Env") or ():
            name, _, value = str(item).partition("=")
            out[name] = value
        return out

    @property
    def labels(self) -> dict[str, str]:
        return dict(self.runtime.get("Labels") or {})

    @property
    def entrypoint(self) -> tuple[str, ...]:
        return tuple(self.runtime.get("Entrypoint") or ())

    @property
    def cmd(self) -> tuple[str, ...]:
        return tuple(self.runtime.get("Cmd") or ())
