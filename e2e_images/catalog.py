"""Read an images/ tree in the upstream `test/images` format into typed image specs.

One directory per image (nested names like `volume/nfs` allowed); a directory is an image when
it holds VERSION or BASEIMAGE. Every error names the file and, where there is one, the line.
Every file is decoded strictly (UTF-8, a BOM allowed, no NUL), and VERSION and ALIAS follow
the reference grammar, since they become tags and repository names.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

import yaml

from e2e_images.errors import CatalogError
from e2e_images.platforms import Platform, PlatformError, default_linux_platforms, parse_platform
from e2e_images.refgrammar import is_repository_name, is_tag

__all__ = [
    "BaseImageLine",
    "Catalog",
    "GoBinaries",
    "ImageSpec",
    "Owners",
    "cross_build_qemu",
    "load_catalog",
    "load_image",
    "read_text",
    "registry_references",
    "render_dockerfile",
    "substitute_registry",
]

GO_YAML = "go-binaries.yaml"
_MAKE_ASSIGN = re.compile(r"^(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)\s*(\?=|:=|::=|\+=|=)\s*(.*)$")
_MAKE_REF = re.compile(r"\$[({]([A-Za-z_][A-Za-z0-9_]*)[)}]")
_MAKE_NOTDIR = re.compile(r"\$\(notdir\s+([^()$]*)\)")
_MAKE_RULE = re.compile(r"^([A-Za-z0-9_.\- ]+):(?!=)")
# upstream's standard recipe: `../image-util.sh bin $(SRCS)` (deeper dirs: `../../`)
_STANDARD_BIN = re.compile(r"^(?:\.\./)+image-util\.sh\s+bin\s+\$[({]SRCS[)}]$")
CROSS_BUILD = "CROSS_BUILD_"
# REGISTRY as BASEIMAGE values (image-util.sh substitutes the bare word) and Dockerfiles
# (`$REGISTRY`, `${REGISTRY}`) write it: the one definition of where the registry goes.
_REGISTRY = r"(?:\$\{REGISTRY\}|\$REGISTRY|\bREGISTRY)"
_REGISTRY_TOKEN = re.compile(_REGISTRY + r"(?=/)")
_REGISTRY_REF = re.compile(_REGISTRY + r"/([a-z0-9][a-z0-9._/-]*):([A-Za-z0-9_.${}-]+)")


def substitute_registry(value: str, registry: str) -> str:
    """`REGISTRY/busybox:1.36` (or `$REGISTRY/...`) -> `<registry>/busybox:1.36`."""
    return _REGISTRY_TOKEN.sub(lambda _: registry, value)


def registry_references(text: str) -> Iterator[tuple[int, str, str]]:
    """(line number, repository, tag) of each `REGISTRY/<name>:<tag>` in `text`."""
    for number, line in enumerate(text.splitlines(), 1):
        for m in _REGISTRY_REF.finditer(line):
            yield number, m.group(1), m.group(2)


@dataclass(frozen=True, slots=True)
class BaseImageLine:
    """One BASEIMAGE line: the target platform and its base, `REGISTRY` not yet substituted."""

    platform: Platform
    value: str
    line: int  # 0 when there is no BASEIMAGE file

    def base_image(self, registry: str) -> str:
        return substitute_registry(self.value, registry)


@dataclass(frozen=True, slots=True)
class GoBinaries:
    """Go programs to cross-compile into the build context before the image build.

    Upstream semantics: each src `a/b` builds package `./a` of the image dir into `<ctx>/a/b`.
    """

    srcs: tuple[str, ...] = ()
    ld_flags: str = ""
    source: str = ""  # the file that declared them
    src_dir: Path | None = None  # SRCS are relative to this (Makefile SRC_DIR); None: image dir
    make_bin: tuple[str, ...] = ()  # a `bin` recipe of its own: run with make, not natively

    @property
    def needs_make(self) -> bool:
        return bool(self.make_bin)


@dataclass(frozen=True, slots=True)
class Owners:
    approvers: tuple[str, ...] = ()
    reviewers: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class ImageSpec:
    dir: str  # relative to the images dir, with forward slashes
    path: Path
    version: str
    alias: str | None
    lines: tuple[BaseImageLine, ...]
    go: GoBinaries
    owners: Owners | None
    has_baseimage: bool
    has_windows_dockerfile: bool = False  # read at load time, so planning touches no files

    @property
    def name(self) -> str:
        """The published repository name: ALIAS if present, else the directory."""
        return self.alias or self.dir

    @property
    def platforms(self) -> tuple[Platform, ...]:
        return tuple(line.platform for line in self.lines)

    def dockerfile(self, platform: Platform) -> Path:
        """Dockerfile_windows for Windows targets when present, else Dockerfile."""
        if platform.is_windows and self.has_windows_dockerfile:
            return self.path / "Dockerfile_windows"
        return self.path / "Dockerfile"


@dataclass(frozen=True, slots=True)
class Catalog:
    root: Path
    images: tuple[ImageSpec, ...]
    other_dirs: frozenset[str] = frozenset()  # directories that are not images, for hints

    def get(self, directory: str) -> ImageSpec:
        for image in self.images:
            if image.dir == directory.strip("/"):
                return image
        raise CatalogError(f"no image directory {directory!r}", path=str(self.root))

    def by_name(self, name: str) -> tuple[ImageSpec, ...]:
        return tuple(i for i in self.images if i.name == name)


def render_dockerfile(text: str, platform: Platform, name: str = "Dockerfile") -> str:
    """Substitute the upstream placeholders as image-util.sh does: BASEARCH (Go arch) and, in
    a file named `Dockerfile` only, the CROSS_BUILD_ lines: dropped for amd64 (left blank, so
    line numbers stay true), else QEMUARCH -> the qemu name and the prefix stripped."""
    text = text.replace("BASEARCH", platform.arch)
    if name != "Dockerfile" or CROSS_BUILD not in text:
        return text
    if platform.arch == "amd64":
        return "\n".join("" if CROSS_BUILD in line else line
                         for line in text.split("\n"))
    return text.replace("QEMUARCH", platform.qemu_arch).replace(CROSS_BUILD, "")


def cross_build_qemu(text: str, platform: Platform, name: str = "Dockerfile") -> str | None:
    """The qemu binary (`qemu-aarch64-static`) image-util.sh puts in the context, if any."""
    if name != "Dockerfile" or CROSS_BUILD not in text or platform.arch == "amd64":
        return None
    return f"qemu-{platform.qemu_arch}-static"


def read_text(path: Path) -> str:
    """A catalog file's text, decoded strictly: UTF-8 (a leading BOM dropped) without NUL
    bytes; anything else is a CatalogError naming the line, never a half-decoded string."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise CatalogError(f"cannot read: {exc.strerror}", path=str(path)) from None
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise CatalogError(f"not UTF-8 text (byte 0x{data[exc.start]:02x})", path=str(path),
                           line=data[:exc.start].count(b"\n") + 1) from None
    nul = text.find("\0")
    if nul >= 0:
        raise CatalogError("NUL byte in a text file", path=str(path),
                           line=text.count("\n", 0, nul) + 1)
    return text


