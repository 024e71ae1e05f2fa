"""The one verification entry: an image plan, a planned target, or a bare reference, in any
registry, without building.

`verify` is used by the gate, the image suite (tests/images) and `e2e-images verify`. It
fetches through the registry pool (the mirror map applies), takes what the plan knows (the
expected platforms in BASEIMAGE order, each target's base and labels, the expectations file)
and runs the `verify` checks. A bare reference has no plan: its base is found from the
image's base annotations, or as the Windows root of its release (through the mirror map),
else by layout (the Windows lint takes leading `UtilityVM/` layers for base layers). Nothing
here prints; what could not be read is reported as information in the Report.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from e2e_images.errors import E2EImagesError, ManifestUnknown
from e2e_images.oci.image import Image
from e2e_images.oci.models import Index
from e2e_images.plan import BuildTarget, ImagePlan
from e2e_images.platforms import WINDOWS_RELEASES, Platform
from e2e_images.registry.pool import ClientPool
from e2e_images.registry.reference import Reference
from e2e_images.verify import containerd
from e2e_images.verify.checks.manifest_list import Child
from e2e_images.verify.checks.metadata import MetadataCheck
from e2e_images.verify.checks.root_image import BaseImage
from e2e_images.verify.expectations import EXPECTATIONS_FILE, Expectations, load_expectations
from e2e_images.verify.result import CheckResult, Finding, Report
from e2e_images.verify.runner import run_checks, run_list_checks
from e2e_images.verify.view import ImageCheck

__all__ = ["BASE_DIGEST_ANNOTATION", "BASE_NAME_ANNOTATION", "Roots", "VerifyOptions",
           "base_image", "fetch_children", "verify", "verify_image"]

ROOT_REPOSITORY = "mcr.microsoft.com/windows/{flavor}:{tag}"
BASE_NAME_ANNOTATION = "org.opencontainers.image.base.name"
BASE_DIGEST_ANNOTATION = "org.opencontainers.image.base.digest"


@dataclass(frozen=True, slots=True)
class VerifyOptions:
    """How much to verify. `gating`: the containerd families whose problems are findings;
    `children`: verify each list child too; `labels`: require the plan's labels (a fresh
    build of this checkout carries them; published images carry their own commit's)."""

    fast: bool = False
    gating: frozenset[str] = field(
        default_factory=lambda: containerd.parse_families(containerd.DEFAULT_GATING))
    children: bool = True
    labels: bool = False


def base_image(pool: ClientPool, ref: str, platform: Platform) -> BaseImage:
    """A base (tag or list) for one platform, by layer digests; no layer is read."""
    image = pool.image(ref, platform=platform.base_platform)
    return BaseImage(ref, tuple(d.digest for d in image.manifest.layers),
                     image.config.platform.os_version)


class Roots:
    """The Windows roots of each release (nanoserver, which Windows images must start with,
    and servercore, which they must not), read once per verification. A registry that does
    not answer is tried once, not once per child and flavor (offline, each try costs the
    client's retries)."""

    def __init__(self, pool: ClientPool) -> None:
        self.pool = pool
        self._found: dict[str, tuple[BaseImage | None, list[BaseImage]]] = {}
        self.unreachable = ""  # why the roots' registry could not be read

    def of(self, os_version: str) -> tuple[BaseImage | None, list[BaseImage]]:
        """(nanoserver, [servercore]) of the release an os.version belongs to; None and []
        when the release is unknown or its roots cannot be read."""
        build = os_version.split(".")[2] if os_version.count(".") >= 2 else ""
        token = next((r.token for r in WINDOWS_RELEASES.values() if str(r.build) == build),
                     None)
        if token is None or self.unreachable:
            return None, []
        if token not in self._found:
            found: dict[str, BaseImage] = {}
            for flavor in ("nanoserver", "servercore"):
                ref = ROOT_REPOSITORY.format(flavor=flavor, tag=token)
                try:
                    found[flavor] = base_image(self.pool, ref,
                                               Platform("windows", "amd64", release=token))
                except ManifestUnknown:
                    continue
                except E2EImagesError as exc:
                    self.unreachable = f"{ref}: {exc}"
                    break
            forbidden = [found["servercore"]] if "servercore" in found else []
            self._found[token] = (found.get("nanoserver"), forbidden)
        return self._found[token]


