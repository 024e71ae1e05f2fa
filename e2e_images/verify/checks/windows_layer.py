"""W1-W13: does a layer (and a config) have the form a Windows node imports?

Re-checks, independently of `layers.windows`, the rules of docs/windows-layers.md on the
raw tar headers (`oci.fs.iter_layer`), so a layer from any producer (BuildKit, ko, Windows'
own export, ours) is judged the same way, with the severity that document gives each rule:
an error where the node refuses the layer or the image breaks, a warning where the node
tolerates a departure from Windows' own export. Symlink targets (W6) are resolved as Windows
would, in the image's merged filesystem. Only layers the build added get the added-layer
rules; base layers (known from the caller, or by layout: leading layers holding `UtilityVM/`)
get the base-layer rules. Every finding is returned, never just the first.
"""

from __future__ import annotations

import base64
import posixpath
import re
from collections.abc import Iterable, Set
from dataclasses import dataclass

from e2e_images.errors import LayerError
from e2e_images.oci import media_types as mt
from e2e_images.oci.fs import EntryType, LayerProblem, RawMember, iter_layer
from e2e_images.oci.image import Layer
from e2e_images.oci.models import ConfigFile
from e2e_images.platforms import FULL_OS_VERSION
from e2e_images.verify.result import ERROR, WARNING, CheckResult, Finding, Severity
from e2e_images.verify.view import ImageView

__all__ = ["Symlink", "WindowsLayerCheck", "judge_symlinks", "lint_config", "lint_layer",
           "lint_members"]

FILES, HIVES, UTILITY_VM = "Files", "Hives", "UtilityVM"
_CREATION_TIME = re.compile(r"^\d+(\.\d{1,9})?$")
_PARSABLE_TIME = re.compile(r"^-?\d+(\.\d+)?$")  # what the importer's PAX time parser reads
_ATTR_DIRECTORY = 0x10
_SE_SELF_RELATIVE = 0x8000
_EXECUTABLE = (".exe", ".dll", ".sys")
_LINUX_PATH_DIRS = ("/usr/local/sbin", "/usr/local/bin", "/usr/sbin", "/usr/bin", "/sbin",
                    "/bin")
_LINUX_SHELLS = ("/bin/sh", "/bin/bash", "/bin/ash")
_OPAQUE = ".wh..wh..opq"
_MISSING_LINK = ("hardlink target {target} is not earlier in the layer or in a lower layer "
                 "(node error \"invalid hard link in layer\")")


def _area(name: str) -> str:
    return name.split("/", 1)[0]


def _bad_sd(value: str) -> str:
    """Why a MSWINDOWS.rawsd value is not a self-relative security descriptor ('' if it is)."""
    try:
        raw = base64.b64decode(value, validate=True)
    except ValueError:
        return "is not base64"
    if len(raw) < 20:
        return f"is {len(raw)} bytes, shorter than a descriptor header"
    if raw[0] != 1:
        return f"has revision {raw[0]}, not 1"
    if not int.from_bytes(raw[2:4], "little") & _SE_SELF_RELATIVE:
        return "is not self-relative (SE_SELF_RELATIVE unset)"
    for i, what in ((4, "owner"), (8, "group"), (12, "SACL"), (16, "DACL")):
        offset = int.from_bytes(raw[i:i + 4], "little")
        if offset and offset >= len(raw):
            return f"points its {what} past its end"
    return ""


def _bad_creation_time(member: RawMember) -> tuple[str, Severity] | None:
    """Why a LIBARCHIVE.creationtime is wrong, and how much it matters (None: it is fine)."""
    value = member.pax.get("LIBARCHIVE.creationtime")
    if value is None:
        return None
    if not _PARSABLE_TIME.match(value):
        return (f"LIBARCHIVE.creationtime {value!r} does not parse as a time (the importer "
                "fails on it)", ERROR)
    if not _CREATION_TIME.match(value):
        return (f"LIBARCHIVE.creationtime {value!r} has a fraction of more than 9 digits",
                WARNING)
    # `%d.%d` writers give themselves away when the creation time is the mtime: same seconds,
    # and the fraction is the mtime's nanoseconds without their leading zeros.
    mtime = member.pax.get("mtime", "")
    sec, _, frac = value.partition(".")
    msec, _, mfrac = mtime.partition(".")
    if frac and mfrac and sec == msec:
        nanos = int(mfrac.ljust(9, "0")[:9])
        if nanos and frac == str(nanos) and frac != mfrac.ljust(9, "0").rstrip("0"):
            return (f"LIBARCHIVE.creationtime {value!r} is the mtime's {nanos} ns written "
                    "without zero padding (reads back as a different time)", WARNING)
    return None