def _lines(text: str) -> list[str]:
    """Lines split on newlines only (str.splitlines also splits on \x0b, \x1c...)."""
    return text.replace("\r\n", "\n").split("\n")


def _read_one_line(path: Path, *, required: bool) -> tuple[int, str] | None:
    """(line number, text) of the one non-blank line; None when absent and not required."""
    if not path.is_file():
        if required:
            raise CatalogError("missing file", path=str(path))
        return None
    lines = [(n, s.strip()) for n, s in enumerate(_lines(read_text(path)), 1) if s.strip()]
    if not lines:
        if required:
            raise CatalogError("file is empty", path=str(path), line=1)
        return None
    if len(lines) > 1:
        raise CatalogError(f"expected one line, found {len(lines)}", path=str(path),
                           line=lines[1][0])
    return lines[0]


def _parse_baseimage(path: Path) -> tuple[BaseImageLine, ...]:
    out: list[BaseImageLine] = []
    seen: dict[str, int] = {}
    for number, raw in enumerate(_lines(read_text(path)), 1):
        text = raw.strip()
        if not text or text.startswith("#"):
            continue
        key, sep, value = text.partition("=")
        if not sep:
            raise CatalogError(f"line {text!r} is not properly formatted: expected "
                               "'<os>/<arch>[/<osversion>]=<base image>'",
                               path=str(path), line=number)
        key, value = key.strip(), value.strip()
        try:
            platform = parse_platform(key)
        except PlatformError as exc:
            raise CatalogError(f"BASEIMAGE key {key!r}: {exc.message}", path=str(path),
                               line=number) from None
        if not value:
            raise CatalogError(f"BASEIMAGE key {key!r} has no base image", path=str(path),
                               line=number)
        if platform.key in seen:
            raise CatalogError(f"duplicate platform {platform.key!r} (first on line "
                               f"{seen[platform.key]})", path=str(path), line=number)
        seen[platform.key] = number
        out.append(BaseImageLine(platform, value, number))
    if not out:
        raise CatalogError("BASEIMAGE lists no platform", path=str(path))
    return tuple(out)


