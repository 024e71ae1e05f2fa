"""Which index entry each containerd release pulls on a node: its platform matchers, ported as
behaviour, and the list verdict built on them (docs/windows-layers.md, "Manifest lists").

Nodes run several containerd releases and they disagree. Three behaviours, four families:

- `1.6` and `1.7.0-1.7.19` (rule "exact"): the entry's os must be exactly `windows` and its
  os.version must start with the host's `10.0.<build>` (no trailing dot, so `10.0.203480.1`
  passes on 20348); an entry without os.version never matches; the higher revision wins.
- `1.7.20-2.1`, and the transfer-service pull path of later releases (rule "first"): an entry
  without os.version matches every host; otherwise major and minor must equal the host's, a
  host below 20348 needs the exact build, a host at or above 20348 takes builds from 20348 up
  to its own; a build that is not a 16-bit number never matches. The first compatible entry
  in index order wins.
- `2.2+` (rule "sorted"): compatible as "first"; the highest os.version text wins, ties in
  index order.

Linux hosts (every family): os, arch and variant after normalisation (`arm` is `arm/v7`,
`arm64/v8` is `arm64`, `aarch64` is `arm64`), and an arm host falls back to older arm
variants (arm64 to arm/v8..v5) when its own is absent. The model is process isolation;
attestation entries are never pulled. Hosts are named as Kubernetes labels them.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass

from e2e_images.errors import E2EImagesError
from e2e_images.oci.models import Descriptor, ImagePlatform
from e2e_images.platforms import WINDOWS_RELEASES
from e2e_images.verify.result import ERROR, WARNING, Finding, Severity

__all__ = ["DEFAULT_GATING", "FAMILIES", "LINUX_HOSTS", "WINDOWS_HOSTS", "Family", "Host",
           "Pull", "WindowsVersion", "can_run", "host_compatible", "judge", "matches",
           "normalize", "parse_families", "parse_os_version", "select", "windows_host"]

LTSC2022 = 20348
WINDOWS_BUILD_LABEL = "node.kubernetes.io/windows-build"
_ARCH_ALIASES = {"x86_64": "amd64", "x86-64": "amd64", "aarch64": "arm64", "armhf": "arm",
                 "armel": "arm", "i386": "386"}
# (arch, variant as written) -> containerd's normal form
_VARIANT_ALIASES = {("arm", ""): "v7", ("arm", "7"): "v7", ("arm", "armv7"): "v7",
                    ("arm", "6"): "v6", ("arm", "5"): "v5", ("arm", "8"): "v8",
                    ("arm64", "v8"): "", ("arm64", "8"): "", ("amd64", "v1"): ""}
_DIGITS = re.compile(r"^\d+$")


@dataclass(frozen=True, slots=True)
class Family:
    """A range of containerd releases that pick entries the same way."""

    name: str  # `1.7.20-2.1`
    since: tuple[int, int, int]  # first release of the range
    rule: str  # exact | first | sorted


FAMILIES = (Family("1.6", (1, 6, 0), "exact"),
            Family("1.7.0-1.7.19", (1, 7, 0), "exact"),
            Family("1.7.20-2.1", (1, 7, 20), "first"),
            Family("2.2+", (2, 2, 0), "sorted"))
LATEST = FAMILIES[-1]
DEFAULT_GATING = "1.7.20+"


class FamilyError(E2EImagesError):
    exit_code = 2


def parse_families(text: str) -> frozenset[str]:
    """`1.7.20+` (that release and later), `all`, or family names, comma-separated."""
    out: set[str] = set()
    for item in (p.strip() for p in text.split(",")):
        if not item:
            continue
        if item == "all":
            out |= {f.name for f in FAMILIES}
        elif item.endswith("+") and item != LATEST.name:
            try:
                since = tuple(int(p) for p in item[:-1].split("."))
            except ValueError:
                raise FamilyError(f"containerd families: {item!r} is not a release",
                                  hint="e.g. 1.7.20+") from None
            out |= {f.name for f in FAMILIES if f.since >= (*since, 0, 0)[:3]}
        elif item in {f.name for f in FAMILIES}:
            out.add(item)
        else:
            raise FamilyError(f"containerd families: unknown {item!r}",
                              hint=f"one of {', '.join(f.name for f in FAMILIES)}, all, "
                                   "or <release>+")
    if not out:
        raise FamilyError(f"containerd families: {text!r} names no family")
    return frozenset(out)


@dataclass(frozen=True, slots=True, order=True)
class WindowsVersion:
    major: int
    minor: int
    build: int


def parse_os_version(text: str) -> WindowsVersion | None:
    """`10.0.20348[.2966]` as containerd 1.7.20+ reads it: major and minor 8-bit, build
    16-bit; None for anything with fewer than three parts or out of range."""
    parts = text.split(".")
    if len(parts) < 3 or not all(_DIGITS.match(p) for p in parts[:3]):
        return None
    major, minor, build = (int(p) for p in parts[:3])
    if major > 0xFF or minor > 0xFF or build > 0xFFFF:
        return None
    return WindowsVersion(major, minor, build)


def host_compatible(host: WindowsVersion, ctr: WindowsVersion | None) -> bool:
    """Process isolation: can a host of this version run a container of that one?"""
    if ctr is None or (host.major, host.minor) != (ctr.major, ctr.minor):
        return False
    if host.build < LTSC2022:
        return host.build == ctr.build
    return LTSC2022 <= ctr.build <= host.build


def can_run(host_build: int, ctr_build: int) -> bool:
    return host_compatible(WindowsVersion(10, 0, host_build), WindowsVersion(10, 0, ctr_build))


def normalize(platform: ImagePlatform) -> ImagePlatform:
    arch = _ARCH_ALIASES.get(platform.architecture.lower(), platform.architecture.lower())
    variant = _VARIANT_ALIASES.get((arch, platform.variant.lower()), platform.variant.lower())
    return ImagePlatform(platform.os.lower(), arch, variant, platform.os_version,
                         platform.os_features)


@dataclass(frozen=True, slots=True)
class Host:
    """A node: a Windows build (as its Kubernetes label names it) or a Linux arch."""

    platform: ImagePlatform
    client: bool = False  # Windows 11 22621: nothing is built for it

    @property
    def build(self) -> int:
        parsed = parse_os_version(self.platform.os_version)
        return parsed.build if parsed is not None else 0

    @property
    def label(self) -> str:
        p = self.platform
        if p.os == "windows":
            return f"{WINDOWS_BUILD_LABEL}={p.os_version}"
        return "linux/" + "/".join(x for x in (p.architecture, p.variant) if x)


def windows_host(build: int, arch: str = "amd64") -> ImagePlatform:
    """A Windows node of this build, as containerd describes itself."""
    return ImagePlatform("windows", arch, os_version=f"10.0.{build}")


WINDOWS_HOSTS = (Host(windows_host(17763)), Host(windows_host(20348)),
                 Host(windows_host(22621), client=True), Host(windows_host(26100)))
LINUX_HOSTS = tuple(Host(ImagePlatform("linux", a, v)) for a, v in (
    ("amd64", ""), ("arm", "v7"), ("arm64", ""), ("ppc64le", ""), ("s390x", "")))


def _revision(os_version: str) -> int:
    parts = os_version.split(".")
    return int(parts[3]) if len(parts) >= 4 and _DIGITS.match(parts[3]) else 0


def _linux_vector(host: ImagePlatform) -> list[tuple[str, str]]:
    """The (arch, variant) a Linux host runs, best first (arm64 also runs arm/v8..v5)."""
    arch, variant = host.architecture, host.variant
    if arch == "arm64":
        return [("arm64", "")] + [("arm", f"v{n}") for n in range(8, 4, -1)]
    if arch == "arm" and variant.startswith("v") and variant[1:].isdigit():
        return [("arm", f"v{n}") for n in range(int(variant[1:]), 4, -1)]
    return [(arch, variant)]


def _windows_match(family: Family, host: ImagePlatform, entry: ImagePlatform) -> bool:
    h, e = normalize(host), normalize(entry)
    if (h.architecture, h.variant) != (e.architecture, e.variant):
        return False
    if family.rule == "exact":
        prefix = ".".join(host.os_version.split(".")[:3])
        return entry.os == "windows" and entry.os_version.startswith(prefix)
    if e.os != "windows":
        return False
    if not entry.os_version:
        return True
    host_version = parse_os_version(host.os_version)
    return host_version is not None and host_compatible(host_version,
                                                        parse_os_version(entry.os_version))


def matches(host: ImagePlatform, entry: ImagePlatform, family: Family = LATEST) -> bool:
    if normalize(host).os == "windows":
        return _windows_match(family, host, entry)
    e = normalize(entry)
    return e.os == normalize(host).os and (e.architecture, e.variant) in _linux_vector(
        normalize(host))


def select(entries: Iterable[Descriptor], host: ImagePlatform, family: Family = LATEST
           ) -> Descriptor | None:
    """The entry this containerd family pulls on `host`, or None ("no match for platform")."""
    candidates: Sequence[Descriptor] = [
        d for d in entries
        if d.platform is not None and not d.is_attestation and matches(host, d.platform, family)]
    if not candidates:
        return None
    if normalize(host).os != "windows":
        vector = _linux_vector(normalize(host))
        return min(candidates, key=lambda d: vector.index(
            (normalize(d.platform).architecture, normalize(d.platform).variant)))  # type: ignore[arg-type]
    # sorted() and min() keep index order among equal keys.
    if family.rule == "exact":
        return sorted(candidates, key=lambda d: _revision(_os_version(d)), reverse=True)[0]
    if family.rule == "sorted":
        return sorted(candidates, key=_os_version, reverse=True)[0]
    return candidates[0]


def _os_version(d: Descriptor) -> str:
    return d.platform.os_version if d.platform is not None else ""


# -- the verdict on a list ---------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Pull:
    """What one family pulls on one host: the entry's position in the index, or None."""

    family: str
    host: str  # Host.label
    arch: str
    index: int | None
    entry: str  # `windows/amd64:10.0.20348.2966`, or "nothing"

    def line(self) -> str:
        where = "nothing" if self.index is None else f"manifests[{self.index}] {self.entry}"
        return f"containerd {self.family} on {self.host} ({self.arch}) pulls {where}"