def fetch_children(pool: ClientPool, ref: Reference, index: Index) -> dict[str, Child]:
    client = pool.client(ref.registry)
    out: dict[str, Child] = {}
    for d in index.platforms():
        try:
            m = client.get_manifest(ref.repository, d.digest)
        except ManifestUnknown:
            out[d.digest] = None
            continue
        out[d.digest] = m if isinstance(m, Index) else Image.load(
            m, client.repository(ref.repository))
    return out


def _load_expectations(image: ImagePlan | BuildTarget) -> Expectations | None:
    directory = image.spec.path if isinstance(image, ImagePlan) else image.dockerfile.parent
    path = directory / EXPECTATIONS_FILE
    return load_expectations(path) if path.is_file() else None


def _target_for(targets: Sequence[BuildTarget], image: Image) -> BuildTarget | None:
    """The target an image stands for, by its config's platform."""
    p = image.config.platform
    for t in targets:
        tp = t.platform
        if (tp.os, tp.arch, tp.oci_variant) != (p.os, p.architecture, p.variant):
            continue
        if tp.os_version is None or p.os_version.startswith(tp.os_version + "."):
            return t
    return None


def _targets(plan: ImagePlan | None) -> tuple[BuildTarget, ...]:
    return plan.targets if plan is not None else ()


def _found_base(pool: ClientPool, roots: Roots, image: Image
                ) -> tuple[BaseImage | None, list[str]]:
    """A bare reference's base: from its base annotations, else the Windows root of its
    release when the image starts with it. Returns the base and what could not be read."""
    notes: list[str] = []
    annotations = image.manifest.annotations
    name = annotations.get(BASE_NAME_ANNOTATION, "")
    digest = annotations.get(BASE_DIGEST_ANNOTATION, "")
    layers = tuple(d.digest for d in image.manifest.layers)
    if name or digest:
        ref = f"{name.split('@')[0]}@{digest}" if name and digest else name
        if ref:
            try:
                found = pool.image(ref, platform=image.platform)
                base = BaseImage(ref, tuple(d.digest for d in found.manifest.layers),
                                 found.config.platform.os_version)
                if base.is_prefix_of(layers):
                    return base, notes
                notes.append(f"base {ref} (annotation) is not the start of this image")
            except E2EImagesError as exc:
                notes.append(f"base {ref} (annotation) not read: {exc}")
    if image.platform.os == "windows":
        nano, forbidden = roots.of(image.config.platform.os_version)
        for root in [r for r in (nano, *forbidden) if r is not None]:
            if root.is_prefix_of(layers):
                return root, notes
        if roots.unreachable:
            notes.append(f"Windows root not read ({roots.unreachable}); base layers told "
                         "apart by layout")
    return None, notes


def verify_image(pool: ClientPool, image: Image, *, subject: str,
                 target: BuildTarget | None, expectations: Expectations | None,
                 options: VerifyOptions, roots: Roots | None = None) -> Report:
    """One image; `target` is the plan's target it stands for (None: a bare reference)."""
    roots = roots or Roots(pool)
    base: BaseImage | None = None
    notes: list[str] = []
    if target is not None and target.base_image:
        try:
            base = base_image(pool, target.base_image, target.platform)
        except E2EImagesError as exc:
            notes.append(f"base {target.base_image} not read: {exc}")
    elif target is None:
        base, notes = _found_base(pool, roots, image)
    root, forbidden = None, []
    section = expectations.for_os(image.platform.os) if expectations is not None else None
    if section is not None and section.root_image:
        root, forbidden = roots.of(image.config.platform.os_version)
    extra: list[ImageCheck] = []
    if options.labels and target is not None:
        extra.append(MetadataCheck(labels=dict(target.labels)))
    report = run_checks(image, expectations=expectations, base=base, root=root,
                        forbidden_roots=forbidden, fast=options.fast, extra=extra)
    results = report.results
    if notes:
        results += (CheckResult("base", image.digest, info=tuple(notes)),)
    return Report(f"{subject} ({image.platform})", results)


