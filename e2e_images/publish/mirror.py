"""Copy upstream images into the staging registry with their digests unchanged.

The mirror config (YAML, default `<images-dir>/staging-mirrors.yaml`) lists them:

    mirrors:
      - source: docker.io/library/busybox:1.36.1
        name: busybox          # staging repository (default: the source path, minus library/)
        tag: 1.36.1            # default: the source tag
        digest: sha256:...     # optional pin: refuse if upstream now serves something else

Every index and each child is copied by digest, children first, blobs streamed registry to
registry (or mounted across repositories when source and staging are the same registry),
and a tag that already holds the digest is left alone, so a second run pushes nothing. The
source is reached through the run's mirror map, so on the hermetic default the stand-ins are
"upstream". Mirrors are staging-only: promote reads the same config and never proposes them.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from e2e_images.errors import E2EImagesError, RegistryError
from e2e_images.oci.digest import is_digest
from e2e_images.publish.files import PublishInputError, read_yaml
from e2e_images.registry.pool import ClientPool
from e2e_images.registry.reference import Reference, ReferenceError, parse_reference
from e2e_images.registry.write import copy_manifest_tree

__all__ = ["MIRROR_CONFIG", "MirrorConfig", "MirrorResult", "MirrorSpec", "load_mirror_config",
           "mirror_images", "staging_reference"]

MIRROR_CONFIG = "staging-mirrors.yaml"
_KEYS = {"source", "name", "tag", "digest"}


@dataclass(frozen=True, slots=True)
class MirrorSpec:
    source: Reference
    name: str
    tag: str
    digest: str | None = None
    line: int | None = None


@dataclass(frozen=True, slots=True)
class MirrorConfig:
    mirrors: tuple[MirrorSpec, ...]
    source: str = "<mirror config>"

    def staging_only(self) -> frozenset[tuple[str, str]]:
        """(repository name, tag) pairs in staging that are mirrors, never promoted."""
        return frozenset((m.name, m.tag) for m in self.mirrors)


@dataclass(frozen=True, slots=True)
class MirrorResult:
    spec: MirrorSpec
    source: str  # where it was read from, after the mirror map
    destination: str  # `<registry>/<name>:<tag>`
    digest: str
    pushed: bool  # False: the staging tag already held this digest


def _default_name(ref: Reference) -> str:
    path = ref.repository
    return path[len("library/"):] if path.startswith("library/") else path


def _spec(item: object, index: int, source: str, lines: list[int | None]) -> MirrorSpec:
    line = lines[index] if index < len(lines) else None
    if isinstance(item, str):
        item = {"source": item}
    if not isinstance(item, dict) or "source" not in item or set(item) - _KEYS:
        raise PublishInputError(f"mirror {index + 1}: expected a mapping with `source:` and "
                                f"optionally {', '.join(sorted(_KEYS - {'source'}))}",
                                path=source, line=line)
    try:
        ref = parse_reference(str(item["source"]))
    except ReferenceError as exc:
        raise PublishInputError(f"mirror {index + 1}: {exc.message}", path=source,
                                line=line) from None
    tag = str(item.get("tag") or ref.tag or "")
    if not tag:
        raise PublishInputError(f"mirror {index + 1}: {ref} has no tag; give `tag:`",
                                path=source, line=line)
    digest = item.get("digest") or ref.digest or None
    if digest is not None and not is_digest(str(digest)):
        raise PublishInputError(f"mirror {index + 1}: {digest!r} is not a digest",
                                path=source, line=line)
    name = str(item.get("name") or _default_name(ref)).strip("/")
    return MirrorSpec(ref, name, tag, str(digest) if digest else None, line)


def _item_lines(text: str) -> list[int | None]:
    """1-based line of each `- ` item under `mirrors:`, for messages (best effort)."""
    import yaml

    try:
        node = yaml.compose(text)
    except yaml.YAMLError:
        return []
    if not isinstance(node, yaml.MappingNode):
        return []
    for key, value in node.value:
        if key.value == "mirrors" and isinstance(value, yaml.SequenceNode):
            return [v.start_mark.line + 1 for v in value.value]
    return []


def load_mirror_config(path: str | Path) -> MirrorConfig:
    source = str(path)
    data = read_yaml(path, what="mirror config")
    if data is None:
        return MirrorConfig((), source)
    if not isinstance(data, dict) or set(data) != {"mirrors"} or not isinstance(
            data["mirrors"], list | type(None)):
        raise PublishInputError("a mirror config has one key, `mirrors:`, a list of "
                                "`- source: <upstream ref>`", path=source)
    lines = _item_lines(Path(path).read_text(encoding="utf-8"))
    specs = tuple(_spec(item, i, source, lines) for i, item in enumerate(data["mirrors"] or []))
    seen: dict[tuple[str, str], MirrorSpec] = {}
    for s in specs:
        first = seen.setdefault((s.name, s.tag), s)
        if first is not s:
            raise PublishInputError(f"{s.name}:{s.tag} is the destination of two mirrors "
                                    f"(first on line {first.line})", path=source, line=s.line)
    return MirrorConfig(specs, source)


def staging_reference(registry: str, spec: MirrorSpec) -> Reference:
    return parse_reference(f"{registry.rstrip('/')}/{spec.name}:{spec.tag}")


def mirror_one(pool: ClientPool, registry: str, spec: MirrorSpec) -> MirrorResult:
    where = pool.resolve(spec.source)
    src = pool.client(where.registry)
    found = src.head_manifest(where.repository, where.ref)
    if found is None:
        raise RegistryError(f"mirror {spec.source}: not found at {where}")
    if spec.digest and found.digest != spec.digest:
        raise RegistryError(f"mirror {spec.source}: upstream serves {found.digest}, but the "
                            f"config pins {spec.digest}", hint="update the pin deliberately")
    dst_ref = staging_reference(registry, spec)
    dst = pool.client(dst_ref.registry)
    held = dst.head_manifest(dst_ref.repository, spec.tag)
    if held is not None and held.digest == found.digest:
        return MirrorResult(spec, str(where), str(dst_ref), found.digest, False)
    copied = copy_manifest_tree(src, where.repository, found.digest, dst, dst_ref.repository,
                                spec.tag)
    if copied != found.digest:
        raise RegistryError(f"mirror {spec.source}: staging holds {copied}, not the upstream "
                            f"digest {found.digest}")
    return MirrorResult(spec, str(where), str(dst_ref), copied, True)


def mirror_images(config: MirrorConfig, pool: ClientPool, registry: str
                  ) -> tuple[MirrorResult, ...]:
    """Mirror every entry into `registry` (`host[/namespace]`); the first failure raises."""
    out: list[MirrorResult] = []
    for spec in config.mirrors:
        try:
            out.append(mirror_one(pool, registry, spec))
        except E2EImagesError as exc:
            if spec.line is not None and exc.path is None:
                exc.path, exc.line = config.source, spec.line
            raise
    return tuple(out)
