"""A manifest list is complete and says the truth about each child (issue 6, check 1).

Entries correspond 1:1, in order, to the expected platforms (BASEIMAGE lines, given as data);
each describes its child's config; Windows entries carry the full os.version that containerd
needs to tell releases apart. Which entry each containerd family pulls on each node is
reported for every family; the gating families' problems are findings (`containerd.judge`).
Attestation entries are recognised and not counted. The caller fetches the children (by
digest); a missing child is passed as None.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from e2e_images.oci.image import Image
from e2e_images.oci.models import Descriptor, ImagePlatform, Index
from e2e_images.platforms import FULL_OS_VERSION, Platform
from e2e_images.verify import containerd
from e2e_images.verify.result import CheckResult, Finding

__all__ = ["Child", "ManifestListCheck", "entry_build"]

Child = Image | Index | None  # what the entry's digest resolved to; None: not found


def entry_build(platform: ImagePlatform) -> int | None:
    parsed = containerd.parse_os_version(platform.os_version)
    return parsed.build if parsed is not None else None


def _same_target(want: Platform, have: ImagePlatform, *, loose: bool) -> bool:
    """Does an entry stand for this BASEIMAGE platform? `loose`: ignore a missing build."""
    norm = containerd.normalize(have)
    expected = containerd.normalize(ImagePlatform(want.os, want.arch, want.oci_variant))
    if (norm.os, norm.architecture, norm.variant) != (expected.os, expected.architecture,
                                                      expected.variant):
        return False
    if not want.is_windows or not want.os_version:
        return True
    build = entry_build(have)
    if build is None:
        return loose
    return f"10.0.{build}" == want.os_version


@dataclass(frozen=True, slots=True)
class ManifestListCheck:
    """`expected`: platforms in BASEIMAGE order (empty: completeness is not checked).
    `base_os_versions`: BASEIMAGE key -> the base image's os.version, where known."""

    expected: tuple[Platform, ...] = ()
    base_os_versions: Mapping[str, str] = field(default_factory=dict)
    gating: frozenset[str] = field(
        default_factory=lambda: containerd.parse_families(containerd.DEFAULT_GATING))

    def validate(self) -> None:
        keys = [p.key for p in self.expected]
        dupes = sorted({k for k in keys if keys.count(k) > 1})
        if dupes:
            raise ValueError(f"expected platforms repeat {', '.join(dupes)}")
        unknown = set(self.base_os_versions) - set(keys)
        if unknown:
            raise ValueError(f"base os.versions for unexpected platforms {sorted(unknown)}")
        names = {f.name for f in containerd.FAMILIES}
        if not self.gating <= names:
            raise ValueError(f"unknown containerd families {sorted(self.gating - names)}")

    def run(self, index: Index, children: Mapping[str, Child]) -> CheckResult:
        out: list[Finding] = []
        entries = [(i, d) for i, d in enumerate(index.manifests) if not d.is_attestation]
        for i, d in entries:
            out += self._entry(i, d, children.get(d.digest))
        out += self._duplicates(entries)
        out += self._completeness(entries)
        found, pulls = containerd.judge(index.manifests, _true_builds(index, children),
                                        gating=self.gating)
        out += found
        info = [p.line() + ("" if p.family in self.gating or p.family == "any"
                            else " (information: not a gating family)") for p in pulls]
        return CheckResult("manifest_list", index.digest, tuple(out), info=tuple(info))

    def _entry(self, i: int, d: Descriptor, child: Child) -> list[Finding]:
        subject = f"manifests[{i}]"
        if d.platform is None:
            return [Finding("LIST-PLATFORM", "", subject, f"entry {d.digest} has no platform")]
        p = d.platform
        where = str(p)
        out: list[Finding] = []
        if p.os == "unknown" or p.architecture == "unknown":
            out.append(Finding("LIST-ATTESTATION", where, subject,
                               "unknown/unknown entry without the attestation-manifest "
                               "annotation (clients may try to run it)"))
        if child is None:
            out.append(Finding("LIST-CHILD", where, subject, f"child {d.digest} does not exist"))
        elif isinstance(child, Index):
            out.append(Finding("LIST-CHILD", where, subject,
                               f"child {d.digest} is an index, not a single-platform manifest"))
        else:
            cp = child.config.platform
            for name, entry_value, config_value in (("os", p.os, cp.os),
                                                    ("architecture", p.architecture,
                                                     cp.architecture),
                                                    ("variant", p.variant, cp.variant)):
                if entry_value != config_value:
                    out.append(Finding("LIST-CONFIG", where, f"{subject}.platform.{name}",
                                       f"entry says {entry_value!r}, the child's config "
                                       f"{config_value!r}"))
            if p.os == "windows" and p.os_version and cp.os_version != p.os_version:
                out.append(Finding("LIST-OSVERSION", where, f"{subject}.platform.os.version",
                                   f"entry says {p.os_version}, the child's config "
                                   f"{cp.os_version or 'nothing'}"))
        if p.os == "windows":
            if not p.os_version:
                out.append(Finding("LIST-OSVERSION", where, f"{subject}.platform.os.version",
                                   "Windows entry without os.version: it matches every "
                                   "Windows host, so the first such entry wins everywhere"))
            elif not FULL_OS_VERSION.match(p.os_version):
                out.append(Finding("LIST-OSVERSION", where, f"{subject}.platform.os.version",
                                   f"os.version {p.os_version!r} is not 10.0.<build>."
                                   "<revision> (containerd never matches it)"))
            else:
                for want in self.expected:
                    base = self.base_os_versions.get(want.key)
                    if base and _same_target(want, p, loose=False) and base != p.os_version:
                        out.append(Finding("LIST-OSVERSION", where,
                                           f"{subject}.platform.os.version",
                                           f"os.version {p.os_version} differs from the base "
                                           f"image's {base}"))
        return out

    def _duplicates(self, entries: Sequence[tuple[int, Descriptor]]) -> list[Finding]:
        seen: dict[tuple[str, str, str, int | None], int] = {}
        out: list[Finding] = []
        for i, d in entries:
            if d.platform is None:
                continue
            n = containerd.normalize(d.platform)
            key = (n.os, n.architecture, n.variant, entry_build(d.platform))
            if key in seen:
                out.append(Finding("LIST-DUPLICATE", str(d.platform), f"manifests[{i}]",
                                   f"same os/arch/variant/build as manifests[{seen[key]}]: "
                                   "a client cannot tell them apart"))
            else:
                seen[key] = i
        return out

    def _completeness(self, entries: Sequence[tuple[int, Descriptor]]) -> list[Finding]:
        if not self.expected:
            return []
        free = {i: d.platform for i, d in entries if d.platform is not None}
        assigned: list[tuple[Platform, int]] = []
        out: list[Finding] = []
        for want in self.expected:
            hit = next((i for i, p in free.items() if _same_target(want, p, loose=False)), None)
            if hit is None:  # an entry that lost its os.version still stands for its target
                hit = next((i for i, p in free.items() if _same_target(want, p, loose=True)),
                           None)
            if hit is None:
                out.append(Finding("LIST-MISSING", want.key, "manifests",
                                   f"no entry for {want.key} (expected {len(self.expected)} "
                                   f"platforms, the list has {len(entries)})"))
                continue
            free.pop(hit)
            assigned.append((want, hit))
        for i, p in free.items():
            out.append(Finding("LIST-EXTRA", str(p), f"manifests[{i}]",
                               f"entry {p} is not an expected platform"))
        positions = [i for _, i in assigned]
        if positions != sorted(positions):
            order = ", ".join(w.key for w, _ in sorted(assigned, key=lambda a: a[1]))
            out.append(Finding("LIST-ORDER", "", "manifests",
                               f"entries are in the order {order}, not BASEIMAGE order"))
        return out


def _true_builds(index: Index, children: Mapping[str, Child]) -> dict[int, int]:
    """Index position -> the build each Windows entry really is: its child's config
    os.version when the child was read, else the entry's own."""
    out: dict[int, int] = {}
    for i, d in enumerate(index.manifests):
        if d.is_attestation or d.platform is None or \
                containerd.normalize(d.platform).os != "windows":
            continue
        child = children.get(d.digest)
        text = child.config.platform.os_version if isinstance(child, Image) else ""
        parsed = containerd.parse_os_version(text or d.platform.os_version)
        if parsed is not None:
            out[i] = parsed.build
    return out
