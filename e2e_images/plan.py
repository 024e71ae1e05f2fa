"""Catalog -> ordered build plan: per-platform tags, list tags, build args, labels, edges.

Pure: takes a loaded Catalog (and the Dockerfile texts it needs, read by the caller through
`dockerfile_texts`) and returns frozen data. The plan's JSON form is a documented contract
(README, "plan --json"), consumed by CI scripts.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from e2e_images.catalog import Catalog, GoBinaries, ImageSpec, registry_references
from e2e_images.errors import PlanError
from e2e_images.platforms import Platform, parse_platform, windows_release

__all__ = [
    "CONFORMANCE_IMAGES",
    "BuildTarget",
    "Filters",
    "GitInfo",
    "ImagePlan",
    "Plan",
    "make_plan",
]

# Upstream's `WHAT=all-conformance` set (test/images/image-util.sh).
CONFORMANCE_IMAGES = ("busybox", "agnhost", "echoserver", "jessie-dnsutils", "kitten", "nautilus",
                      "nonewprivs", "resource-consumer", "sample-apiserver")


@dataclass(frozen=True, slots=True)
class GitInfo:
    commit: str = "unknown"
    url: str = "https://github.com/kubernetes/kubernetes"
    images_path: str = "test/images"
    web: bool = True  # False: `url` is the checkout as file://, which has no /tree/<commit>

    def tree_url(self, directory: str) -> str:
        if not self.web:
            return f"{self.url}/{self.images_path}/{directory}"
        return f"{self.url}/tree/{self.commit}/{self.images_path}/{directory}"


@dataclass(frozen=True, slots=True)
class Filters:
    what: tuple[str, ...] = ()
    os: str | None = None
    platforms: tuple[str, ...] = ()
    windows_versions: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class BuildTarget:
    image_dir: str
    name: str
    version: str
    platform: Platform
    tag: str
    list_tag: str
    base_image: str | None
    dockerfile: Path
    context: Path
    build_args: Mapping[str, str]
    labels: Mapping[str, str]
    go: GoBinaries
    baseimage_line: int

    @property
    def id(self) -> str:
        """Test id and log name: `agnhost-windows-amd64-ltsc2022`."""
        return f"{self.image_dir.replace('/', '-')}-{self.platform.tag_suffix}"

    @property
    def os_version(self) -> str | None:
        return self.platform.os_version

    def to_json(self, root: Path) -> dict[str, Any]:
        return {
            "id": self.id,
            "platform": self.platform.key,
            "tag": self.tag,
            "base_image": self.base_image,
            "dockerfile": self.dockerfile.relative_to(root).as_posix(),
            "os_version": self.os_version,
            "build_args": dict(self.build_args),
            "labels": dict(self.labels),
        }


@dataclass(frozen=True, slots=True)
class ImagePlan:
    spec: ImageSpec
    list_tag: str
    depends_on: tuple[str, ...]
    targets: tuple[BuildTarget, ...]

    @property
    def has_list(self) -> bool:
        """False when two targets would be the same list entry: Linux images keyed per
        Windows release (the servercore cache) differ only in their tags, and a list of them
        would always resolve to its first entry. Such an image publishes per-platform tags."""
        keys = [(t.platform.os, t.platform.arch, t.platform.oci_variant,
                 t.platform.os_version or "") for t in self.targets]
        return len(set(keys)) == len(keys)

    def to_json(self, root: Path) -> dict[str, Any]:
        return {
            "dir": self.spec.dir,
            "name": self.spec.name,
            "version": self.spec.version,
            "list_tag": self.list_tag,
            "has_list": self.has_list,
            "needs_make": self.spec.go.needs_make,
            "depends_on": list(self.depends_on),
            "targets": [t.to_json(root) for t in self.targets],
        }


@dataclass(frozen=True, slots=True)
class Plan:
    registry: str
    root: Path
    images: tuple[ImagePlan, ...] = field(default=())
    warnings: tuple[str, ...] = ()  # for the caller to show; the plan is usable

    def targets(self) -> tuple[BuildTarget, ...]:
        return tuple(t for image in self.images for t in image.targets)

    def prerequisites(self, target: BuildTarget) -> tuple[BuildTarget, ...]:
        """Targets of the images `target`'s image depends on that it builds on: the same
        platform, or (for per-release helpers like the servercore cache) the same Windows
        release. Direct ones only; each has its own."""
        image = next(i for i in self.images if i.spec.dir == target.image_dir)
        p = target.platform
        return tuple(
            t for dep in self.images if dep.spec.dir in image.depends_on for t in dep.targets
            if t.platform.key == p.key
            or (t.platform.per_release_linux and t.platform.release == p.release))

    def to_json(self) -> dict[str, Any]:
        return {"registry": self.registry, "images": [i.to_json(self.root) for i in self.images]}


@dataclass(frozen=True, slots=True)
class _Edge:
    src: str
    dst: str
    path: str
    line: int


def _edges(catalog: Catalog, dockerfiles: Mapping[Path, str]) -> list[_Edge]:
    """Edges from an image to catalog images it names through REGISTRY, with their source."""
    edges: list[_Edge] = []
    for spec in catalog.images:
        sources: list[tuple[str, int, str, str]] = []
        for line in spec.lines:
            for _, name, tag in registry_references(line.value):
                sources.append((str(spec.path / "BASEIMAGE"), line.line, name, tag))
        for path, text in dockerfiles.items():
            if path.parent == spec.path:
                sources.extend((str(path), n, name, tag)
                               for n, name, tag in registry_references(text))
        for path, line, name, tag in sources:
            for dep in catalog.by_name(name):
                same_version = tag == dep.version or tag.startswith(dep.version + "-")
                if dep.dir == spec.dir and same_version:
                    raise PlanError(f"dependency cycle: {spec.dir} builds on itself "
                                    f"({name}:{tag})", path=path, line=line)
                if same_version:
                    edges.append(_Edge(spec.dir, dep.dir, path, line))
    return edges


def _order(catalog: Catalog, edges: Sequence[_Edge]) -> list[str]:
    """Topological order (dependencies first), ties by directory name; cycles are errors."""
    deps: dict[str, set[str]] = {i.dir: set() for i in catalog.images}
    for e in edges:
        deps[e.src].add(e.dst)
    order: list[str] = []
    state: dict[str, int] = {}  # 1 = visiting, 2 = done

    def visit(node: str, trail: list[str]) -> None:
        if state.get(node) == 2:
            return
        if state.get(node) == 1:
            cycle = [*trail[trail.index(node):], node]
            edge = next(e for e in edges if e.src == cycle[0] and e.dst == cycle[1])
            raise PlanError("dependency cycle between catalog images: " + " -> ".join(cycle),
                            path=edge.path, line=edge.line)
        state[node] = 1
        for dep in sorted(deps[node]):
            visit(dep, [*trail, node])
        state[node] = 2
        order.append(node)

    for node in sorted(deps):
        visit(node, [])
    return order


def _select(catalog: Catalog, what: Sequence[str]) -> set[str]:
    if not what:
        return {i.dir for i in catalog.images}
    selected: set[str] = set()
    for item in what:
        if item == "all-conformance":
            found = {i.dir for i in catalog.images if i.dir in CONFORMANCE_IMAGES}
            if not found:
                raise PlanError("all-conformance: the catalog has none of the conformance "
                                "images", path=str(catalog.root))
            selected |= found
            continue
        directory = item.strip("/")
        if not any(i.dir == directory for i in catalog.images):
            hint = None
            if directory in catalog.other_dirs:
                hint = f"{directory} has no VERSION file, so it is not an image directory"
            raise PlanError(f"WHAT={item!r} names no image directory", path=str(catalog.root),
                            hint=hint)
        selected.add(directory)
    return selected


def _same_platform(wanted: Platform, platform: Platform) -> bool:
    """As a user means it: linux/arm/v7 is linux/arm (its default variant), and a Windows
    release is its build (ltsc2019 is 1809)."""
    if (wanted.os, wanted.arch, wanted.oci_variant) != (platform.os, platform.arch,
                                                         platform.oci_variant):
        return False
    if not wanted.release or not platform.release:
        return wanted.release == platform.release
    return windows_release(wanted.release).build == windows_release(platform.release).build


def _platform_filter(filters: Filters):
    wanted = [parse_platform(p) if p.count("/") >= 2 else p for p in filters.platforms]
    builds = {windows_release(v).build for v in filters.windows_versions}

    def keep(platform: Platform) -> bool:
        if filters.os and platform.os != filters.os:
            return False
        if builds and platform.release and windows_release(platform.release).build not in builds:
            return False
        if not wanted:
            return True
        for w in wanted:
            if isinstance(w, Platform):
                if _same_platform(w, platform):
                    return True
            elif w in (platform.key, f"{platform.os}/{platform.arch}", platform.oci_platform):
                return True
        return False

    return keep


def _unused_windows_versions(catalog: Catalog, versions: Sequence[str]) -> tuple[str, ...]:
    """The --windows-versions values no image of the catalog builds for."""
    builds = {windows_release(line.platform.release).build for spec in catalog.images
              for line in spec.lines if line.platform.release}
    return tuple(v for v in versions if windows_release(v).build not in builds)


def make_plan(
    catalog: Catalog,
    registry: str,
    *,
    filters: Filters = Filters(),
    dockerfiles: Mapping[Path, str] | None = None,
    git: GitInfo = GitInfo(),
) -> Plan:
    """`dockerfiles` maps Dockerfile paths to their text, for edges named in FROM lines."""
    registry = registry.rstrip("/")
    edges = _edges(catalog, dockerfiles or {})
    order = _order(catalog, edges)
    selected = _select(catalog, filters.what)
    keep = _platform_filter(filters)
    images: list[ImagePlan] = []
    for directory in order:
        if directory not in selected:
            continue
        spec = catalog.get(directory)
        list_tag = f"{registry}/{spec.name}:{spec.version}"
        labels = {"image_version": spec.version, "commit_id": git.commit,
                  "git_url": git.tree_url(spec.dir)}
        targets = []
        for line in spec.lines:
            if not keep(line.platform):
                continue
            base = line.base_image(registry) or None
            targets.append(BuildTarget(
                image_dir=spec.dir, name=spec.name, version=spec.version,
                platform=line.platform,
                tag=f"{list_tag}-{line.platform.tag_suffix}", list_tag=list_tag,
                base_image=base, dockerfile=spec.dockerfile(line.platform), context=spec.path,
                build_args={"BASEIMAGE": base or "", "REGISTRY": registry,
                            "OS_VERSION": line.platform.release},
                labels=labels, go=spec.go, baseimage_line=line.line,
            ))
        if targets:
            depends = sorted({e.dst for e in edges if e.src == directory})
            images.append(ImagePlan(spec, list_tag, tuple(depends), tuple(targets)))
    if not images and filters.what:
        raise PlanError("the filters leave nothing to build", path=str(catalog.root))
    warnings = tuple(f"--windows-versions {v}: no image of the catalog builds for it"
                     for v in _unused_windows_versions(catalog, filters.windows_versions))
    return Plan(registry, catalog.root, tuple(images), warnings)