def _verify_ref(pool: ClientPool, text: str, *, plan: ImagePlan | None,
                target: BuildTarget | None, expected: Sequence[Platform],
                expectations: Expectations | None, options: VerifyOptions,
                roots: Roots) -> Report:
    ref = pool.resolve(text)
    client = pool.client(ref.registry)
    manifest = client.get_manifest(ref.repository, ref.ref)
    if not isinstance(manifest, Index):
        image = Image.load(manifest, client.repository(ref.repository))
        return verify_image(pool, image, subject=text,
                            target=target or _target_for(_targets(plan), image),
                            expectations=expectations, options=options, roots=roots)
    children = fetch_children(pool, ref, manifest)
    if target is not None:  # a per-platform tag must be one manifest, not an index
        report = Report(f"{text} (index)", (CheckResult("per_platform_tag", manifest.digest, (
            Finding("TAG-INDEX", target.platform.key, text,
                    f"per-platform tag is an index of {len(manifest.manifests)} entries, not "
                    "a single manifest (BuildKit attestations? build with --provenance=false "
                    "--sbom=false)"),)),))
    else:
        bases: dict[str, str] = {}
        for t in plan.targets if plan is not None else ():
            if t.platform.is_windows and t.base_image and t.platform in expected:
                try:
                    bases[t.platform.key] = base_image(pool, t.base_image,
                                                       t.platform).os_version
                except E2EImagesError:
                    continue
        report = run_list_checks(manifest, children, expected, base_os_versions=bases,
                                 gating=options.gating)
        report = Report(f"{text} (list)", report.results)
    if not options.children and target is None:
        return report
    for digest, child in children.items():
        if isinstance(child, Image):
            report = report.merged(verify_image(
                pool, child, subject=f"{text}@{digest}",
                target=_target_for(_targets(plan) if target is None else (target,), child),
                expectations=expectations, options=options, roots=roots),
                subject=report.subject)
    return report


def verify(pool: ClientPool, subject: ImagePlan | BuildTarget | str, *, ref: str | None = None,
           expected: Sequence[Platform] = (), expectations: Expectations | None = None,
           options: VerifyOptions | None = None) -> Report:
    """Verify a catalog image (its list, or each per-platform tag when it has none), one
    planned target, or a bare reference.

    `ref` verifies another reference with the plan's knowledge (a digest, a candidate tag);
    `expected` overrides the plan's platforms (a bare reference has none unless given).
    Expectations come from the plan's directory unless given.
    """
    options = options or VerifyOptions()
    roots = Roots(pool)
    if isinstance(subject, str):
        return _verify_ref(pool, subject, plan=None, target=None, expected=expected,
                           expectations=expectations, options=options, roots=roots)
    if expectations is None:
        expectations = _load_expectations(subject)
    if isinstance(subject, BuildTarget):
        return _verify_ref(pool, ref or subject.tag, plan=None, target=subject, expected=(),
                           expectations=expectations, options=options, roots=roots)
    plan = subject
    platforms = list(expected) or [t.platform for t in plan.targets]
    if ref is not None:
        target = next((t for t in plan.targets if t.tag.rsplit(":", 1)[-1]
                       == ref.rsplit(":", 1)[-1] and "@" not in ref), None)
        return _verify_ref(pool, ref, plan=plan, target=target, expected=platforms,
                           expectations=expectations, options=options, roots=roots)
    if plan.has_list:
        return _verify_ref(pool, plan.list_tag, plan=plan, target=None, expected=platforms,
                           expectations=expectations, options=options, roots=roots)
    reports = [_verify_ref(pool, t.tag, plan=plan, target=t, expected=(),
                           expectations=expectations, options=options, roots=roots)
               for t in plan.targets]
    return Report(plan.list_tag, tuple(r for rep in reports for r in rep.results))
