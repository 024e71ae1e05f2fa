"""`--artifacts FILE`: where `ADD <url>` downloads come from on a machine without internet.

The file maps URL prefixes to a mirror URL prefix or a local directory, with optional sha256
pins (README, "ADD <url> and --artifacts"):

    artifacts:
      - prefix: https://curl.se/
        mirror: http://127.0.0.1:5001/curl.se/
      - prefix: https://github.com/kubernetes-sigs/windows-testing/
        directory: ./windows-testing/      # relative to this file
    pins:
      https://curl.se/windows/curl.zip: sha256:<64 hex>

`ArtifactRouter` answers the two questions the fetcher and buildah ask (`url_for`,
`sha256_for`) from this map first, then from the hermetic stand-in mirror, else the URL
itself. One home for reading and writing the format: `load_artifacts_file`,
`write_artifacts_file`.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

import yaml

from e2e_images.errors import BuildError, E2EImagesError

__all__ = ["ArtifactMap", "ArtifactRouter", "ArtifactRule", "ArtifactsFileError",
           "load_artifacts_file", "write_artifacts_file"]

_SHA256 = re.compile(r"^sha256:[0-9a-f]{64}$")


@dataclass(frozen=True, slots=True)
class ArtifactRule:
    prefix: str
    mirror: str | None = None  # a URL prefix replacing `prefix`
    directory: Path | None = None  # a local directory holding what is below `prefix`

    def to_yaml(self, base: Path) -> dict[str, str]:
        if self.mirror is not None:
            return {"prefix": self.prefix, "mirror": self.mirror}
        assert self.directory is not None
        directory = Path(os.path.relpath(self.directory, base)).as_posix()
        return {"prefix": self.prefix, "directory": directory.rstrip("/") + "/"}


@dataclass(frozen=True, slots=True)
class ArtifactMap:
    rules: tuple[ArtifactRule, ...] = ()
    pins: Mapping[str, str] = field(default_factory=dict)  # url -> sha256 hex
    source: str = ""

    def match(self, url: str) -> ArtifactRule | None:
        """The longest prefix that `url` starts with."""
        found = [r for r in self.rules if url.startswith(r.prefix)]
        return max(found, key=lambda r: len(r.prefix)) if found else None


class ArtifactsFileError(BuildError):
    """A bad --artifacts file is bad input: exit 2, like a bad catalog."""

    exit_code = 2


def _fail(path: Path, message: str, line: int | None = None) -> ArtifactsFileError:
    return ArtifactsFileError(message, path=str(path), line=line,
                              hint="see README, `ADD <url>` and --artifacts, for the format")


def _is_url_prefix(text: str) -> bool:
    return text.startswith(("http://", "https://")) and "/" in text.split("://", 1)[1]


def load_artifacts_file(path: Path | str) -> ArtifactMap:
    path = Path(path)
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except OSError as exc:
        raise _fail(path, f"cannot read the artifacts file: {exc.strerror}") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        raise _fail(path, f"invalid YAML: {getattr(exc, 'problem', exc)}",
                    mark.line + 1 if mark else None) from None
    if not isinstance(data, dict) or set(data) - {"artifacts", "pins"}:
        raise _fail(path, "expected a mapping with keys 'artifacts' and 'pins'")
    rules = []
    for n, item in enumerate(data.get("artifacts") or [], 1):
        if not isinstance(item, dict) or "prefix" not in item or \
                len(set(item) & {"mirror", "directory"}) != 1 or \
                set(item) - {"prefix", "mirror", "directory"}:
            raise _fail(path, f"artifacts entry {n}: expected 'prefix' and one of 'mirror' "
                              "or 'directory'")
        prefix = str(item["prefix"])
        if not _is_url_prefix(prefix):
            raise _fail(path, f"artifacts entry {n}: prefix {prefix!r} is not an http(s) URL")
        if "mirror" in item:
            mirror = str(item["mirror"])
            if not _is_url_prefix(mirror):
                raise _fail(path, f"artifacts entry {n}: mirror {mirror!r} is not an http(s) "
                                  "URL")
            rules.append(ArtifactRule(prefix, mirror=mirror))
        else:
            directory = (path.parent / str(item["directory"])).resolve()
            if not directory.is_dir():
                raise _fail(path, f"artifacts entry {n}: directory {directory} does not exist")
            rules.append(ArtifactRule(prefix, directory=directory))
    pins = {}
    for url, value in (data.get("pins") or {}).items():
        if not isinstance(value, str) or not _SHA256.match(value):
            raise _fail(path, f"pin for {url}: expected sha256:<64 hex digits>, got {value!r}")
        pins[str(url)] = value.removeprefix("sha256:")
    return ArtifactMap(tuple(rules), pins, str(path))


def _rule(entry: ArtifactRule | Mapping[str, str]) -> ArtifactRule:
    if isinstance(entry, ArtifactRule):
        return entry
    directory = entry.get("directory")
    return ArtifactRule(entry["prefix"], mirror=entry.get("mirror"),
                        directory=Path(directory).resolve() if directory else None)


def write_artifacts_file(path: Path | str, entries: Iterable[ArtifactRule | Mapping[str, str]],
                         pins: Mapping[str, str] | None = None) -> Path:
    """Write an artifacts file (atomically). Entries are ArtifactRules or mappings with
    `prefix` and `mirror` or `directory`; directories are written relative to the file, pins
    given as hex or `sha256:<hex>`. `load_artifacts_file` reads back the same map."""
    path = Path(path)
    base = path.parent.resolve()
    data: dict[str, object] = {"artifacts": [_rule(e).to_yaml(base) for e in entries]}
    if pins:
        data["pins"] = {u: v if v.startswith("sha256:") else f"sha256:{v}"
                        for u, v in pins.items()}
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(yaml.safe_dump(data, sort_keys=False))
    os.replace(tmp, path)
    return path


class _Mirror(Protocol):
    def url_for(self, original: str) -> str: ...

    def sha256_for(self, original: str) -> str: ...


@dataclass
class ArtifactRouter:
    """Where one URL is downloaded from: the --artifacts map, then the hermetic stand-in
    mirror, else the URL itself. `serve_directory(rule, rest)` gives a URL (loopback) for a
    file below a directory rule, so buildah's ADD reaches it as the native builder does."""

    artifact_map: ArtifactMap = field(default_factory=ArtifactMap)
    fallback: _Mirror | None = None
    serve_directory: Callable[[ArtifactRule, str], str] | None = None

    def _standin(self, url: str) -> str | None:
        if self.fallback is None:
            return None
        try:
            return self.fallback.url_for(url)
        except E2EImagesError:
            return None

    def mapped(self, url: str) -> bool:
        return self.artifact_map.match(url) is not None or self._standin(url) is not None

    def url_for(self, url: str) -> str:
        rule = self.artifact_map.match(url)
        if rule is None:
            return self._standin(url) or url
        rest = url[len(rule.prefix):]
        if rule.mirror is not None:
            return rule.mirror + rest
        if self.serve_directory is None:
            raise BuildError(f"{url}: mapped to directory {rule.directory}, which is not served")
        return self.serve_directory(rule, rest)

    def sha256_for(self, url: str) -> str | None:
        if url in self.artifact_map.pins:
            return self.artifact_map.pins[url]
        if self.artifact_map.match(url) is None and self._standin(url) is not None:
            assert self.fallback is not None
            return self.fallback.sha256_for(url)
        return None