def _token(build: int) -> str:
    return next((r.token for r in WINDOWS_RELEASES.values() if r.build == build),
                f"10.0.{build}")


def _position(entries: Sequence[Descriptor], chosen: Descriptor | None) -> int | None:
    return next((i for i, d in enumerate(entries) if d is chosen), None)


def _fixing_order(entries: Sequence[Descriptor], builds: Mapping[int, int], family: Family,
                  hosts: Sequence[Host], arch: str) -> str:
    """The BASEIMAGE order (newest Windows release first) that makes every host of `arch`
    pull the entry built for it under `family`, or that no order does."""
    newest_first = sorted(builds, key=lambda i: builds[i], reverse=True)
    # slot -> the entry that goes there
    moved = dict(zip(sorted(builds), newest_first, strict=True))
    reordered = [entries[moved.get(i, i)] for i in range(len(entries))]
    new_builds = {slot: builds[old] for slot, old in moved.items()}
    for host in hosts:
        want = _wanted(new_builds, host.build)
        got = _position(reordered, select(reordered, host.platform, family))
        if want is not None and got != want:
            return f"no BASEIMAGE order fixes it for containerd {family.name}"
    names = ", ".join(f"windows/{arch}/{_token(builds[i])}" for i in newest_first)
    return f"the BASEIMAGE order {names} (newest release first) fixes it"