@dataclass(frozen=True, slots=True)
class Symlink:
    """A symlink as a layer wrote it: its tar name (`Files/bin/ls.exe`) and verbatim target."""

    name: str
    target: str
    layer: str = ""


def lint_members(members: Iterable[RawMember], *, platform: str = "", layer: str = "",
                 media_type: str = mt.OCI_LAYER_GZIP, urls: tuple[str, ...] = (),
                 base_layer: bool = False, lower: Set[str] = frozenset(),
                 lower_complete: bool = True, seen: set[str] | None = None,
                 links: list[Symlink] | None = None,
                 unresolved: list[Symlink] | None = None) -> list[Finding]:
    """W1-W5, W7-W12 on one layer's headers (W6 needs the merged image: the layer's
    symlinks are appended to `links` for `judge_symlinks`). `lower` holds names (as written)
    of layers below (`lower_complete`: all of them, so a hardlink target missing there is
    really missing; otherwise such hardlinks go to `unresolved` for the merged view); names
    of this layer are added to `seen` when given."""
    out: list[Finding] = []
    where = f"{layer}: " if layer else ""

    def add(rule: str, subject: str, message: str, severity: Severity = ERROR) -> None:
        out.append(Finding(rule, platform, subject, where + message, severity))

    if not mt.is_layer(media_type) or mt.layer_compression(media_type) == "zstd":
        add("W12", "mediaType", f"layer media type {media_type!r} is not tar or tar+gzip")
    if urls and not mt.is_foreign(media_type):
        add("W12", "urls", f"urls on a distributable layer ({media_type})")
    names: dict[str, str] = {}  # casefolded -> as written
    tops: set[str] = set()
    for m in members:
        name = m.name.rstrip("/")
        if not m.pax:
            add("W1", name, "entry has no PAX records (not a PAX-format tar)", WARNING)
        if name in (FILES, HIVES):
            tops.add(name)
            if m.type is not EntryType.DIR:
                add("W2", name, f"top-level {name} is a {m.type}, not a directory", WARNING)
        parts = name.split("/")
        if m.name.startswith("/") or ".." in parts:
            add("W3", name, "name is absolute or climbs with '..' (refused)")
        elif "\\" in name or "" in parts:
            add("W3", name, "name must use forward slashes, without '//'", WARNING)
        area = _area(name)
        if area == UTILITY_VM:
            if not base_layer:
                add("W3", name, "UtilityVM/ entries belong in base layers only (not imported)",
                    WARNING)
        elif area not in (FILES, HIVES):
            add("W3", name, "entry outside Files/ and Hives/ (the node does not import it)",
                WARNING)
        base = parts[-1]
        if base.startswith(".wh."):
            if base == _OPAQUE:
                add("W4", name, "opaque-directory marker: Windows layers have no such form")
            elif area != FILES or len(parts) < 2:
                add("W4", name, "whiteout must be Files/<dir>/.wh.<name> (node error "
                                "\"invalid tombstone\")")
            elif m.type is not EntryType.FILE:
                add("W4", name, f"whiteout is a {m.type}, not an empty file")
        if m.type is EntryType.HARDLINK:
            target = m.linkname.rstrip("/")
            if area != FILES or _area(target) != FILES:
                add("W5", name, f"hardlink {name} -> {target}: both must be under Files/ "
                                "(node error \"invalid hard link in layer\")")
            elif target.casefold() not in names and target not in lower:
                if lower_complete:
                    add("W5", name, _MISSING_LINK.format(target=target))
                elif unresolved is not None:
                    unresolved.append(Symlink(name, target, layer))
        if m.type is EntryType.SYMLINK and links is not None and area == FILES:
            links.append(Symlink(name, m.linkname, layer))
        if area in (FILES, HIVES):
            attr_text = m.pax.get("MSWINDOWS.fileattr")
            if attr_text is None:
                add("W7", name, "no MSWINDOWS.fileattr record (the importer derives it)",
                    WARNING)
            else:
                try:
                    attr = int(attr_text)
                except ValueError:
                    attr = -1
                if attr < 0:
                    add("W7", name, f"MSWINDOWS.fileattr {attr_text!r} is not a number")
                elif m.type is EntryType.DIR and not attr & _ATTR_DIRECTORY:
                    add("W7", name, f"directory has fileattr {attr} (0x10 unset; want 16)")
                elif m.type is EntryType.FILE and attr & _ATTR_DIRECTORY:
                    add("W7", name, f"file has fileattr {attr} (directory bit set; want 32)")
            sd = m.pax.get("MSWINDOWS.rawsd")
            if sd is None:
                if m.type is EntryType.FILE and name.lower().endswith(_EXECUTABLE):
                    add("W8", name, "executable without MSWINDOWS.rawsd (ko reports such "
                                    "binaries do not run)", WARNING)
            elif bad := _bad_sd(sd):
                add("W8", name, f"MSWINDOWS.rawsd {bad}")
        if bad_time := _bad_creation_time(m):
            add("W9", name, *bad_time)
        if m.type is EntryType.OTHER:
            kind = "device" if m.is_device else f"type {m.typeflag!r}"
            add("W10", name, f"{kind} entries cannot exist on Windows")
        folded = name.casefold()
        other = names.get(folded)
        if other is not None and other != name:
            add("W11", name, f"{name} and {other} differ only by case")
        names.setdefault(folded, name)
        if seen is not None:
            seen.add(name)
    for top in (FILES, HIVES):
        if top not in tops:
            add("W2", top, f"no top-level {top} directory entry", WARNING)
    return out