def _bin_recipe(text: str) -> tuple[str, ...]:
    """The recipe lines of the Makefile's `bin` rule (continuations joined)."""
    recipe: list[str] = []
    inside = False
    for line in text.splitlines():
        if line.startswith("\t"):
            if inside and line.strip():
                recipe.append(" ".join(line.split()))
            continue
        rule = _MAKE_RULE.match(line)
        if rule:
            inside = "bin" in rule.group(1).split()
        elif line.strip() and not line.lstrip().startswith("#"):
            inside = False
    return tuple(recipe)


def _parse_makefile(path: Path, version: str, images_root: Path) -> GoBinaries | None:
    """Read SRCS, LD_FLAGS, SRC_DIR and the `bin` recipe from an upstream Makefile; only
    simple assignments count. The standard recipe (`../image-util.sh bin $(SRCS)`) is built
    natively; any other is run with make, as upstream does for every image."""
    variables: dict[str, str] = {}
    text = read_text(path).replace("\\\n", " ")
    for line in text.splitlines():
        if line.startswith("\t"):
            continue  # recipe lines
        m = _MAKE_ASSIGN.match(line.strip())
        if not m:
            continue
        name, op, value = m.group(1), m.group(2), m.group(3).split("#", 1)[0].strip()
        if op == "?=" and name in variables:
            continue
        variables[name] = f"{variables.get(name, '')} {value}".strip() if op == "+=" else value
    recipe = _bin_recipe(text)
    own_bin = bool(recipe) and not (len(recipe) == 1 and _STANDARD_BIN.match(recipe[0]))
    if "SRCS" not in variables and not own_bin:
        return None
    variables["VERSION"] = version  # upstream: VERSION ?= $(shell cat VERSION)
    variables["CURDIR"] = str(path.parent)

    def expand(value: str, depth: int = 0) -> str:
        if depth > 8:
            return value
        value = value.replace("$(shell pwd)", str(path.parent))
        value = _MAKE_REF.sub(lambda m: expand(variables.get(m.group(1), m.group(0)), depth + 1),
                              value)
        return _MAKE_NOTDIR.sub(lambda m: " ".join(Path(w).name for w in m.group(1).split()),
                                value)

    src_dir = expand(variables.get("SRC_DIR", "$(notdir $(CURDIR))")).strip()
    srcs = tuple(expand(variables.get("SRCS", "")).split())
    return GoBinaries(srcs, expand(variables.get("LD_FLAGS", "")), str(path),
                      src_dir=images_root / src_dir, make_bin=recipe if own_bin else ())


def _parse_go_yaml(path: Path, version: str) -> GoBinaries:
    try:
        data = yaml.safe_load(read_text(path)) or {}
    except yaml.YAMLError as exc:
        raise _yaml_error(exc, "invalid YAML", path) from None
    if not isinstance(data, dict) or set(data) - {"srcs", "ld_flags"}:
        raise CatalogError("expected a mapping with keys 'srcs' and 'ld_flags'", path=str(path))
    srcs = data.get("srcs") or []
    if isinstance(srcs, str):
        srcs = srcs.split()
    if not isinstance(srcs, list) or not all(isinstance(x, str) for x in srcs):
        raise CatalogError("'srcs' must be a list of paths", path=str(path))
    ld_flags = str(data.get("ld_flags") or "").replace("$(VERSION)", version)
    return GoBinaries(tuple(str(s) for s in srcs), ld_flags.replace("${VERSION}", version),
                      str(path))


def _yaml_error(exc: yaml.YAMLError, what: str, path: Path) -> CatalogError:
    """One line: PyYAML's problem (or reader complaint) and the line it was seen on."""
    mark = getattr(exc, "problem_mark", None)
    problem = getattr(exc, "problem", None) or getattr(exc, "reason", None) or \
        (str(exc).splitlines() or ["unreadable"])[0]
    return CatalogError(f"{what}: {problem}", path=str(path),
                        line=mark.line + 1 if mark else None)