def _wanted(builds: Mapping[int, int], host_build: int) -> int | None:
    """The entry built for this host's release: the newest build it can run."""
    runnable = [i for i, b in builds.items() if can_run(host_build, b)]
    return max(runnable, key=lambda i: (builds[i], -i)) if runnable else None


def judge(entries: Sequence[Descriptor], true_builds: Mapping[int, int], *,
          gating: Collection[str], hosts: Sequence[Host] = WINDOWS_HOSTS + LINUX_HOSTS,
          families: Sequence[Family] = FAMILIES) -> tuple[list[Finding], list[Pull]]:
    """Every family on every host: the findings of the gating families and every pull.

    `true_builds`: index position -> the build the child really is (its config's os.version,
    else the entry's), for the Windows entries. Non-gating families yield pulls only; the
    caller reports them as information.
    """
    findings: list[Finding] = []
    pulls: list[Pull] = []
    win_arches = sorted({normalize(d.platform).architecture for i, d in enumerate(entries)
                         if i in true_builds and d.platform is not None})
    lin = {(normalize(d.platform).architecture, normalize(d.platform).variant)
           for d in entries if d.platform is not None and not d.is_attestation
           and normalize(d.platform).os == "linux"}
    for family in families:
        severe = family.name in gating
        for arch in win_arches:
            builds = {i: b for i, b in true_builds.items()
                      if normalize(entries[i].platform).architecture == arch}  # type: ignore[arg-type]
            arch_hosts = [Host(windows_host(h.build, arch), h.client)
                          for h in hosts if h.platform.os == "windows"]
            for host in arch_hosts:
                chosen = select(entries, host.platform, family)
                idx = _position(entries, chosen)
                pulls.append(Pull(family.name, host.label, arch, idx,
                                  str(chosen.platform) if chosen is not None else "nothing"))
                if not severe:
                    continue
                want = _wanted(builds, host.build)
                problem = _windows_problem(builds, idx, want, host)
                if problem is None:
                    continue
                message, severity = problem
                if severity == WARNING:
                    message += "; " + _fixing_order(entries, builds, family, arch_hosts, arch)
                subject = f"containerd {family.name} {host.label}"
                where = str(entries[idx].platform) if idx is not None else f"windows/{arch}"
                findings.append(Finding("LIST-CONTAINERD", where, subject, message, severity))
    for host in hosts:
        p = normalize(host.platform)
        if p.os != "linux" or (p.architecture, p.variant) not in lin:
            continue
        chosen = select(entries, host.platform, LATEST)
        idx = _position(entries, chosen)
        pulls.append(Pull("any", host.label, p.architecture, idx,
                          str(chosen.platform) if chosen is not None else "nothing"))
        got = normalize(chosen.platform) if chosen is not None and chosen.platform else None
        if got is None or (got.architecture, got.variant) != (p.architecture, p.variant):
            findings.append(Finding("LIST-CONTAINERD", host.label, f"containerd {host.label}",
                                    f"a {host.label} node pulls "
                                    f"{'nothing' if got is None else got}, not its own entry"))
    return findings, pulls


def _windows_problem(builds: Mapping[int, int], idx: int | None, want: int | None, host: Host
                     ) -> tuple[str, Severity] | None:
    if idx is None:
        if want is None:
            return None
        return (f"pulls nothing, though manifests[{want}] (10.0.{builds[want]}) runs there",
                ERROR)
    build = builds.get(idx)
    if build is None:
        return None  # not a Windows entry of this arch (cannot happen) or unknown: LIST-*
    if not can_run(host.build, build):
        return (f"pulls manifests[{idx}] built for 10.0.{build}, which a 10.0.{host.build} "
                "node cannot run (process isolation)", ERROR)
    if want is not None and builds[want] != build:
        return (f"pulls manifests[{idx}] built for 10.0.{build}, not manifests[{want}] built "
                f"for 10.0.{builds[want]}", WARNING)
    return None
