"""Where to pull an upstream image from instead: a map of registry prefixes to mirror prefixes.

The hermetic suite seeds stand-ins under `<mirror>/<upstream host>/<path>` and rewrites every
upstream reference through this map; users point the same YAML at their own mirrors:

    docker.io: 127.0.0.1:5000/docker.io
    mcr.microsoft.com: registry.example:443/mcr
    docker.io/library/busybox: 127.0.0.1:5000/pinned/busybox

Keys are upstream prefixes on `/` boundaries (`docker.io/library` matches
`docker.io/library/busybox`, not `docker.io/libraryx`); the longest matching key wins.
The file may also be a KUBE_TEST_REPO_LIST-style file (`dockerLibraryRegistry: ...`), whose
keys `repo_list` translates; `load` is the one loader for both and the only IO here.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

import yaml

from e2e_images.registry import repo_list
from e2e_images.registry.reference import (
    Reference,
    ReferenceError,
    canonical_host,
    host_of,
    is_registry_host,
    parse_reference,
)

__all__ = ["Mirror", "MirrorMap", "load"]


def _normalise_upstream(prefix: str) -> str:
    text = prefix.strip().strip("/")
    host = host_of(text)
    return canonical_host(host) + text[len(host):]


@dataclass(frozen=True, slots=True)
class Mirror:
    upstream: str  # `registry[/path]`, normalised (index.docker.io -> docker.io)
    mirror: str  # `host[:port][/path]`

    def matches(self, name: str) -> bool:
        return name == self.upstream or name.startswith(self.upstream + "/")


@dataclass(frozen=True, slots=True)
class MirrorMap:
    mirrors: tuple[Mirror, ...] = ()

    @classmethod
    def from_mapping(cls, mapping: Mapping[str, str], *, source: str = "<mirror map>") -> MirrorMap:
        entries: list[Mirror] = []
        for upstream, mirror in mapping.items():
            if not isinstance(upstream, str) or not isinstance(mirror, str) or not mirror.strip():
                raise ReferenceError(f"mirror map entry {upstream!r}: {mirror!r} is not a "
                                     "`prefix: mirror-prefix` pair of strings", path=source)
            entries.append(_checked(Mirror(_normalise_upstream(upstream),
                                           mirror.strip().strip("/")), source))
        return cls(tuple(entries))

    @classmethod
    def single(cls, upstream_hosts: Iterable[str], mirror_prefix: str) -> MirrorMap:
        """Every host under one prefix, host kept as the first path component."""
        prefix = mirror_prefix.strip().strip("/")
        return cls.from_mapping({h: f"{prefix}/{_normalise_upstream(h)}" for h in upstream_hosts})

    def find(self, ref: Reference) -> Mirror | None:
        matching = [m for m in self.mirrors if m.matches(ref.name)]
        return max(matching, key=lambda m: len(m.upstream)) if matching else None

    def rewrite(self, ref: str | Reference) -> Reference:
        """The mirrored reference (tag and digest kept), or the reference itself if unmapped."""
        parsed = parse_reference(ref) if isinstance(ref, str) else ref
        mirror = self.find(parsed)
        if mirror is None:
            return parsed
        rest = parsed.name[len(mirror.upstream):]
        text = mirror.mirror + rest
        if parsed.tag:
            text += f":{parsed.tag}"
        if parsed.digest:
            text += f"@{parsed.digest}"
        return parse_reference(text)

    def __len__(self) -> int:
        return len(self.mirrors)


def _checked(mirror: Mirror, source: str) -> Mirror:
    for side, text in (("upstream", mirror.upstream), ("mirror", mirror.mirror)):
        if not is_registry_host(host_of(text)):
            raise ReferenceError(
                f"mirror map entry {mirror.upstream!r}: {side} {text!r} does not start with a "
                "registry host", path=source,
                hint="write host[:port][/path], e.g. 127.0.0.1:5000/docker.io")
        try:
            parse_reference(text + "/x")
        except ReferenceError as exc:
            raise ReferenceError(f"mirror map entry {mirror.upstream!r}: {exc.message}",
                                 path=source) from None
    return mirror


def load(path: str | Path) -> MirrorMap:
    """Read a YAML mapping `upstream-prefix: mirror-prefix` (empty file: no mirrors), or a
    KUBE_TEST_REPO_LIST-style file of framework registry keys."""
    source = str(path)
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise ReferenceError(f"cannot read mirror map: {exc.strerror}", path=source) from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark is not None else None
        raise ReferenceError(f"mirror map is not valid YAML: {exc}", path=source,
                             line=line) from None
    if data is None:
        return MirrorMap()
    if not isinstance(data, dict):
        raise ReferenceError("mirror map must be a YAML mapping of upstream prefix to mirror "
                             "prefix", path=source)
    if repo_list.is_repo_list(data):
        data = repo_list.upstream_prefixes(data, source=source)
    return MirrorMap.from_mapping(data, source=source)
