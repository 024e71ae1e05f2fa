"""`images/<dir>/expectations.yaml`: what an image must look like, per OS, without Python.

    schemaVersion: "1.0.0"
    all:      # every platform        linux: / windows: add to (or override) it
      metadata: {labels: {image_version: "$(VERSION)"}}
    windows:
      rootImage: nanoserver
      fileExistence: [{path: /Windows/System32/vcruntime140.dll}]
      symlinks: [{directory: /bin, resolvesTo: /bin/busybox.exe, minCount: 100}]
      goBinaries: [{path: /bin/hostname.exe}]
      sizeLimits: {addedBytes: 40MiB}

Keys follow container-structure-test where it has them (fileExistence, fileContent, metadata,
shouldExist, expectedContents...). `$(VERSION)` is the image's VERSION file. Unknown keys and
wrong types are errors naming the file and line, so a typo never disables a check.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import yaml

from e2e_images.errors import VerifyError
from e2e_images.verify.checks.file_content import FileContent, FileContentCheck
from e2e_images.verify.checks.file_existence import FileExistence, FileExistenceCheck
from e2e_images.verify.checks.go_binary import GoBinary, GoBinaryCheck
from e2e_images.verify.checks.metadata import MetadataCheck
from e2e_images.verify.checks.size import SizeCheck, parse_size
from e2e_images.verify.checks.symlinks import SymlinkCheck
from e2e_images.verify.view import ImageCheck

__all__ = [
    "EXPECTATIONS_FILE",
    "Expectations",
    "ExpectationsError",
    "Section",
    "load_expectations",
    "parse_expectations",
]

EXPECTATIONS_FILE = "expectations.yaml"
SCHEMA_VERSIONS = ("1.0.0",)
OS_SECTIONS = ("all", "linux", "windows")
ROOT_IMAGES = ("nanoserver",)


class ExpectationsError(VerifyError):
    exit_code = 2


@dataclass(frozen=True, slots=True)
class Section:
    """The expectations for one OS (`all` merged with `linux` or `windows`)."""

    file_existence: tuple[FileExistence, ...] = ()
    file_content: tuple[FileContent, ...] = ()
    metadata: MetadataCheck | None = None
    size: SizeCheck | None = None
    go_binaries: tuple[GoBinary, ...] = ()
    symlinks: tuple[SymlinkCheck, ...] = ()
    root_image: str = ""

    def merged(self, over: Section) -> Section:
        meta = self.metadata
        if over.metadata is not None:
            meta = over.metadata if meta is None else _merge_meta(meta, over.metadata)
        return Section(self.file_existence + over.file_existence,
                       self.file_content + over.file_content, meta,
                       over.size if over.size is not None else self.size,
                       self.go_binaries + over.go_binaries, self.symlinks + over.symlinks,
                       over.root_image or self.root_image)

    def checks(self) -> list[ImageCheck]:
        out: list[ImageCheck] = []
        if self.metadata is not None:
            out.append(self.metadata)
        if self.file_existence:
            out.append(FileExistenceCheck(self.file_existence))
        if self.file_content:
            out.append(FileContentCheck(self.file_content))
        out += self.symlinks
        if self.go_binaries:
            out.append(GoBinaryCheck(self.go_binaries))
        if self.size is not None:
            out.append(self.size)
        return out


def _merge_meta(a: MetadataCheck, b: MetadataCheck) -> MetadataCheck:
    return MetadataCheck(
        env={**a.env, **b.env}, unset_env=a.unset_env + b.unset_env,
        entrypoint=b.entrypoint if b.entrypoint is not None else a.entrypoint,
        cmd=b.cmd if b.cmd is not None else a.cmd, labels={**a.labels, **b.labels},
        exposed_ports=b.exposed_ports if b.exposed_ports is not None else a.exposed_ports,
        workdir=b.workdir if b.workdir is not None else a.workdir,
        user=b.user if b.user is not None else a.user)


@dataclass(frozen=True, slots=True)
class Expectations:
    source: str
    sections: Mapping[str, Section] = field(default_factory=dict)

    def for_os(self, os_name: str) -> Section:
        base = self.sections.get("all", Section())
        own = self.sections.get(os_name)
        return base.merged(own) if own is not None else base


# --- parsing, with line numbers -------------------------------------------------------------

class _Reader:
    def __init__(self, source: str, version: str | None) -> None:
        self.source, self.version = source, version

    def fail(self, node: yaml.Node | None, message: str) -> ExpectationsError:
        line = node.start_mark.line + 1 if node is not None else None
        return ExpectationsError(message, path=self.source, line=line)

    def mapping(self, node: yaml.Node, what: str, allowed: tuple[str, ...]
                ) -> dict[str, yaml.Node]:
        if not isinstance(node, yaml.MappingNode):
            raise self.fail(node, f"{what} must be a mapping")
        out: dict[str, yaml.Node] = {}
        for key, value in node.value:
            name = self.scalar(key, f"a key of {what}")
            if name not in allowed:
                raise self.fail(key, f"unknown key {name!r} in {what} "
                                     f"(known: {', '.join(allowed)})")
            if name in out:
                raise self.fail(key, f"{what}: {name!r} given twice")
            out[name] = value
        return out

    def scalar(self, node: yaml.Node, what: str) -> str:
        if not isinstance(node, yaml.ScalarNode):
            raise self.fail(node, f"{what} must be a single value")
        text = str(node.value)
        if "$(VERSION)" in text:
            if self.version is None:
                raise self.fail(node, "$(VERSION) used but there is no VERSION file")
            text = text.replace("$(VERSION)", self.version)
        return text

    def string(self, node: yaml.Node, what: str) -> str:
        return self.scalar(node, what)

    def boolean(self, node: yaml.Node, what: str) -> bool:
        if not isinstance(node, yaml.ScalarNode) or node.tag != "tag:yaml.org,2002:bool":
            raise self.fail(node, f"{what} must be true or false")
        return str(node.value).lower() in ("true", "yes", "on", "y")

    def integer(self, node: yaml.Node, what: str) -> int:
        text = self.scalar(node, what)
        try:
            return int(text)
        except ValueError:
            raise self.fail(node, f"{what} must be an integer, got {text!r}") from None

    def strings(self, node: yaml.Node, what: str) -> tuple[str, ...]:
        if not isinstance(node, yaml.SequenceNode):
            raise self.fail(node, f"{what} must be a list")
        return tuple(self.scalar(n, f"an item of {what}") for n in node.value)

    def string_map(self, node: yaml.Node, what: str) -> dict[str, str]:
        if not isinstance(node, yaml.MappingNode):
            raise self.fail(node, f"{what} must be a mapping")
        return {self.scalar(k, f"a key of {what}"): self.scalar(v, f"{what} value")
                for k, v in node.value}

    def items(self, node: yaml.Node, what: str, allowed: tuple[str, ...],
              build: Callable[[dict[str, yaml.Node], yaml.Node], Any]) -> tuple[Any, ...]:
        if not isinstance(node, yaml.SequenceNode):
            raise self.fail(node, f"{what} must be a list")
        out = []
        for item in node.value:
            fields = self.mapping(item, f"an item of {what}", allowed)
            obj = build(fields, item)
            try:
                obj.validate()
            except ValueError as exc:
                raise self.fail(item, f"{what}: {exc}") from None
            out.append(obj)
        return tuple(out)


_FILE_KEYS = ("path", "shouldExist", "permissions", "uid", "gid", "isSymlink", "linkTarget")
_CONTENT_KEYS = ("path", "expectedContents", "excludedContents")
_META_KEYS = ("env", "unsetEnv", "entrypoint", "cmd", "labels", "exposedPorts", "workdir",
              "user")
_SECTION_KEYS = ("fileExistence", "fileContent", "metadata", "sizeLimits", "goBinaries",
                 "symlinks", "rootImage")


def _required(r: _Reader, fields: dict[str, yaml.Node], key: str, node: yaml.Node,
              what: str) -> str:
    if key not in fields:
        raise r.fail(node, f"{what}: {key!r} is required")
    return r.string(fields[key], key)


def _section(r: _Reader, node: yaml.Node, name: str) -> Section:
    f = r.mapping(node, name, _SECTION_KEYS)
    section = Section()

    def file_item(x: dict[str, yaml.Node], n: yaml.Node) -> FileExistence:
        return FileExistence(
            _required(r, x, "path", n, "fileExistence"),
            r.boolean(x["shouldExist"], "shouldExist") if "shouldExist" in x else True,
            r.string(x["permissions"], "permissions") if "permissions" in x else "",
            r.integer(x["uid"], "uid") if "uid" in x else -1,
            r.integer(x["gid"], "gid") if "gid" in x else -1,
            r.boolean(x["isSymlink"], "isSymlink") if "isSymlink" in x else None,
            r.string(x["linkTarget"], "linkTarget") if "linkTarget" in x else "")

    def content_item(x: dict[str, yaml.Node], n: yaml.Node) -> FileContent:
        return FileContent(
            _required(r, x, "path", n, "fileContent"),
            r.strings(x["expectedContents"], "expectedContents")
            if "expectedContents" in x else (),
            r.strings(x["excludedContents"], "excludedContents")
            if "excludedContents" in x else ())

    def go_item(x: dict[str, yaml.Node], n: yaml.Node) -> GoBinary:
        return GoBinary(_required(r, x, "path", n, "goBinaries"),
                        r.string(x["version"], "version") if "version" in x else "")

    def link_item(x: dict[str, yaml.Node], n: yaml.Node) -> SymlinkCheck:
        return SymlinkCheck(_required(r, x, "directory", n, "symlinks"),
                            _required(r, x, "resolvesTo", n, "symlinks"),
                            r.integer(x["minCount"], "minCount") if "minCount" in x else 1)

    if "fileExistence" in f:
        section = replace(section, file_existence=r.items(
            f["fileExistence"], "fileExistence", _FILE_KEYS, file_item))
    if "fileContent" in f:
        section = replace(section, file_content=r.items(
            f["fileContent"], "fileContent", _CONTENT_KEYS, content_item))
    if "goBinaries" in f:
        section = replace(section, go_binaries=r.items(
            f["goBinaries"], "goBinaries", ("path", "version"), go_item))
    if "symlinks" in f:
        section = replace(section, symlinks=r.items(
            f["symlinks"], "symlinks", ("directory", "resolvesTo", "minCount"), link_item))
    if "metadata" in f:
        m = r.mapping(f["metadata"], "metadata", _META_KEYS)
        meta = MetadataCheck(
            env=r.string_map(m["env"], "env") if "env" in m else {},
            unset_env=r.strings(m["unsetEnv"], "unsetEnv") if "unsetEnv" in m else (),
            entrypoint=r.strings(m["entrypoint"], "entrypoint") if "entrypoint" in m else None,
            cmd=r.strings(m["cmd"], "cmd") if "cmd" in m else None,
            labels=r.string_map(m["labels"], "labels") if "labels" in m else {},
            exposed_ports=r.strings(m["exposedPorts"], "exposedPorts")
            if "exposedPorts" in m else None,
            workdir=r.string(m["workdir"], "workdir") if "workdir" in m else None,
            user=r.string(m["user"], "user") if "user" in m else None)
        try:
            meta.validate()
        except ValueError as exc:
            raise r.fail(f["metadata"], f"metadata: {exc}") from None
        section = replace(section, metadata=meta)
    if "sizeLimits" in f:
        s = r.mapping(f["sizeLimits"], "sizeLimits", ("addedBytes", "totalBytes"))
        limits: dict[str, int] = {}
        for key, attr in (("addedBytes", "added_bytes"), ("totalBytes", "total_bytes")):
            if key in s:
                try:
                    limits[attr] = parse_size(r.scalar(s[key], key))
                except ValueError as exc:
                    raise r.fail(s[key], str(exc)) from None
        section = replace(section, size=SizeCheck(**limits))
    if "rootImage" in f:
        root = r.string(f["rootImage"], "rootImage")
        if root not in ROOT_IMAGES:
            raise r.fail(f["rootImage"], f"rootImage {root!r}: known: {', '.join(ROOT_IMAGES)}")
        section = replace(section, root_image=root)
    return section


def parse_expectations(text: str, *, source: str = "<expectations>",
                       version: str | None = None) -> Expectations:
    r = _Reader(source, version)
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        raise ExpectationsError(f"not valid YAML: {getattr(exc, 'problem', exc)}",
                                path=source, line=mark.line + 1 if mark else None) from None
    if root is None:
        raise ExpectationsError("empty expectations file", path=source)
    top = r.mapping(root, "the file", ("schemaVersion", *OS_SECTIONS))
    if "schemaVersion" not in top:
        raise r.fail(root, f"schemaVersion is required ({', '.join(SCHEMA_VERSIONS)})")
    schema = r.string(top["schemaVersion"], "schemaVersion")
    if schema not in SCHEMA_VERSIONS:
        raise r.fail(top["schemaVersion"], f"unsupported schemaVersion {schema!r} "
                                           f"(supported: {', '.join(SCHEMA_VERSIONS)})")
    sections = {name: _section(r, top[name], name) for name in OS_SECTIONS if name in top}
    return Expectations(source, sections)


def load_expectations(path: str | Path) -> Expectations:
    """Read a file; `$(VERSION)` comes from the VERSION file next to it."""
    p = Path(path)
    try:
        text = p.read_text()
    except OSError as exc:
        raise ExpectationsError(f"cannot read: {exc.strerror}", path=str(p)) from None
    version_file = p.parent / "VERSION"
    version = version_file.read_text().strip() if version_file.is_file() else None
    return parse_expectations(text, source=str(p), version=version)