def _parse_owners(path: Path) -> Owners | None:
    if not path.is_file():
        return None
    try:
        data = yaml.safe_load(read_text(path)) or {}
    except yaml.YAMLError as exc:
        raise _yaml_error(exc, "invalid OWNERS YAML", path) from None
    if not isinstance(data, dict):
        raise CatalogError("OWNERS is not a mapping", path=str(path))
    people = {k: data.get(k) or [] for k in ("approvers", "reviewers")}
    for key, value in people.items():
        if not isinstance(value, list) or not all(isinstance(x, str) for x in value):
            raise CatalogError(f"OWNERS {key} must be a list of names", path=str(path))
    return Owners(tuple(people["approvers"]), tuple(people["reviewers"]))


def load_image(root: Path, directory: Path) -> ImageSpec:
    rel = directory.relative_to(root).as_posix()
    found = _read_one_line(directory / "VERSION", required=True)
    assert found is not None
    version_line, version = found
    alias_found = _read_one_line(directory / "ALIAS", required=False)
    alias = alias_found[1] if alias_found else None
    baseimage = directory / "BASEIMAGE"
    if baseimage.is_file():
        lines = _parse_baseimage(baseimage)
    else:
        lines = tuple(BaseImageLine(p, "", 0) for p in default_linux_platforms())
    _check_names(directory, rel, version, version_line, alias_found, lines)
    go = None
    if (directory / GO_YAML).is_file():
        go = _parse_go_yaml(directory / GO_YAML, version)
    elif (directory / "Makefile").is_file():
        go = _parse_makefile(directory / "Makefile", version, root)
    spec = ImageSpec(rel, directory, version, alias, lines, go or GoBinaries(),
                     _parse_owners(directory / "OWNERS"), baseimage.is_file(),
                     (directory / "Dockerfile_windows").is_file())
    for line in spec.lines:
        dockerfile = spec.dockerfile(line.platform)
        if not dockerfile.is_file():
            raise CatalogError(f"no Dockerfile for {line.platform.key}", path=str(dockerfile))
    return spec


def _check_names(directory: Path, rel: str, version: str, version_line: int,
                 alias: tuple[int, str] | None, lines: Iterable[BaseImageLine]) -> None:
    """VERSION is a tag, and so is every `<VERSION>-<platform>` made from it (at most 128
    characters); ALIAS, or the directory when there is none, is a repository name."""
    where = {"path": str(directory / "VERSION"), "line": version_line}
    if not is_tag(version):
        raise CatalogError(f"VERSION {version!r} is not a valid tag (letters, digits, '_', "
                           "'.', '-'; at most 128; not starting with '.' or '-')", **where)
    for line in lines:
        tag = f"{version}-{line.platform.tag_suffix}"
        if not is_tag(tag):
            raise CatalogError(f"VERSION {version!r} makes the tag {tag!r}, longer than 128 "
                               "characters", **where)
    if alias is not None and not is_repository_name(alias[1]):
        raise CatalogError(f"ALIAS {alias[1]!r} is not a valid repository name (lowercase "
                           "letters and digits, separated by '.', '_', '-' or '/')",
                           path=str(directory / "ALIAS"), line=alias[0])
    if alias is None and not is_repository_name(rel):
        raise CatalogError(f"image directory {rel!r} is not a valid repository name",
                           path=str(directory), hint="rename it or give it an ALIAS")


def _image_dirs(root: Path, others: set[str]) -> Iterable[Path]:
    """Directories holding VERSION or BASEIMAGE; images do not nest inside images. The
    directories walked that are not images go into `others`."""
    stack = [root]
    while stack:
        current = stack.pop()
        names = {p.name for p in current.iterdir()}
        if current != root and ("VERSION" in names or "BASEIMAGE" in names):
            yield current
            continue
        if current != root:
            others.add(current.relative_to(root).as_posix())
        stack.extend(sorted((p for p in current.iterdir()
                             if p.is_dir() and not p.name.startswith((".", "_"))), reverse=True))


def load_catalog(root: Path | str) -> Catalog:
    root = Path(root).resolve()
    if not root.is_dir():
        raise CatalogError("images directory does not exist", path=str(root))
    others: set[str] = set()
    images = tuple(load_image(root, d) for d in _image_dirs(root, others))
    return Catalog(root, tuple(sorted(images, key=lambda i: i.dir)), frozenset(others))


def read_dockerfiles(catalog: Catalog) -> dict[Path, str]:
    """Every Dockerfile the catalog's targets use, by path (input for plan edges)."""
    paths = {spec.dockerfile(line.platform) for spec in catalog.images for line in spec.lines}
    return {p: read_text(p) for p in sorted(paths)}