def _windows_target(target: str) -> tuple[str, str]:
    """(drive letter or '', the target with forward slashes and no drive)."""
    slashed = target.replace("\\", "/")
    if len(slashed) >= 2 and slashed[1] == ":":
        return slashed[0].upper(), slashed[2:] or "/"
    return "", slashed


def judge_symlinks(view: ImageView, links: Iterable[Symlink]) -> tuple[list[Finding], list[str]]:
    """W6: resolve each added symlink as Windows would (relative to the link's directory,
    in the merged image). Returns (findings, paths that fast mode could not resolve)."""
    out: list[Finding] = []
    unverified: list[str] = []
    for link in links:
        path = "/" + link.name[len(FILES) + 1:]
        entry = view.fs.lookup(path)
        if entry is None or entry.type is not EntryType.SYMLINK or \
                entry.linkname != link.target:
            continue  # replaced or deleted by a later layer
        drive, target = _windows_target(link.target)
        prefixed = target == FILES or target.startswith(FILES + "/")
        lands = posixpath.normpath(posixpath.join(posixpath.dirname(path), target))

        def add(message: str, severity: Severity = ERROR, *, _name: str = link.name,
                _where: str = link.layer) -> None:
            out.append(Finding("W6", view.platform, _name,
                               (f"{_where}: " if _where else "") + message, severity))

        if drive and drive != "C":
            add(f"symlink target {link.target!r} names drive {drive}: outside the "
                "container's C: drive")
            continue
        try:
            resolved = view.fs.resolve(path)
        except LayerError as exc:
            add(f"symlink target {link.target!r}: {exc.message}")
            continue
        if resolved is None:
            if not view.complete:
                unverified.append(path)
                continue
            hint = (" (BuildKit's Files/ prefix, docker/buildx#373: ship a copy at "
                    f"{lands} or write the target without Files/)" if prefixed else "")
            add(f"dangling symlink: target {link.target!r} resolves to {lands}, which is not "
                f"in the image{hint}")
        elif prefixed:
            add(f"symlink target {link.target!r} starts with Files/ (BuildKit's prefix, "
                f"docker/buildx#373); it resolves, to {resolved.path}", WARNING)
    return out, unverified


def lint_layer(layer: Layer, *, platform: str = "", index: int = 0, base_layer: bool = False,
               lower: Set[str] = frozenset(), lower_complete: bool = True,
               seen: set[str] | None = None, links: list[Symlink] | None = None,
               unresolved: list[Symlink] | None = None) -> list[Finding]:
    """Stream one layer and lint its headers; an unreadable layer is a finding too."""
    label = f"layer {index} ({layer.digest[:19]})"
    problems: list[LayerProblem] = []
    try:
        with layer.open() as blob:
            found = lint_members(
                (m for m, _ in iter_layer(blob, layer.media_type, digest=layer.digest,
                                          layer_index=index, problems=problems)),
                platform=platform, layer=label, media_type=layer.media_type,
                urls=layer.descriptor.urls, base_layer=base_layer, lower=lower,
                lower_complete=lower_complete, seen=seen, links=links,
                unresolved=unresolved)
    except LayerError as exc:
        return [Finding("W1", platform, layer.digest, f"{label}: unreadable: {exc.message}")]
    found += [Finding("W1", platform, p.name or layer.digest, f"{label}: {p.message}")
              for p in problems]
    return found


def lint_config(config: ConfigFile, *, platform: str = "", base_os_version: str = ""
                ) -> list[Finding]:
    """W13: a Windows config that says so, with the base's os.version and a Windows PATH."""
    out: list[Finding] = []

    def add(subject: str, message: str) -> None:
        out.append(Finding("W13", platform, subject, message))

    p = config.platform
    if p.os != "windows":
        add("os", f"config os is {p.os!r}, not 'windows'")
    if not FULL_OS_VERSION.match(p.os_version):
        add("os.version", f"config os.version {p.os_version!r} is not 10.0.<build>.<revision>")
    elif base_os_version and p.os_version != base_os_version:
        add("os.version", f"config os.version {p.os_version} differs from the base image's "
                          f"{base_os_version}")
    path = next((v for k, v in config.env.items() if k.upper() == "PATH"), None)
    if path is None:
        add("Env.PATH", "no PATH in the config (Windows images carry C:\\Windows\\system32)")
    else:
        linux = [d for d in path.split(":") if d in _LINUX_PATH_DIRS]
        if linux or path.startswith("/"):
            add("Env.PATH", f"Linux PATH {path!r} in a Windows config")
        elif "\\" not in path and ";" not in path:
            add("Env.PATH", f"PATH {path!r} is not a Windows path list")
    for field_name, value in (("Entrypoint", config.entrypoint), ("Cmd", config.cmd)):
        if value and value[0] in _LINUX_SHELLS:
            add(field_name, f"{field_name} {list(value)} runs a Linux shell")
    return out


@dataclass(frozen=True, slots=True)
class WindowsLayerCheck:
    """Lint the added layers and the config. `base_os_version`: the base image's, if known.

    When the caller knows no base (`view.base_layers == 0`), the leading layers that hold
    `UtilityVM/` are taken for base layers (real Windows bases always hold it): they get the
    base-layer rules and their symlinks are not judged.
    """

    base_os_version: str = ""

    def validate(self) -> None:
        if self.base_os_version and not FULL_OS_VERSION.match(self.base_os_version):
            raise ValueError(f"base os.version {self.base_os_version!r} is not full")

    def run(self, view: ImageView) -> CheckResult:
        if not view.is_windows:
            return CheckResult("windows_layer", view.subject, skipped="not a Windows image")
        findings = lint_config(view.config, platform=view.platform,
                               base_os_version=self.base_os_version)
        lower: set[str] = set()
        links: list[Symlink] = []
        unresolved: list[Symlink] = []  # hardlinks whose target may be in an unread base
        by_layout = view.base_layers == 0  # still in the leading run of base-looking layers
        for i, layer in enumerate(view.added_layers(), start=view.base_layers):
            names: set[str] = set()
            found_links: list[Symlink] = []
            findings += lint_layer(layer, platform=view.platform, index=i, lower=lower,
                                   lower_complete=view.base_layers == 0, seen=names,
                                   base_layer=by_layout, links=found_links,
                                   unresolved=unresolved)
            by_layout = by_layout and any(_area(n) == UTILITY_VM for n in names)
            if not by_layout:
                links += found_links
            lower |= names
        unverified: list[str] = []
        if unresolved and not view.complete:
            unverified += ["/" + h.name.removeprefix(FILES + "/") for h in unresolved]
        elif unresolved:  # the merged view knows whether the base holds the target
            refused = {p.name for p in view.fs.problems if p.kind == "hardlink-target"
                       and p.layer >= view.base_layers}
            findings += [Finding("W5", view.platform, h.name,
                                 f"{h.layer}: " + _MISSING_LINK.format(target=h.target))
                         for h in unresolved if h.name in refused]
        if links:
            judged, unverified = judge_symlinks(view, links)
            findings += judged
        return CheckResult("windows_layer", view.subject, tuple(findings),
                           unverified=tuple(unverified))
